package sqltests

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// connectExtended connects with pgx's default mode: the extended query
// protocol with prepared statements and binary formats where pgx likes them.
func connectExtended(t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=root dbname=postgres sslmode=disable", host, port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestExtendedProtocol drives prepared statements through pgx (binary
// parameters and results) and the raw protocol (row limits, errors in a
// pipeline, statement invalidation).
func TestExtendedProtocol(t *testing.T) {
	d := startDemo(t, "--in-memory")
	conn := connectExtended(t, d.sqlAddr)
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE ty (k INT PRIMARY KEY, b BIGINT, s SMALLINT, t TEXT, v VARCHAR(10),
		n NUMERIC, f DOUBLE PRECISION, ok BOOLEAN, d DATE, ts TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE ty SPLIT AT VALUES (50)"); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	stamp := time.Date(1999, 12, 31, 23, 59, 58, 123456000, time.UTC)
	nums := []string{"0", "1.5", "-12345.6789", "100000000", "0.0001", "-0.05", "98765432109876543210.0123456789"}
	for i := 0; i < 100; i++ {
		var n pgtype.Numeric
		if err := n.Scan(nums[i%len(nums)]); err != nil {
			t.Fatal(err)
		}
		tag, err := conn.Exec(ctx, "INSERT INTO ty VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			i, int64(i)*1e12, int16(-i), fmt.Sprintf("text %d", i), "v", n, float64(i)/4, i%2 == 0, day.AddDate(0, 0, i), stamp.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		if tag.String() != "INSERT 0 1" {
			t.Fatalf("tag %q", tag)
		}
	}
	for _, k := range []int{0, 3, 49, 50, 99} {
		var (
			b    int64
			s    int16
			txt  string
			n    pgtype.Numeric
			f    float64
			ok   bool
			dd   time.Time
			ts   time.Time
			vstr string
		)
		err := conn.QueryRow(ctx, "SELECT b, s, t, v, n, f, ok, d, ts FROM ty WHERE k = $1", k).Scan(&b, &s, &txt, &vstr, &n, &f, &ok, &dd, &ts)
		if err != nil {
			t.Fatalf("select %d: %v", k, err)
		}
		nv, _ := n.Value()
		if b != int64(k)*1e12 || s != int16(-k) || txt != fmt.Sprintf("text %d", k) || vstr != "v" || f != float64(k)/4 || ok != (k%2 == 0) ||
			!dd.Equal(day.AddDate(0, 0, k)) || !ts.Equal(stamp.Add(time.Duration(k)*time.Hour)) || nv != nums[k%len(nums)] {
			t.Errorf("row %d came back as %v %v %q %q %v %v %v %v %v", k, b, s, txt, vstr, nv, f, ok, dd, ts)
		}
	}
	// Parameters typed by their use; a range, NULLs, an aggregate.
	var cnt, sum int64
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(k) FROM ty WHERE k BETWEEN $1 AND $2 AND t LIKE $3", 10, 59, "text 5%").Scan(&cnt, &sum); err != nil {
		t.Fatal(err)
	}
	if cnt != 10 || sum != 545 {
		t.Errorf("count/sum = %d/%d, want 10/545", cnt, sum)
	}
	var isNull bool
	if err := conn.QueryRow(ctx, "SELECT $1::int IS NULL", nil).Scan(&isNull); err != nil || !isNull {
		t.Errorf("NULL parameter: %v %v", isNull, err)
	}
	if tag, err := conn.Exec(ctx, "UPDATE ty SET t = $1 WHERE k = $2", "changed", 7); err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("update: %v %v", tag, err)
	}
	var got string
	if err := conn.QueryRow(ctx, "SELECT t FROM ty WHERE k = $1", 7).Scan(&got); err != nil || got != "changed" {
		t.Errorf("after update: %q %v", got, err)
	}
	// Errors keep their SQLSTATE and the connection goes on.
	_, err := conn.Exec(ctx, "INSERT INTO ty (k) VALUES ($1)", 7)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("duplicate key: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM ty WHERE k < $1", 1000).Scan(&cnt); err != nil || cnt != 100 {
		t.Fatalf("after an error: %d %v", cnt, err)
	}
	// Explicit transactions over the extended protocol.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM ty WHERE k >= $1", 90); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM ty").Scan(&cnt); err != nil || cnt != 90 {
		t.Fatalf("in the transaction: %d %v", cnt, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM ty").Scan(&cnt); err != nil || cnt != 100 {
		t.Fatalf("after rollback: %d %v", cnt, err)
	}

	newTypes(t, conn)
	rawProtocol(t, d.sqlAddr)
}

