package sqltests

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPushdown runs queries over a table spread across three shard
// servers with pushdown on and off: the answers must agree with each
// other and with what the test computes itself, EXPLAIN must show what
// runs where, and pushdown must send fewer bytes back from the shards.
func TestPushdown(t *testing.T) {
	d := startDemo(t, "--in-memory", "--shards", "3")
	conn := connect(t, d.sqlAddr)
	mustExec(t, conn, "CREATE TABLE pd (k INT PRIMARY KEY, g INT, v TEXT, pad TEXT)")
	// Split before loading, so the ranges land on different servers.
	mustExec(t, conn, "ALTER TABLE pd SPLIT AT VALUES (1000), (2000)")
	const n = 3000
	pad := strings.Repeat("x", 100)
	for start := 0; start < n; start += 500 {
		var vals []string
		for k := start; k < start+500; k++ {
			g := fmt.Sprint(k % 7)
			if k%11 == 0 {
				g = "NULL"
			}
			vals = append(vals, fmt.Sprintf("(%d, %s, 'v%d', '%s')", k, g, k, pad))
		}
		mustExec(t, conn, "INSERT INTO pd VALUES "+strings.Join(vals, ","))
	}

	// What the answers must be.
	count, sum := map[string]int{}, map[string]int{}
	for k := 0; k < n; k++ {
		if k%3 != 0 {
			continue
		}
		g := fmt.Sprint(k % 7)
		if k%11 == 0 {
			g = "NULL"
		}
		count[g]++
		sum[g] += k
	}
	var groups []string
	for _, g := range []string{"0", "1", "2", "3", "4", "5", "6", "NULL"} {
		groups = append(groups, fmt.Sprintf("%s,%d,%d", g, count[g], sum[g]))
	}
	wantGroups := strings.Join(groups, ";")
	queries := []struct{ sql, want string }{
		{"SELECT g, count(*), sum(k) FROM pd WHERE k % 3 = 0 GROUP BY g ORDER BY g", wantGroups},
		{"SELECT count(*), min(v), max(k), bool_and(k >= 0) FROM pd", "3000,v0,2999,t"},
		{"SELECT count(g), avg(k) FROM pd WHERE g = 3", func() string {
			c, s := 0, 0
			for k := 0; k < n; k++ {
				if k%7 == 3 && k%11 != 0 {
					c++
					s += k
				}
			}
			return fmt.Sprintf("%d,%s", c, big.NewRat(int64(s), int64(c)).FloatString(16))
		}()},
		{"SELECT k, v FROM pd WHERE g = 3 ORDER BY k DESC LIMIT 3", "2999,v2999;2985,v2985;2978,v2978"},
		{"SELECT k FROM pd WHERE v LIKE 'v15%' ORDER BY k LIMIT 4 OFFSET 1", "150;151;152;153"},
		{"SELECT k FROM pd WHERE k > 2990 AND g IS NULL", "2992"},
		// The row that would fail (k = 2500) lies beyond the first match:
		// PostgreSQL never evaluates it, and neither may we.
		{"SELECT k FROM pd WHERE 10 / (k - 2500) <= 0 LIMIT 1", "0"},
	}
	for _, setting := range []string{"on", "off"} {
		mustExec(t, conn, "SET shardsql.pushdown = "+setting)
		expectRows(t, conn, "SHOW shardsql.pushdown", setting)
		for _, q := range queries {
			expectRows(t, conn, q.sql, q.want)
		}
		expectCode(t, conn, "SELECT count(*) FROM pd WHERE 10 / (k - 2500) > 0", "22012")
		expectCode(t, conn, "SELECT k FROM pd WHERE 10 / (k - 2500) > 0", "22012")
	}
	mustExec(t, conn, "SET shardsql.pushdown = on")

	// A transaction's own writes are merged: the aggregate runs on the
	// frontend for the spans it wrote to.
	mustExec(t, conn, "BEGIN")
	mustExec(t, conn, "INSERT INTO pd VALUES (5000, 3, 'new', '')")
	mustExec(t, conn, "DELETE FROM pd WHERE k = 2999")
	own := 1 // the new row
	for k := 0; k < n; k++ {
		if k%7 == 3 && k%11 != 0 && k != 2999 {
			own++
		}
	}
	expectRows(t, conn, "SELECT count(*), max(k) FROM pd WHERE g = 3", fmt.Sprintf("%d,5000", own))
	expectRows(t, conn, "SELECT k FROM pd WHERE g = 3 ORDER BY k DESC LIMIT 2", "5000;2985")
	mustExec(t, conn, "ROLLBACK")

	explain := func(sql string) string {
		rows := queryRows(t, conn, sql)
		var lines []string
		for _, r := range rows {
			lines = append(lines, r[0])
		}
		return strings.Join(lines, "\n")
	}
	plan := explain("EXPLAIN SELECT g, count(*) FROM pd WHERE k % 3 = 0 GROUP BY g")
	for _, want := range []string{"Final Aggregate", "Ranges: 3", "partial aggregate", "filter"} {
		if !strings.Contains(plan, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, plan)
		}
	}
	if shards := regexp.MustCompile(`r\d+@s(\d+)`).FindAllStringSubmatch(plan, -1); len(shards) != 3 || shards[0][1] == shards[1][1] || shards[1][1] == shards[2][1] {
		t.Errorf("the three ranges should be on three shard servers:\n%s", plan)
	}
	plan = explain("EXPLAIN SELECT k FROM pd WHERE g = 3 ORDER BY v DESC LIMIT 5")
	if !strings.Contains(plan, "top 5 by") || !strings.Contains(plan, "columns (k, g, v)") {
		t.Errorf("EXPLAIN should push the top-N and the columns:\n%s", plan)
	}

	// Bytes back from the shards, with and without pushdown.
	// returned sums what the shards sent back: the per-range lines of a
	// pushed-down scan, or what the frontend received when there are none
	// (a plain scan reports no per-range lines).
	returned := func(plan string) int {
		total := 0
		sum := func(re string) {
			for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(plan, -1) {
				v, _ := strconv.Atoi(m[1])
				total += v
			}
		}
		if sum(`bytes returned=(\d+)`); total == 0 {
			sum(`Received on frontend: \d+ rows, (\d+) bytes`)
		}
		return total
	}
	for _, q := range []string{
		"SELECT g, count(*), sum(k) FROM pd WHERE k % 3 = 0 GROUP BY g",
		"SELECT k FROM pd WHERE g = 3 ORDER BY k DESC LIMIT 3",
		"SELECT k, v FROM pd WHERE k % 100 = 7",
	} {
		on := explain("EXPLAIN ANALYZE " + q)
		mustExec(t, conn, "SET shardsql.pushdown = off")
		off := explain("EXPLAIN ANALYZE " + q)
		mustExec(t, conn, "SET shardsql.pushdown = on")
		bOn, bOff := returned(on), returned(off)
		t.Logf("%s: %d bytes from the shards with pushdown, %d without", q, bOn, bOff)
		if bOn == 0 || bOff < 5*bOn {
			t.Errorf("%s: pushdown should cut the bytes sent back at least 5-fold: %d vs %d\n%s\n%s", q, bOn, bOff, on, off)
		}
		if !strings.Contains(on, "actual rows=") || !strings.Contains(on, "Execution Time") {
			t.Errorf("EXPLAIN ANALYZE lacks measurements:\n%s", on)
		}
		if !strings.Contains(off, "Pushed down: nothing (shardsql.pushdown is off)") || strings.Contains(off, "partial aggregate") {
			t.Errorf("EXPLAIN with pushdown off should say nothing was pushed:\n%s", off)
		}
	}
	expectCode(t, conn, "EXPLAIN (FORMAT JSON) SELECT 1", "0A000")

	// Partial sums keep every digit of a numeric (merged exactly).
	mustExec(t, conn, "CREATE TABLE bigdec (k INT PRIMARY KEY, x NUMERIC)")
	mustExec(t, conn, "INSERT INTO bigdec VALUES (1, 123456789012345678901234567890.123456789012345), (2, 0.000000000000001)")
	expectRows(t, conn, "SELECT sum(x) FROM bigdec", "123456789012345678901234567890.123456789012346")

	// A statement that would hold more rows than its memory budget fails
	// cleanly with 53200 and the session carries on.
	mustExec(t, conn, "SET shardsql.max_statement_memory = '100kB'")
	expectRows(t, conn, "SHOW shardsql.max_statement_memory", "100kB")
	expectCode(t, conn, "SELECT * FROM pd ORDER BY v", "53200")
	expectCode(t, conn, "SELECT DISTINCT pad || v FROM pd", "53200")
	expectCode(t, conn, "SELECT a.k FROM pd a JOIN pd b ON a.v = b.v", "53200")
	expectRows(t, conn, "SELECT count(*) FROM pd", "3000") // streams: no budget needed
	expectCode(t, conn, "SET shardsql.max_statement_memory = '12 parsecs'", "22023")
	mustExec(t, conn, "RESET shardsql.max_statement_memory")
	expectRows(t, conn, "SELECT count(*) FROM (SELECT * FROM pd ORDER BY v) s", "3000")
}

