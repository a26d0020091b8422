package sqltests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustExec(t testing.TB, conn *pgx.Conn, sql string) pgconn.CommandTag {
	t.Helper()
	tag, err := conn.Exec(ctxT(t), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag
}

// queryRows returns every row as strings ("NULL" for NULL).
func queryRows(t testing.TB, conn *pgx.Conn, sql string) [][]string {
	t.Helper()
	return queryRowsCtx(t, ctxT(t), conn, sql)
}

// queryRowsCtx is queryRows under ctx.
func queryRowsCtx(t testing.TB, ctx context.Context, conn *pgx.Conn, sql string) [][]string {
	t.Helper()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		// The simple protocol returns text: compare the server's own text.
		vals := rows.RawValues()
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func flat(rows [][]string) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, strings.Join(r, ","))
	}
	return strings.Join(parts, ";")
}

func expectRows(t testing.TB, conn *pgx.Conn, sql, want string) {
	t.Helper()
	if got := flat(queryRows(t, conn, sql)); got != want {
		t.Errorf("%s:\n got %q\nwant %q", sql, got, want)
	}
}

// expectCode runs sql and checks it fails with the SQLSTATE code.
func expectCode(t testing.TB, conn *pgx.Conn, sql, code string) *pgconn.PgError {
	t.Helper()
	_, err := conn.Exec(ctxT(t), sql)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: want SQLSTATE %s, got %v", sql, code, err)
	}
	if pe.Code != code {
		t.Fatalf("%s: want SQLSTATE %s, got %s (%s)", sql, code, pe.Code, pe.Message)
	}
	return pe
}

// runSession runs the walking skeleton's psql session and checks every answer.
func runSession(t *testing.T, conn *pgx.Conn, table string) {
	mustExec(t, conn, fmt.Sprintf("CREATE TABLE %s (k BIGINT PRIMARY KEY, v TEXT)", table))
	mustExec(t, conn, fmt.Sprintf("ALTER TABLE %s SPLIT AT VALUES (1000), (2000)", table))
	ranges := queryRows(t, conn, "SHOW RANGES FROM TABLE "+table)
	if len(ranges) != 3 {
		t.Fatalf("want 3 ranges after the split, got %v", ranges)
	}
	wantBounds := [][2]string{{"-inf", "1000"}, {"1000", "2000"}, {"2000", "+inf"}}
	shards := map[string]bool{}
	for i, r := range ranges {
		if r[1] != wantBounds[i][0] || r[2] != wantBounds[i][1] {
			t.Errorf("range %d spans [%s, %s), want [%s, %s)", i, r[1], r[2], wantBounds[i][0], wantBounds[i][1])
		}
		shards[r[3]] = true
	}
	if len(shards) != 3 {
		t.Errorf("the three ranges should be spread over three shard servers, got %v", ranges)
	}
	if tag := mustExec(t, conn, fmt.Sprintf("INSERT INTO %s VALUES (1, 'a'), (1500, 'b'), (2500, 'c')", table)); tag.String() != "INSERT 0 3" {
		t.Errorf("insert tag %q", tag)
	}
	expectRows(t, conn, fmt.Sprintf("SELECT * FROM %s WHERE k = 1500", table), "1500,b")
	expectRows(t, conn, fmt.Sprintf("SELECT count(*) FROM %s", table), "3")
	if tag := mustExec(t, conn, fmt.Sprintf("UPDATE %s SET v = 'z' WHERE k = 2500", table)); tag.String() != "UPDATE 1" {
		t.Errorf("update tag %q", tag)
	}
	if tag := mustExec(t, conn, fmt.Sprintf("DELETE FROM %s WHERE k = 1", table)); tag.String() != "DELETE 1" {
		t.Errorf("delete tag %q", tag)
	}
	expectRows(t, conn, fmt.Sprintf("SELECT k, v FROM %s ORDER BY k", table), "1500,b;2500,z")
	expectRows(t, conn, fmt.Sprintf("SELECT count(*) FROM %s", table), "2")
}

