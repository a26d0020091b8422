package sqltests

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestStatementTimeout: statement_timeout cancels a statement with 57014
// and PostgreSQL's message, over the simple and the extended protocol; the
// session carries on, and inside a transaction block the block fails.
func TestStatementTimeout(t *testing.T) {
	d := startDemo(t, "--in-memory")
	simple := connect(t, d.sqlAddr)
	ext := connectExtended(t, d.sqlAddr)
	ctx := ctxT(t)
	check := func(label string, err error, took time.Duration) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" || pe.Message != "canceling statement due to statement timeout" {
			t.Fatalf("%s: want 57014 statement timeout, got %v", label, err)
		}
		if took > 4*time.Second {
			t.Fatalf("%s: the 200 ms timeout let a 5 s sleep run %v", label, took)
		}
	}
	mustExec(t, simple, "SET statement_timeout = 200")
	expectRows(t, simple, "SHOW statement_timeout", "200ms")
	start := time.Now()
	_, err := simple.Exec(ctx, "SELECT pg_sleep(5)")
	check("simple protocol", err, time.Since(start))
	expectRows(t, simple, "SELECT 1", "1")
	expectRows(t, simple, "SELECT pg_sleep(0.01)", "")

	if _, err := ext.Exec(ctx, "SET statement_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = ext.Exec(ctx, "SELECT pg_sleep($1)", 5.0)
	check("extended protocol", err, time.Since(start))
	var one int
	if err := ext.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the timeout: %v", err)
	}

	mustExec(t, simple, "BEGIN")
	_, err = simple.Exec(ctx, "SELECT pg_sleep(5)")
	check("in a block", err, 0)
	expectCode(t, simple, "SELECT 1", "25P02")
	mustExec(t, simple, "ROLLBACK")
	// A reported setting comes back as ParameterStatus, as PostgreSQL's does.
	mustExec(t, simple, "SET application_name = 'probe'")
	if v := simple.PgConn().ParameterStatus("application_name"); v != "probe" {
		t.Errorf("ParameterStatus application_name = %q after SET, want probe", v)
	}
	mustExec(t, simple, "RESET statement_timeout")
	expectRows(t, simple, "SHOW statement_timeout", "0")
	expectRows(t, simple, "SELECT pg_sleep(0.3)", "")

	// idle_in_transaction_session_timeout closes a session left idle in
	// a transaction (25P03); its transaction is rolled back.
	idle := connect(t, d.sqlAddr)
	mustExec(t, idle, "CREATE TABLE idle_t (k INT PRIMARY KEY)")
	mustExec(t, idle, "SET idle_in_transaction_session_timeout = '300ms'")
	expectRows(t, idle, "SHOW idle_in_transaction_session_timeout", "300ms")
	mustExec(t, idle, "BEGIN")
	mustExec(t, idle, "INSERT INTO idle_t VALUES (1)")
	time.Sleep(time.Second)
	if _, err := idle.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a session idle in a transaction past the timeout should be closed")
	}
	expectRows(t, simple, "SELECT count(*) FROM idle_t", "0")
	// Outside a transaction, idleness is fine.
	other := connect(t, d.sqlAddr)
	mustExec(t, other, "SET idle_in_transaction_session_timeout = '200ms'")
	time.Sleep(500 * time.Millisecond)
	expectRows(t, other, "SELECT 2", "2")
	expectCode(t, other, "SET idle_in_transaction_session_timeout = '5 fortnights'", "22023")
}

// TestMaxConnections: past --max-connections a new client gets 53300 and
// the others carry on.
func TestMaxConnections(t *testing.T) {
	d := startDemo(t, "--in-memory", "--max-connections", "2")
	a := connect(t, d.sqlAddr)
	b := connect(t, d.sqlAddr)
	host, port, _ := net.SplitHostPort(d.sqlAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=root dbname=postgres sslmode=disable", host, port))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "53300" {
		t.Fatalf("third connection: want 53300, got %v", err)
	}
	expectRows(t, a, "SELECT 1", "1")
	b.Close(context.Background())
	// Once the server has seen b go, a new connection fits again.
	for {
		c, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=root dbname=postgres sslmode=disable", host, port))
		if err == nil {
			c.Close(context.Background())
			break
		}
		if !errors.As(err, &pe) || pe.Code != "53300" || ctx.Err() != nil {
			t.Fatalf("after one left, a new connection should fit: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
