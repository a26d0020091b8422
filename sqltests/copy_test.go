package sqltests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestCopy loads rows with COPY FROM STDIN (pgx's binary CopyFrom, psql's
// \copy in text and CSV), reads them back with COPY TO STDOUT, and checks
// that a failing COPY leaves nothing behind.
func TestCopy(t *testing.T) {
	d := startDemo(t, "--in-memory", "--shards", "3")
	conn := connectExtended(t, d.sqlAddr)
	ctx := ctxT(t)
	mustExecX := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mustExecX("CREATE TABLE cp (id INT PRIMARY KEY, name TEXT, amount NUMERIC, ok BOOLEAN, at TIMESTAMP, note TEXT DEFAULT 'dflt')")
	mustExecX("ALTER TABLE cp SPLIT AT VALUES (3000), (6000)")

	// Binary COPY through pgx: 9,000 rows in one statement.
	const n = 9000
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range rows {
		var name any = fmt.Sprintf("name %d", i)
		if i%100 == 0 {
			name = nil
		}
		rows[i] = []any{int32(i), name, fmt.Sprintf("%d.%02d", i, i%100), i%2 == 0, base.Add(time.Duration(i) * time.Minute)}
	}
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{"cp"}, []string{"id", "name", "amount", "ok", "at"}, pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
	if copied != n {
		t.Fatalf("copied %d rows, want %d", copied, n)
	}
	var cnt, nulls int64
	var sum string
	if err := conn.QueryRow(ctx, "SELECT count(*), count(*) - count(name), sum(amount)::text FROM cp WHERE note = 'dflt'").Scan(&cnt, &nulls, &sum); err != nil {
		t.Fatal(err)
	}
	wantSum := 0
	for i := 0; i < n; i++ {
		wantSum += i*100 + i%100
	}
	if cnt != n || nulls != n/100 || sum != fmt.Sprintf("%d.%02d", wantSum/100, wantSum%100) {
		t.Errorf("after COPY: %d rows, %d NULL names, sum %s; want %d, %d, %d.%02d", cnt, nulls, sum, n, n/100, wantSum/100, wantSum%100)
	}
	var at time.Time
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT at, ok FROM cp WHERE id = 4321").Scan(&at, &ok); err != nil || !at.Equal(base.Add(4321*time.Minute)) || ok {
		t.Errorf("row 4321: %v %v %v", at, ok, err)
	}

	// COPY TO STDOUT, text and CSV.
	var out bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &out, "COPY (SELECT id, name, amount FROM cp WHERE id IN (0, 7, 8) ORDER BY id) TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if want := "0\t\\N\t0.00\n7\tname 7\t7.07\n8\tname 8\t8.08\n"; out.String() != want {
		t.Errorf("COPY TO text:\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	mustExecX(`INSERT INTO cp (id, name) VALUES (100000, 'a, "b"')`)
	if _, err := conn.PgConn().CopyTo(ctx, &out, "COPY (SELECT id, name, note FROM cp WHERE id >= 100000) TO STDOUT WITH (FORMAT csv, HEADER)"); err != nil {
		t.Fatal(err)
	}
	if want := "id,name,note\n100000,\"a, \"\"b\"\"\",dflt\n"; out.String() != want {
		t.Errorf("COPY TO csv:\n got %q\nwant %q", out.String(), want)
	}

	// A bad row fails the whole COPY (nothing of it is kept) with 22P02;
	// the connection carries on.
	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("200001\tx\t1\n200002\ty\tnot a number\n"), "COPY cp (id, name, amount) FROM STDIN")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22P02" || !strings.Contains(pe.Detail, "line 2") {
		t.Fatalf("bad COPY data: %v", err)
	}
	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("200003\tx\n"), "COPY cp (id, name, amount) FROM STDIN")
	if !errors.As(err, &pe) || pe.Code != "22P04" {
		t.Fatalf("short COPY line: %v", err)
	}
	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("7\tdup\n"), "COPY cp (id, name) FROM STDIN")
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("duplicate key in COPY: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM cp WHERE id > 200000").Scan(&cnt); err != nil || cnt != 0 {
		t.Fatalf("failed COPYs left %d rows (%v)", cnt, err)
	}

	// A CSV export with a quoted newline loads back as it was.
	mustExecX("CREATE TABLE csv_rt (k INT PRIMARY KEY, s TEXT)")
	mustExecX("INSERT INTO csv_rt VALUES (1, e'two\\nlines'), (2, 'say \"hi\", ok'), (3, NULL), (4, '')")
	var csv bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &csv, "COPY csv_rt TO STDOUT WITH (FORMAT csv)"); err != nil {
		t.Fatal(err)
	}
	mustExecX("CREATE TABLE csv_rt2 (k INT PRIMARY KEY, s TEXT)")
	if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(csv.Bytes()), "COPY csv_rt2 FROM STDIN WITH (FORMAT csv)"); err != nil {
		t.Fatalf("loading %q back: %v", csv.String(), err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM csv_rt a JOIN csv_rt2 b ON a.k = b.k AND a.s IS NOT DISTINCT FROM b.s").Scan(&cnt); err != nil || cnt != 4 {
		t.Fatalf("CSV round trip kept %d of 4 rows (%v); the export was %q", cnt, err, csv.String())
	}

	// Inside a transaction block, COPY joins the transaction.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, strings.NewReader("300001\tin tx\n300002\tin tx\n"), "COPY cp (id, name) FROM STDIN"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM cp WHERE name = 'in tx'").Scan(&cnt); err != nil || cnt != 2 {
		t.Fatalf("in the transaction: %d %v", cnt, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM cp WHERE name = 'in tx'").Scan(&cnt); err != nil || cnt != 0 {
		t.Fatalf("after rollback: %d %v", cnt, err)
	}

	// A COPY larger than a gRPC message (4 MiB by default) into one
	// range: the commit's prewrite goes out in several batches.
	mustExecX("CREATE TABLE big_copy (k INT PRIMARY KEY, pad TEXT)")
	var bigData strings.Builder
	pad := strings.Repeat("p", 200)
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&bigData, "%d\t%s\n", i, pad)
	}
	if tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(bigData.String()), "COPY big_copy FROM STDIN"); err != nil || tag.RowsAffected() != 30000 {
		t.Fatalf("a 6 MB COPY: %v %v", tag, err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM big_copy WHERE length(pad) = 200").Scan(&cnt); err != nil || cnt != 30000 {
		t.Fatalf("after the big COPY: %d %v", cnt, err)
	}
	// VACUUM and ANALYZE are accepted (there is nothing for them to do).
	mustExecX("VACUUM ANALYZE big_copy")
	if _, err := conn.Exec(ctx, "VACUUM no_such_table"); !errors.As(err, &pe) || pe.Code != "42P01" {
		t.Fatalf("VACUUM of a missing table: %v", err)
	}

	// psql's \copy, text and CSV.
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql is not installed (.ci/run installs postgresql-client-15)")
	}
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(csvFile, []byte("id,name,amount\n400001,\"quoted, comma\",1.5\n400002,,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(d.sqlAddr)
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, psql, "-h", host, "-p", port, "-U", "root", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
		"-c", `\copy cp (id, name, amount) FROM '`+csvFile+`' WITH (FORMAT csv, HEADER)`,
		"-c", "SELECT id, coalesce(name, '<null>'), amount FROM cp WHERE id > 400000 ORDER BY id")
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, got)
	}
	for _, want := range []string{"COPY 2", "400001 | quoted, comma |    1.5", "400002 | <null>        |      2"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("psql output lacks %q:\n%s", want, got)
		}
	}
}