// TestLookupJoin checks joins that read their right side by primary key
// against the same joins run as hash joins (pushdown off).
func TestLookupJoin(t *testing.T) {
	d := startDemo(t, "--in-memory", "--shards", "3")
	conn := connect(t, d.sqlAddr)
	mustExec(t, conn, "CREATE TABLE cust (c BIGINT PRIMARY KEY, name TEXT, region INT)")
	mustExec(t, conn, "CREATE TABLE ord (o INT PRIMARY KEY, cust INT, amount INT)")
	mustExec(t, conn, "ALTER TABLE cust SPLIT AT VALUES (100), (200)")
	var cs, os []string
	for c := 0; c < 300; c++ {
		if c%10 == 9 {
			continue // customers 9, 19, ... are missing
		}
		cs = append(cs, fmt.Sprintf("(%d, 'c%d', %d)", c, c, c%4))
	}
	for o := 0; o < 2000; o++ {
		cust := fmt.Sprint((o * 7) % 300)
		if o%13 == 0 {
			cust = "NULL"
		}
		os = append(os, fmt.Sprintf("(%d, %s, %d)", o, cust, o%50))
	}
	mustExec(t, conn, "INSERT INTO cust VALUES "+strings.Join(cs, ","))
	mustExec(t, conn, "INSERT INTO ord VALUES "+strings.Join(os, ","))
	queries := []string{
		"SELECT o, name FROM ord JOIN cust ON cust = c WHERE o < 40 ORDER BY o",
		"SELECT o, name FROM ord LEFT JOIN cust ON cust = c AND region <> 1 WHERE o < 40 ORDER BY o",
		"SELECT o, name FROM ord JOIN cust ON cust = c AND amount > region WHERE o BETWEEN 100 AND 160 AND name LIKE 'c1%' ORDER BY o",
		"SELECT count(*), sum(amount) FROM ord JOIN cust ON cust = c", // 2000 left rows: hash join
		"SELECT o, name FROM ord JOIN cust ON cust = c WHERE o < 30 AND c > 150 ORDER BY o",
		// Correlated subqueries, run as hash semi-joins with pushdown on.
		"SELECT count(*) FROM ord WHERE EXISTS (SELECT 1 FROM cust WHERE c = ord.cust AND region = 2)",
		"SELECT count(*) FROM ord WHERE NOT EXISTS (SELECT 1 FROM cust WHERE c = ord.cust)",
		"SELECT o, (SELECT name FROM cust WHERE c = ord.cust AND region <> ord.amount % 4) FROM ord WHERE o < 25 ORDER BY o",
		"SELECT count(*) FROM cust WHERE region IN (SELECT amount FROM ord WHERE ord.cust = cust.c)",
		"SELECT count(*) FROM cust WHERE c NOT IN (SELECT cust FROM ord WHERE amount = cust.region)",
		"SELECT count(*) FROM ord WHERE cust IN (SELECT c FROM cust WHERE region = 3)",
		"SELECT count(*) FROM ord WHERE cust NOT IN (SELECT c FROM cust WHERE region = 3)",
		"SELECT c, (SELECT count(*) FROM ord WHERE cust = c), (SELECT sum(amount) + 1 FROM ord WHERE cust = c AND amount > region) FROM cust WHERE c < 40 ORDER BY c",
		"SELECT count(*) FROM cust WHERE (SELECT max(amount) FROM ord WHERE cust = c) > 40",
		// A NULL outer key matches no row, but an aggregate still answers (count 0).
		"SELECT o, (SELECT count(*) FROM cust WHERE c = ord.cust), (SELECT sum(region) FROM cust WHERE c = ord.cust) FROM ord WHERE o < 30 ORDER BY o",
	}
	for _, q := range queries {
		mustExec(t, conn, "SET shardsql.pushdown = off")
		want := flat(queryRows(t, conn, q))
		mustExec(t, conn, "SET shardsql.pushdown = on")
		expectRows(t, conn, q, want)
		if want == "" {
			t.Errorf("%s: no rows; the test data should give some", q)
		}
	}
	plan := func(sql string) string {
		var lines []string
		for _, r := range queryRows(t, conn, sql) {
			lines = append(lines, r[0])
		}
		return strings.Join(lines, "\n")
	}
	if p := plan("EXPLAIN ANALYZE " + queries[0]); !strings.Contains(p, "40 left rows looked up in cust") {
		t.Errorf("a small left side should be looked up by primary key:\n%s", p)
	}
	if p := plan("EXPLAIN ANALYZE " + queries[3]); !strings.Contains(p, "too large for lookups") {
		t.Errorf("a large left side should fall back to a hash join:\n%s", p)
	}
	// Lookups see the transaction's own writes.
	mustExec(t, conn, "BEGIN")
	mustExec(t, conn, "INSERT INTO cust VALUES (9, 'new nine', 0)")
	mustExec(t, conn, "DELETE FROM cust WHERE c = 7")
	// (order 87 is customer 9's, order 1 customer 7's, order 3 customer 21's)
	expectRows(t, conn, "SELECT o, name FROM ord JOIN cust ON cust = c WHERE o IN (1, 87, 3) ORDER BY o", "3,c21;87,new nine")
	mustExec(t, conn, "ROLLBACK")
	expectRows(t, conn, "SELECT o, name FROM ord JOIN cust ON cust = c WHERE o IN (1, 87, 3) ORDER BY o", "1,c7;3,c21")
}
