package sqltests

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestQueryBench is the distributed-query benchmark of issue 5 (`make
// bench-queries`; BENCHMARKS.md "Distributed queries (issue 5)"). It runs
// only when SHARDSQL_BENCH_QUERIES=1, so `make test` skips it.
//
// It starts PostgreSQL 15 (temp data directory, spare port, default
// settings) and a ShardSQL demo with three shard servers on disk, creates
// the same two tables on both, splits the ShardSQL table before loading so
// its three ranges sit on three shard servers, loads the same rows into
// both through the same path (multi-row INSERTs over pgx), checks every
// query returns the same text on both, then times each query alternating
// between the two systems, and for ShardSQL reads EXPLAIN ANALYZE with
// pushdown on and off to count the bytes the shards send back.
//
// Environment: SHARDSQL_BENCH_ROWS (default 1000000), SHARDSQL_BENCH_REPS
// (timed repetitions per query and system, default 7),
// SHARDSQL_BENCH_OFF_REPS (timed repetitions of ShardSQL with pushdown
// off, default 3), SHARDSQL_BENCH_POINTS (point lookups per system, default
// 500), SHARDSQL_BENCH_OUT (also write the report to this file), PG_BIN.
func TestQueryBench(t *testing.T) {
	if os.Getenv("SHARDSQL_BENCH_QUERIES") != "1" {
		t.Skip("set SHARDSQL_BENCH_QUERIES=1 (make bench-queries) to run the query benchmark")
	}
	nRows := envInt(t, "SHARDSQL_BENCH_ROWS", 1000000)
	reps := envInt(t, "SHARDSQL_BENCH_REPS", 7)
	offReps := envInt(t, "SHARDSQL_BENCH_OFF_REPS", 3)
	nPoints := envInt(t, "SHARDSQL_BENCH_POINTS", 500)
	var report strings.Builder
	out := func(format string, args ...any) {
		fmt.Fprintf(&report, format+"\n", args...)
		fmt.Printf(format+"\n", args...)
	}
	defer func() {
		if f := os.Getenv("SHARDSQL_BENCH_OUT"); f != "" {
			if err := os.WriteFile(f, []byte(report.String()), 0o644); err != nil {
				t.Error(err)
			}
		}
	}()

	pgAddr, pgVersion := startBenchPostgres(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	d := startDemo(t, "--shards", "3", "--data-dir", dataDir)
	pg := connectAs(t, pgAddr, "postgres")
	sh := connect(t, d.sqlAddr)
	out("PostgreSQL: %s", pgVersion)
	out("ShardSQL: demo, 3 shard servers, data on disk in %s", dataDir)

	schema := []string{
		"CREATE TABLE items (id BIGINT PRIMARY KEY, grp INT, cat TEXT, price NUMERIC, qty INT, note TEXT)",
		"CREATE TABLE groups (grp INT PRIMARY KEY, name TEXT)",
	}
	for _, q := range schema {
		mustExec(t, pg, q)
		mustExec(t, sh, q)
	}
	third := nRows / 3
	mustExec(t, sh, fmt.Sprintf("ALTER TABLE items SPLIT AT VALUES (%d), (%d)", third, 2*third))
	ranges := queryRows(t, sh, "SHOW RANGES FROM TABLE items")
	shards := map[string]bool{}
	for _, r := range ranges {
		out("items range %s [%s, %s) on shard %s", r[0], r[1], r[2], r[3])
		shards[r[3]] = true
	}
	if len(ranges) != 3 || len(shards) != 3 {
		t.Fatalf("items should have 3 ranges on 3 shard servers: %v", ranges)
	}

	// The groups table: 1,000 rows, one statement.
	var g strings.Builder
	g.WriteString("INSERT INTO groups VALUES ")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			g.WriteString(", ")
		}
		fmt.Fprintf(&g, "(%d, 'group %03d')", i, i)
	}
	mustExec(t, pg, g.String())
	mustExec(t, sh, g.String())

	// items: the same INSERTs (1,000 rows each, 4 connections) on both.
	for _, sys := range []struct {
		name string
		addr string
		user string
	}{{"PostgreSQL", pgAddr, "postgres"}, {"ShardSQL", d.sqlAddr, "root"}} {
		start := time.Now()
		loadItems(t, sys.addr, sys.user, nRows, 4)
		out("load %d rows into %s: %.1f s", nRows, sys.name, time.Since(start).Seconds())
	}
	start := time.Now()
	mustExec(t, pg, "ANALYZE")
	out("ANALYZE on PostgreSQL: %.1f s", time.Since(start).Seconds())
	if pgCount, shCount := queryRows(t, pg, "SELECT count(*) FROM items")[0][0], queryRows(t, sh, "SELECT count(*) FROM items")[0][0]; pgCount != strconv.Itoa(nRows) || shCount != pgCount {
		t.Fatalf("row counts after the load: PostgreSQL %s, ShardSQL %s, want %d", pgCount, shCount, nRows)
	}

	lo := nRows / 1000
	queries := []struct {
		name, sql string
		ordered   bool // compare row order too
	}{
		{"count(*)", "SELECT count(*) FROM items", true},
		{"grouped aggregate", "SELECT grp % 100, count(*), sum(qty), avg(price) FROM items GROUP BY 1", false},
		{"selective filter", "SELECT id, price FROM items WHERE qty = 17 AND cat = 'c3'", false},
		{"top-N", "SELECT id, price FROM items ORDER BY price DESC LIMIT 10", true},
		{"join + aggregate", "SELECT g.name, count(*) FROM items i JOIN groups g ON i.grp = g.grp WHERE i.qty < 5 GROUP BY g.name", false},
		{"lookup-join shape", fmt.Sprintf("SELECT i.id, g.name FROM items i JOIN groups g ON i.grp = g.grp WHERE i.id BETWEEN %d AND %d", lo, lo+100), false},
	}

	// Same answers first (this also warms both systems' caches).
	for _, q := range queries {
		a := benchQuery(t, pg, q.sql)
		b := benchQuery(t, sh, q.sql)
		if !q.ordered {
			sortRows(a)
			sortRows(b)
		}
		if flat(a) != flat(b) {
			t.Fatalf("%s: results differ\n%s\nPostgreSQL (%d rows): %.2000s\nShardSQL (%d rows): %.2000s", q.name, q.sql, len(a), flat(a), len(b), flat(b))
		}
		out("%s: %d rows, same on both", q.name, len(a))
	}

	// Timings, alternating between the systems.
	type result struct {
		name, sql       string
		pg, sh, shOff   []time.Duration
		on, off         explainStats
		planOn, planOff string
	}
	var results []*result
	for _, q := range queries {
		r := &result{name: q.name, sql: q.sql}
		for i := 0; i < reps; i++ {
			r.pg = append(r.pg, timeQuery(t, pg, q.sql))
			r.sh = append(r.sh, timeQuery(t, sh, q.sql))
		}
		mustExec(t, sh, "SET shardsql.pushdown = off")
		for i := 0; i < offReps; i++ {
			r.shOff = append(r.shOff, timeQuery(t, sh, q.sql))
		}
		mustExec(t, sh, "SET shardsql.pushdown = on")
		results = append(results, r)
		t.Logf("%s: PostgreSQL %v, ShardSQL %v, ShardSQL without pushdown %v", q.name, median(r.pg), median(r.sh), median(r.shOff))
	}

	// Point lookups: one op is one SELECT by a random primary key.
	rng := rand.New(rand.NewSource(5))
	point := &result{name: "point lookup (per op)", sql: "SELECT * FROM items WHERE id = $random"}
	for i := 0; i < nPoints; i++ {
		id := 1 + rng.Intn(nRows)
		sql := fmt.Sprintf("SELECT * FROM items WHERE id = %d", id)
		t0 := time.Now()
		a := benchQuery(t, pg, sql)
		t1 := time.Now()
		b := benchQuery(t, sh, sql)
		t2 := time.Now()
		point.pg = append(point.pg, t1.Sub(t0))
		point.sh = append(point.sh, t2.Sub(t1))
		if flat(a) != flat(b) || len(a) != 1 {
			t.Fatalf("%s: PostgreSQL %v, ShardSQL %v", sql, a, b)
		}
	}
	mustExec(t, sh, "SET shardsql.pushdown = off")
	for i := 0; i < nPoints/5; i++ {
		point.shOff = append(point.shOff, timeQuery(t, sh, fmt.Sprintf("SELECT * FROM items WHERE id = %d", 1+rng.Intn(nRows))))
	}
	mustExec(t, sh, "SET shardsql.pushdown = on")
	results = append(results, point)

	// Bytes from the shards, with and without pushdown.
	for _, r := range results {
		sql := r.sql
		if r == point {
			sql = fmt.Sprintf("SELECT * FROM items WHERE id = %d", 2*third+7)
		}
		r.planOn = explainText(t, sh, "EXPLAIN ANALYZE "+sql)
		mustExec(t, sh, "SET shardsql.pushdown = off")
		r.planOff = explainText(t, sh, "EXPLAIN ANALYZE "+sql)
		mustExec(t, sh, "SET shardsql.pushdown = on")
		r.on, r.off = parseExplain(r.planOn), parseExplain(r.planOff)
	}

	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	out("")
	out("Latency in ms: median (min / p90) of %d runs a query and system (point lookup: %d ops each), alternating PostgreSQL and ShardSQL; ShardSQL without pushdown: %d runs (point lookup: %d ops).", reps, nPoints, offReps, nPoints/5)
	out("")
	out("| query | PostgreSQL 15 | ShardSQL | ShardSQL / PG | ShardSQL, pushdown off |")
	out("|---|---|---|---|---|")
	for _, r := range results {
		out("| %s | %s (%s / %s) | %s (%s / %s) | %.1f× | %s |", r.name,
			ms(median(r.pg)), ms(minDur(r.pg)), ms(pct(r.pg, 0.9)),
			ms(median(r.sh)), ms(minDur(r.sh)), ms(pct(r.sh, 0.9)),
			float64(median(r.sh))/float64(median(r.pg)), ms(median(r.shOff)))
	}
	out("")
	out("Bytes and rows from the shards (one EXPLAIN ANALYZE each):")
	out("")
	out("| query | shard bytes, pushdown on | off | off / on | rows to frontend, on | off | test's sum, on | off |")
	out("|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		ratio := "—"
		if r.on.bytes > 0 {
			ratio = fmt.Sprintf("%.0f×", float64(r.off.bytes)/float64(r.on.bytes))
		}
		out("| %s | %s | %s | %s | %s | %s | %s | %s |", r.name, thousands(r.on.bytes), thousands(r.off.bytes), ratio,
			thousands(r.on.rows), thousands(r.off.rows), thousands(r.on.testSum), thousands(r.off.testSum))
	}
	out("")
	for _, r := range results {
		out("-- %s, pushdown on:\n%s\n-- pushdown off:\n%s\n", r.sql, r.planOn, r.planOff)
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// itemRow is row id of items, the same on both systems. Every column is a
// function of id: grp cycles through the 1,000 groups, qty (0..199) and cat
// (c0..c4) are scrambled so that qty = 17 AND cat = 'c3' matches about one
// row in 1,000, price is unique (id * 7919 mod a prime, over 100), and note
// pads the row to about 100 bytes.
func itemRow(id int) string {
	h := uint64(id) * 0x9E3779B97F4A7C15
	h ^= h >> 29
	qty := h % 200
	cat := (h >> 16) % 5
	price := (uint64(id) * 7919) % 1000003
	return fmt.Sprintf("(%d, %d, 'c%d', %d.%02d, %d, 'note %07d %s')", id, id%1000, cat, price/100, price%100, qty, id,
		"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"[:40+id%20])
}

// loadItems inserts rows 1..n, 1,000 to a statement, over conns connections.
func loadItems(t *testing.T, addr, user string, n, conns int) {
	t.Helper()
	const batch = 1000
	next := make(chan int)
	go func() {
		for lo := 1; lo <= n; lo += batch {
			next <- lo
		}
		close(next)
	}()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		conn := connectAs(t, addr, user)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for lo := range next {
				b.Reset()
				b.WriteString("INSERT INTO items VALUES ")
				for id := lo; id < lo+batch && id <= n; id++ {
					if id > lo {
						b.WriteString(", ")
					}
					b.WriteString(itemRow(id))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				_, err := conn.Exec(ctx, b.String())
				cancel()
				if err != nil {
					errs <- fmt.Errorf("inserting rows from %d: %w", lo, err)
					for range next {
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// startBenchPostgres runs PostgreSQL 15 (PG_BIN, or Debian's path) with
// default settings and returns its address and version.
func startBenchPostgres(t *testing.T) (addr, version string) {
	t.Helper()
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		t.Fatalf("PostgreSQL 15 not found in %s (apt-get install -y postgresql-15): %v", bin, err)
	}
	addr = startPostgres(t, bin)
	conn := connectAs(t, addr, "postgres")
	version = queryRows(t, conn, "SELECT version()")[0][0]
	return addr, version
}

// benchQuery runs sql and returns its rows as text, with a generous timeout.
func benchQuery(t *testing.T, conn *pgx.Conn, sql string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return queryRowsCtx(t, ctx, conn, sql)
}

// timeQuery runs sql to its last row and returns the wall time.
func timeQuery(t *testing.T, conn *pgx.Conn, sql string) time.Duration {
	t.Helper()
	start := time.Now()
	benchQuery(t, conn, sql)
	return time.Since(start)
}

func sortRows(rows [][]string) {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
}

func sorted(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func median(ds []time.Duration) time.Duration { return pct(ds, 0.5) }

func minDur(ds []time.Duration) time.Duration { return pct(ds, 0) }

// pct is the nearest-rank percentile p (0..1) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := sorted(ds)
	i := int(p*float64(len(s)) + 0.5)
	if p == 0.5 {
		i = len(s) / 2
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func explainText(t *testing.T, conn *pgx.Conn, sql string) string {
	var lines []string
	for _, r := range benchQuery(t, conn, sql) {
		lines = append(lines, r[0])
	}
	return strings.Join(lines, "\n")
}

// explainStats sums what an EXPLAIN ANALYZE says the shards sent.
type explainStats struct {
	// bytes: per scan, the sum of its ranges' "bytes returned=" when it
	// prints them (pushdown on), else its "Received on frontend" bytes.
	bytes int
	// rows: "Received on frontend" rows over all scans.
	rows int
	// testSum: every "bytes returned=" plus every "Received on frontend"
	// bytes, as TestPushdown sums them.
	testSum int
}

var (
	receivedRE = regexp.MustCompile(`Received on frontend: (\d+) rows, (\d+) bytes`)
	rangeRE    = regexp.MustCompile(`bytes returned=(\d+)`)
)

func parseExplain(plan string) explainStats {
	var s explainStats
	received, ranges, inScan := 0, 0, false
	flush := func() {
		if inScan {
			if ranges > 0 {
				s.bytes += ranges
			} else {
				s.bytes += received
			}
		}
		received, ranges, inScan = 0, 0, false
	}
	for _, line := range strings.Split(plan, "\n") {
		if m := receivedRE.FindStringSubmatch(line); m != nil {
			flush()
			rows, _ := strconv.Atoi(m[1])
			b, _ := strconv.Atoi(m[2])
			s.rows += rows
			s.testSum += b
			received, inScan = b, true
		} else if m := rangeRE.FindStringSubmatch(line); m != nil {
			b, _ := strconv.Atoi(m[1])
			s.testSum += b
			ranges += b
		}
	}
	flush()
	return s
}
