package sqltests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardsql/shardsql/sqltests/sqlgen"
)

// TestDifferential is a randomized differential test: random tables and
// data (the same on both engines; ShardSQL's tables are also split at
// random keys so the data spans ranges and shards) and random queries
// (sqltests/sqlgen), run on a ShardSQL demo and on a PostgreSQL 15 that
// the test starts itself, and compared (difftest_compare_test.go).
//
// Environment:
//
//	SHARDSQL_FUZZ_SEED=n      the first round's seed (default: the time); a
//	                          failure names its round's seed to replay
//	SHARDSQL_FUZZ_QUERIES=n   queries in all (default 1000; make fuzz-sql: 20000)
//	SHARDSQL_FUZZ_FEATURES=   which of window,cte,distinct_on to generate
//	                          (default: all; "none" for none)
//	PG_BIN                    PostgreSQL 15 binaries (default /usr/lib/postgresql/15/bin)
//
// Each round of queriesPerRound queries gets fresh tables from its own
// seed (round seed = first seed + round number).
func TestDifferential(t *testing.T) {
	pgBin := os.Getenv("PG_BIN")
	if pgBin == "" {
		pgBin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(pgBin, "postgres")); err != nil {
		if testing.Short() {
			t.Skipf("PostgreSQL 15 not found in %s", pgBin)
		}
		t.Fatalf("PostgreSQL 15 not found in %s (apt-get install postgresql-15, or set PG_BIN): %v", pgBin, err)
	}
	seed := time.Now().UnixNano() % 1000000000
	if s := os.Getenv("SHARDSQL_FUZZ_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SHARDSQL_FUZZ_SEED: %v", err)
		}
		seed = v
	}
	total := 1000
	if s := os.Getenv("SHARDSQL_FUZZ_QUERIES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("SHARDSQL_FUZZ_QUERIES: %q", s)
		}
		total = v
	}
	fs := os.Getenv("SHARDSQL_FUZZ_FEATURES")
	switch fs {
	case "":
		fs = "window,cte,distinct_on"
	case "none":
		fs = ""
	}
	features, err := sqlgen.ParseFeatures(fs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d, %d queries, features %+v", seed, total, features)

	pgAddr := startPostgres(t, pgBin, "fsync=off", "synchronous_commit=off", "full_page_writes=off", "statement_timeout=30s")
	d := startDemo(t, "--in-memory")
	pg := newDiffConn(t, pgAddr, "postgres")
	sh := newDiffConn(t, d.sqlAddr, "root")

	const maxFailures = 10
	failures := 0
	start := time.Now()
	done := 0
	for round := 0; done < total && failures < maxFailures; round++ {
		rseed := seed + int64(round)
		g := sqlgen.New(rseed, features)
		for i, tbl := range g.Tables {
			tbl.Name = fmt.Sprintf("r%d_t%d", round, i)
		}
		var setup []string
		setup = append(setup, g.CreateStatements()...)
		setup = append(setup, g.InsertStatements()...)
		for _, s := range setup {
			pr, sr := pg.run(s), sh.run(s)
			if pr.err != nil || sr.err != nil {
				t.Fatalf("seed %d: setting up %q: PostgreSQL: %v; ShardSQL: %v", rseed, s, pr.err, sr.err)
			}
		}
		for _, s := range g.SplitStatements() {
			if r := sh.run(s); r.err != nil {
				t.Fatalf("seed %d: %s: %v", rseed, s, r.err)
			}
			setup = append(setup, "-- ShardSQL only: "+s)
		}
		n := min(queriesPerRound, total-done)
		for i := 0; i < n && failures < maxFailures; i++ {
			q := g.Query()
			pr := pg.run(q.SQL)
			t0 := time.Now()
			sr := sh.run(q.SQL)
			if el := time.Since(t0); el > 5*time.Second {
				t.Logf("seed %d query %d took %v on ShardSQL: %s", rseed, i+1, el.Round(time.Millisecond), q.SQL)
			}
			if diff := compareResults(q, pr, sr); diff != "" {
				failures++
				t.Errorf("seed %d (replay: SHARDSQL_FUZZ_SEED=%d SHARDSQL_FUZZ_QUERIES=%d), query %d: %s\n%s;\nPostgreSQL: %s\nShardSQL: %s\nsetup:\n%s;",
					rseed, rseed, i+1, i+1, diff, q.SQL, formatResult(pr), formatResult(sr), strings.Join(setup, ";\n"))
			}
		}
		done += n
	}
	t.Logf("%d queries in %v", done, time.Since(start).Round(time.Millisecond))
}

// queriesPerRound is how many queries run against one set of tables.
const queriesPerRound = 100

// diffConn is a connection that reconnects after a timeout broke it.
type diffConn struct {
	t    *testing.T
	addr string
	user string
	conn *pgconn.PgConn
}

func newDiffConn(t *testing.T, addr, user string) *diffConn {
	c := &diffConn{t: t, addr: addr, user: user}
	c.connect()
	t.Cleanup(func() {
		if c.conn != nil {
			c.conn.Close(context.Background())
		}
	})
	return c
}

func (c *diffConn) connect() {
	host, port, _ := net.SplitHostPort(c.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("host=%s port=%s user=%s dbname=postgres sslmode=disable connect_timeout=10", host, port, c.user))
	if err != nil {
		c.t.Fatalf("connecting to %s: %v", c.addr, err)
	}
	c.conn = conn
}

// run sends sql with the simple query protocol (results in text).
func (c *diffConn) run(sql string) qresult {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := toResult(c.conn.Exec(ctx, sql).ReadAll())
	if c.conn.IsClosed() {
		c.connect()
	}
	if r.err != nil && ctx.Err() != nil {
		r.err = fmt.Errorf("timed out after 30s: %w", r.err)
	}
	return r
}