// newTypes round-trips the types beyond issue 2's through pgx's binary
// formats, and binds an array parameter to = ANY($1).
func newTypes(t *testing.T, conn *pgx.Conn) {
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE nt (k INT PRIMARY KEY, tz TIMESTAMPTZ, iv INTERVAL, u UUID, b BYTEA,
		j JSONB, r REAL, c CHAR(4), a INT[])`); err != nil {
		t.Fatal(err)
	}
	tz := time.Date(2024, 3, 10, 8, 30, 0, 250000, time.UTC)
	iv := pgtype.Interval{Months: 14, Days: 3, Microseconds: 3723000001, Valid: true}
	u := [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	for k := 1; k <= 3; k++ {
		if _, err := conn.Exec(ctx, "INSERT INTO nt VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			k, tz, iv, u, []byte{0, 1, byte(k)}, map[string]any{"a": k, "b": []int{1, 2}}, float32(k)+0.5, "ab", []int32{int32(k), 10, 20}); err != nil {
			t.Fatalf("insert %d: %v", k, err)
		}
	}
	var (
		gtz time.Time
		giv pgtype.Interval
		gu  [16]byte
		gb  []byte
		gj  map[string]any
		gr  float32
		gc  string
		ga  []int32
	)
	if err := conn.QueryRow(ctx, "SELECT tz, iv, u, b, j, r, c, a FROM nt WHERE k = $1", 2).Scan(&gtz, &giv, &gu, &gb, &gj, &gr, &gc, &ga); err != nil {
		t.Fatal(err)
	}
	if !gtz.Equal(tz) || giv != iv || gu != u || string(gb) != "\x00\x01\x02" || gj["a"] != float64(2) || gr != 2.5 || gc != "ab  " || fmt.Sprint(ga) != "[2 10 20]" {
		t.Errorf("new types came back as %v %+v %x %x %v %v %q %v", gtz, giv, gu, gb, gj, gr, gc, ga)
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM nt WHERE k = ANY($1)", []int32{1, 3, 7}).Scan(&n); err != nil || n != 2 {
		t.Errorf("= ANY($1): %d %v", n, err)
	}
}

// rawProtocol speaks the extended protocol message by message.
func rawProtocol(t *testing.T, addr string) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "root", "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	// until reads messages up to ReadyForQuery and names them.
	until := func() []string {
		t.Helper()
		var seen []string
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(fmt.Sprintf("%T", m), "*pgproto3.")
			switch m := m.(type) {
			case *pgproto3.ErrorResponse:
				name += ":" + m.Code
			case *pgproto3.CommandComplete:
				name += ":" + string(m.CommandTag)
			case *pgproto3.DataRow:
				name += ":" + string(m.Values[0])
			case *pgproto3.ParameterDescription:
				name += fmt.Sprint(":", m.ParameterOIDs)
			case *pgproto3.ParameterStatus, *pgproto3.BackendKeyData, *pgproto3.AuthenticationOk:
				continue
			}
			seen = append(seen, name)
			if name == "ReadyForQuery" {
				return seen
			}
		}
	}
	until()
	expect := func(what string, want ...string) {
		t.Helper()
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		got := until()
		if strings.Join(got, " ") != strings.Join(append(want, "ReadyForQuery"), " ") {
			t.Errorf("%s:\n got %v\nwant %v", what, got, append(want, "ReadyForQuery"))
		}
	}

	// A named statement, described, then run with a row limit.
	fe.Send(&pgproto3.Parse{Name: "s1", Query: "SELECT k FROM ty WHERE k < $1 ORDER BY k"})
	fe.Send(&pgproto3.Describe{ObjectType: 'S', Name: "s1"})
	fe.Send(&pgproto3.Bind{PreparedStatement: "s1", Parameters: [][]byte{[]byte("5")}})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Sync{})
	expect("row limits", "ParseComplete", "ParameterDescription:[23]", "RowDescription", "BindComplete",
		"DataRow:0", "DataRow:1", "PortalSuspended", "DataRow:2", "DataRow:3", "PortalSuspended", "DataRow:4", "CommandComplete:SELECT 5")

	// An error skips everything up to Sync; the next batch works.
	fe.Send(&pgproto3.Parse{Query: "SELEC nonsense"})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	expect("a parse error", "ErrorResponse:42601")
	fe.Send(&pgproto3.Bind{PreparedStatement: "nope"})
	fe.Send(&pgproto3.Sync{})
	expect("an unknown statement", "ErrorResponse:26000")
	fe.Send(&pgproto3.Bind{PreparedStatement: "s1", Parameters: [][]byte{}})
	fe.Send(&pgproto3.Sync{})
	expect("too few parameters", "ErrorResponse:08P01")
	fe.Send(&pgproto3.Parse{Name: "s1", Query: "SELECT 1"})
	fe.Send(&pgproto3.Sync{})
	expect("a duplicate name", "ErrorResponse:42P05")
	fe.Send(&pgproto3.Parse{Query: ""})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	expect("the empty query", "ParseComplete", "BindComplete", "EmptyQueryResponse")

	// Pipelined statements, one Sync.
	fe.Send(&pgproto3.Parse{Name: "ins", Query: "INSERT INTO ty (k, t) VALUES ($1, $2)"})
	for _, k := range []string{"200", "201", "202"} {
		fe.Send(&pgproto3.Bind{PreparedStatement: "ins", Parameters: [][]byte{[]byte(k), []byte("p" + k)}})
		fe.Send(&pgproto3.Execute{})
	}
	fe.Send(&pgproto3.Sync{})
	expect("a pipeline", "ParseComplete", "BindComplete", "CommandComplete:INSERT 0 1", "BindComplete", "CommandComplete:INSERT 0 1", "BindComplete", "CommandComplete:INSERT 0 1")

	// A schema change: the statement is planned again; a changed result
	// type is refused as PostgreSQL refuses it.
	fe.Send(&pgproto3.Parse{Name: "s2", Query: "SELECT t FROM ty WHERE k = $1"})
	fe.Send(&pgproto3.Sync{})
	expect("prepare s2", "ParseComplete")
	fe.Send(&pgproto3.Query{String: "CREATE INDEX ty_t ON ty (t)"})
	expect("create index", "CommandComplete:CREATE INDEX")
	fe.Send(&pgproto3.Bind{PreparedStatement: "s2", Parameters: [][]byte{[]byte("201")}})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	expect("after an index", "BindComplete", "DataRow:p201", "CommandComplete:SELECT 1")
	fe.Send(&pgproto3.Query{String: "DROP TABLE ty; CREATE TABLE ty (k INT PRIMARY KEY, t INT)"})
	expect("recreate", "CommandComplete:DROP TABLE", "CommandComplete:CREATE TABLE")
	fe.Send(&pgproto3.Bind{PreparedStatement: "s2", Parameters: [][]byte{[]byte("201")}})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	expect("a changed result type", "BindComplete", "ErrorResponse:0A000")
	fe.Send(&pgproto3.Close{ObjectType: 'S', Name: "s2"})
	fe.Send(&pgproto3.Sync{})
	expect("close", "CloseComplete")
	fe.Send(&pgproto3.Terminate{})
	fe.Flush()
}
