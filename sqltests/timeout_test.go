package sqltests

import (
	"errors"
	"testing"
	"time"

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
}