func TestDemoSession(t *testing.T) {
	d := startDemo(t, "--in-memory")
	conn := connect(t, d.sqlAddr)
	runSession(t, conn, "kv")

	t.Run("queries", func(t *testing.T) {
		mustExec(t, conn, "CREATE TABLE t2 (a INT NOT NULL, b VARCHAR(5), c DOUBLE PRECISION, d BOOLEAN, e NUMERIC, f DATE, g TIMESTAMP, h SMALLINT, PRIMARY KEY (a, b))")
		mustExec(t, conn, "INSERT INTO t2 VALUES (1, 'x', 1.5, true, 2.25, '2024-01-02', '2024-01-02 03:04:05', 7), (1, 'y', NULL, false, NULL, NULL, NULL, NULL), (2, 'x', -3, NULL, 10, '1999-12-31', NULL, -1)")
		expectRows(t, conn, "SELECT a, b, c FROM t2 WHERE a = 1 ORDER BY b DESC", "1,y,NULL;1,x,1.5")
		expectRows(t, conn, "SELECT a, b FROM t2 WHERE a >= 2", "2,x")
		expectRows(t, conn, "SELECT a, b FROM t2 WHERE c IS NULL", "1,y")
		expectRows(t, conn, "SELECT b, e FROM t2 WHERE a = 2 AND b = 'x'", "x,10")
		expectRows(t, conn, "SELECT a + h, a * 2 FROM t2 WHERE h IS NOT NULL ORDER BY 1", "1,4;8,2")
		expectRows(t, conn, "SELECT a FROM t2 ORDER BY a DESC, b LIMIT 2", "2;1")
		expectRows(t, conn, "SELECT a, b FROM t2 ORDER BY a, b LIMIT 2 OFFSET 1", "1,y;2,x")
		expectRows(t, conn, "SELECT count(*) FROM t2 WHERE d", "1")
		expectRows(t, conn, "SELECT count(*) FROM t2 WHERE a BETWEEN 1 AND 1 OR b IN ('q')", "2")
		var f, g string
		if err := conn.QueryRow(ctxT(t), "SELECT f::text, g::text FROM t2 WHERE a = 1 AND b = 'x'").Scan(&f, &g); err != nil {
			t.Fatal(err)
		}
		if f != "2024-01-02" || g != "2024-01-02 03:04:05" {
			t.Errorf("date/timestamp text: %q %q", f, g)
		}
		mustExec(t, conn, "UPDATE t2 SET a = a + 10 WHERE b = 'y'")
		expectRows(t, conn, "SELECT a, b FROM t2 ORDER BY a, b", "1,x;2,x;11,y")
		mustExec(t, conn, "CREATE TABLE nopk (x INT, y TEXT)")
		mustExec(t, conn, "INSERT INTO nopk VALUES (1, 'a'), (1, 'a'), (NULL, 'b')")
		expectRows(t, conn, "SELECT * FROM nopk ORDER BY y, x", "1,a;1,a;NULL,b")
		mustExec(t, conn, "DROP TABLE nopk")
		mustExec(t, conn, "CREATE TABLE dflt (k INT PRIMARY KEY, v TEXT DEFAULT 'none', n INT DEFAULT 3 + 4)")
		mustExec(t, conn, "INSERT INTO dflt (k) VALUES (1)")
		mustExec(t, conn, "INSERT INTO dflt VALUES (2, DEFAULT, 1)")
		expectRows(t, conn, "SELECT k, v, n FROM dflt ORDER BY k", "1,none,7;2,none,1")
		expectCode(t, conn, "SELECT * FROM nopk", "42P01")
	})

	t.Run("errors", func(t *testing.T) {
		pe := expectCode(t, conn, "SELEC 1", "42601")
		if pe.Position != 1 {
			t.Errorf("syntax error position %d, want 1", pe.Position)
		}
		expectCode(t, conn, "SELECT * FROM nope", "42P01")
		expectCode(t, conn, "SELECT nope FROM kv", "42703")
		pe = expectCode(t, conn, "INSERT INTO kv VALUES (1500, 'dup')", "23505")
		if pe.ConstraintName != "" && pe.ConstraintName != "kv_pkey" {
			t.Errorf("constraint %q", pe.ConstraintName)
		}
		if !strings.Contains(pe.Message, "kv_pkey") || pe.Detail != "Key (k)=(1500) already exists." {
			t.Errorf("unique violation message %q detail %q", pe.Message, pe.Detail)
		}
		expectCode(t, conn, "INSERT INTO kv VALUES (7, 'x'), (7, 'y')", "23505")
		expectCode(t, conn, "INSERT INTO kv VALUES (NULL, 'x')", "23502")
		expectCode(t, conn, "INSERT INTO kv VALUES ('abc', 'x')", "22P02")
		expectCode(t, conn, "SELECT * FROM kv WHERE k = 'abc'", "22P02")
		expectCode(t, conn, "INSERT INTO t2 (a, b) VALUES (1, 'toolong')", "22001")
		expectCode(t, conn, "INSERT INTO t2 (a, b, h) VALUES (5, 'q', 40000)", "22003")
		expectCode(t, conn, "SELECT 1 / 0", "22012")
		expectCode(t, conn, "CREATE TABLE kv (k INT PRIMARY KEY)", "42P07")
		// SERIALIZABLE is refused, never silently weakened.
		expectCode(t, conn, "BEGIN ISOLATION LEVEL SERIALIZABLE", "0A000")
		expectCode(t, conn, "SET default_transaction_isolation = 'serializable'", "0A000")
		// The connection is still usable and nothing committed was lost.
		expectRows(t, conn, "SELECT k, v FROM kv ORDER BY k", "1500,b;2500,z")
	})
}

// TestTransactionSizeLimit: a transaction over --max-txn-bytes fails with
// 54000 instead of growing without bound, and the connection carries on.
func TestTransactionSizeLimit(t *testing.T) {
	d := startDemo(t, "--in-memory", "--max-txn-bytes", "4096")
	conn := connect(t, d.sqlAddr)
	mustExec(t, conn, "CREATE TABLE big (k INT PRIMARY KEY, v TEXT)")
	mustExec(t, conn, "INSERT INTO big VALUES (1, 'small')")
	expectCode(t, conn, "INSERT INTO big SELECT k, 'padding padding padding padding padding' FROM (VALUES (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16), (17), (18), (19), (20), (21), (22), (23), (24), (25), (26), (27), (28), (29), (30), (31), (32), (33), (34), (35), (36), (37), (38), (39), (40), (41), (42), (43), (44), (45), (46), (47), (48), (49), (50), (51), (52), (53), (54), (55), (56), (57), (58), (59), (60), (61), (62), (63), (64), (65), (66), (67), (68), (69), (70), (71), (72), (73), (74), (75), (76), (77), (78), (79), (80)) v(k)", "54000")
	mustExec(t, conn, "BEGIN")
	for i := 100; i < 180; i++ {
		if _, err := conn.Exec(ctxT(t), fmt.Sprintf("INSERT INTO big VALUES (%d, 'padding padding padding padding padding')", i)); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "54000" {
				t.Fatalf("insert %d: want 54000, got %v", i, err)
			}
			break
		}
		if i == 179 {
			t.Fatal("80 rows of padding stayed under a 4096-byte limit")
		}
	}
	mustExec(t, conn, "ROLLBACK")
	expectRows(t, conn, "SELECT count(*) FROM big", "1")
}
