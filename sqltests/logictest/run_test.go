package logictest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func writeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRun(t *testing.T, opts Options, paths ...string) (*Summary, string) {
	t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	sum, err := Run(runCtx(t), opts, paths...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, out.String()
}

// TestRunOwnTestdata runs ShardSQL's own .test files (every formatting
// rule and extension, and the transaction and isolation files, whose
// expected results are PostgreSQL's) on PostgreSQL 15: they must all pass.
func TestRunOwnTestdata(t *testing.T) {
	dsn := postgresDSN(t)
	sum, out := mustRun(t, Options{DSN: dsn}, "../testdata")
	if !sum.OK() || sum.Passed != sum.Run || sum.Run == 0 {
		t.Fatalf("own testdata on PostgreSQL: %+v\n%s", sum.Counts, out)
	}
	if len(sum.Files) < 5 || sum.Skipped != 2 {
		t.Errorf("got %d files, %d skipped; want at least 5 files, 2 skipped\n%s", len(sum.Files), sum.Skipped, out)
	}
	for _, f := range sum.Files {
		if strings.HasSuffix(f.Path, "extensions.test") && !f.Halted {
			t.Errorf("%s did not halt", f.Path)
		}
	}
}

// TestRunCorpusSample runs a quick part of the SQLite corpus on PostgreSQL
// 15, with two files at a time: it must pass 100%.
func TestRunCorpusSample(t *testing.T) {
	dsn := postgresDSN(t)
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	sum, out := mustRun(t, Options{DSN: dsn, Parallel: 2},
		filepath.Join(corpusDir, "evidence"), filepath.Join(corpusDir, "select1.test"))
	if !sum.OK() || sum.Passed != sum.Run || sum.Run != 33+1031 {
		t.Fatalf("corpus sample: %+v\n%s", sum.Counts, out)
	}
}

// wrongFile holds records that each fail in a different way, and one that
// passes (line 1). The failing lines are listed in wrongLines.
const wrongFile = `statement ok
CREATE TABLE t (a INT PRIMARY KEY)

statement count 2
INSERT INTO t VALUES (1), (2), (3)

query I rowsort
SELECT a FROM t
----
1
2
4

query I rowsort
SELECT a FROM t
----
3 values hashing to 00000000000000000000000000000000

statement ok
INSERT INTO t VALUES (1)

statement error
INSERT INTO t VALUES (4)

statement error 42P01
INSERT INTO t VALUES (1)

query II
SELECT a FROM t WHERE a = 1
----
1

query I nosort lbl
SELECT 1
----
1

query I nosort lbl
SELECT 2
----
2

query I
SELECT a FROM t WHERE a = 1
----
`

var wrongLines = []int{4, 7, 14, 19, 22, 25, 28, 38, 43}

func TestRunReportsWrongResults(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	path := writeTestFile(t, dir, "wrong.test", wrongFile)

	sum, out := mustRun(t, Options{DSN: dsn}, path)
	if sum.OK() {
		t.Fatalf("a file of wrong expectations passed:\n%s", out)
	}
	var lines []int
	for _, f := range sum.Files[0].Failures {
		lines = append(lines, f.Line)
		if f.ExpectedFailure {
			t.Errorf("line %d marked as an expected failure", f.Line)
		}
	}
	if !slices.Equal(lines, wrongLines) {
		t.Errorf("failed lines %v, want %v\n%s", lines, wrongLines, out)
	}
	if sum.Run != 11 || sum.Passed != 2 || sum.Failed != 9 {
		t.Errorf("counts %+v, want 11 run, 2 passed, 9 failed", sum.Counts)
	}
	for _, want := range []string{
		path + ":7: FAIL: wrong result",
		path + ":4: FAIL: wrong affected-row count",
		path + ":19: FAIL: statement failed: 23505 duplicate key",
		path + ":22: FAIL: succeeded, want an error",
		path + ":25: FAIL: wrong error",
		path + ":28: FAIL: wrong number of result columns: expected 2 but got 1",
		path + ":38: FAIL: labeled result [lbl] does not agree with previous values",
		"3 values hashing to c0710d6b4f15dfa88f600b0e6b624077", // actual hash of 1,2,3 shown
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The same run with the failures on an expected-failures list (plus
	// the passing line 1) passes, and line 1 is reported as unexpectedly
	// passing.
	var list strings.Builder
	list.WriteString("# test list\nwrong.test:1\n")
	for _, l := range wrongLines {
		list.WriteString("wrong.test:" + strconv.Itoa(l) + "\n")
	}
	ef, err := ParseExpectedFailures(strings.NewReader(list.String()))
	if err != nil {
		t.Fatal(err)
	}
	sum, out = mustRun(t, Options{DSN: dsn, ExpectedFailures: ef}, path)
	if !sum.OK() || sum.Failed != 0 || sum.ExpectedFailed != 9 || sum.UnexpectedlyPassed != 1 {
		t.Fatalf("with the list: %+v\n%s", sum.Counts, out)
	}
	if got := sum.Files[0].UnexpectedPasses; !slices.Equal(got, []int{1}) {
		t.Errorf("unexpected passes %v, want [1]", got)
	}
	if !strings.Contains(out, path+":1: unexpectedly passed") {
		t.Errorf("output does not list the unexpected pass:\n%s", out)
	}

	// Rewriting the list from a run gives exactly the failing lines.
	var buf bytes.Buffer
	if err := WriteExpectedFailures(&buf, sum); err != nil {
		t.Fatal(err)
	}
	rewritten, err := ParseExpectedFailures(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if rewritten.Len() != len(wrongLines) || rewritten.Contains(path, 1) || !rewritten.Contains(path, 43) {
		t.Errorf("rewritten list: %+v", rewritten)
	}

	// Reports parse as JSON and JUnit XML.
	buf.Reset()
	if err := WriteJSON(&buf, sum); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Run     int `json:"run"`
		Results []struct {
			Failures []struct {
				Line            int  `json:"line"`
				ExpectedFailure bool `json:"expected_failure"`
			} `json:"failures"`
		} `json:"results"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, buf.String())
	}
	if rep.Run != 11 || len(rep.Results) != 1 || len(rep.Results[0].Failures) != 9 || !rep.Results[0].Failures[0].ExpectedFailure {
		t.Errorf("JSON report: %+v", rep)
	}
	buf.Reset()
	if err := WriteJUnit(&buf, sum); err != nil {
		t.Fatal(err)
	}
	var ju junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &ju); err != nil {
		t.Fatalf("JUnit report: %v\n%s", err, buf.String())
	}
	if ju.Failures != 0 || ju.Skipped != 9 || ju.Tests != 10 {
		t.Errorf("JUnit counts: tests %d failures %d skipped %d, want 10, 0, 9", ju.Tests, ju.Failures, ju.Skipped)
	}
}

func TestRunFailFastAndTimeout(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	slow := writeTestFile(t, dir, "slow.test", "statement error\nSELECT pg_sleep(5)\n\nquery I\nSELECT 1\n----\n1\n")
	a := writeTestFile(t, dir, "a.test", "query I\nSELECT 1\n----\n1\n\nquery I\nSELECT 2\n----\n1\n\nquery I\nSELECT 3\n----\n3\n")
	b := writeTestFile(t, dir, "b.test", "query I\nSELECT 1\n----\n1\n")

	// A timed-out statement fails, even one that expects an error; the
	// session survives for the next record.
	start := time.Now()
	sum, out := mustRun(t, Options{DSN: dsn, Timeout: 300 * time.Millisecond}, slow)
	if time.Since(start) > 4*time.Second {
		t.Errorf("a 300ms timeout took %s", time.Since(start))
	}
	if sum.Run != 2 || sum.Failed != 1 || !strings.Contains(out, "timed out after 300ms") {
		t.Errorf("timeout run: %+v\n%s", sum.Counts, out)
	}

	// Fail-fast stops at the first failure and runs no further file.
	sum, out = mustRun(t, Options{DSN: dsn, FailFast: true}, a, b)
	if sum.Run != 2 || sum.Failed != 1 || len(sum.Files) != 1 {
		t.Errorf("fail-fast run: %d files, %+v\n%s", len(sum.Files), sum.Counts, out)
	}
}

// TestRunIsolation runs two files that create the same table at once:
// each has its own database, and the databases are gone afterwards.
func TestRunIsolation(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	text := "statement ok\nCREATE TABLE same (a INT)\n\nstatement ok\nINSERT INTO same VALUES (1)\n\nquery I\nSELECT count(*) FROM same\n----\n1\n"
	var paths []string
	for _, n := range []string{"x.test", "y.test", "z.test"} {
		paths = append(paths, writeTestFile(t, dir, n, text))
	}
	sum, out := mustRun(t, Options{DSN: dsn, Parallel: 2}, dir)
	if !sum.OK() || sum.Run != 9 || sum.Passed != 9 {
		t.Fatalf("isolated run: %+v\n%s", sum.Counts, out)
	}
	if got := []string{sum.Files[0].Path, sum.Files[1].Path, sum.Files[2].Path}; !slices.Equal(got, paths) {
		t.Errorf("files %v, want %v in order", got, paths)
	}
	ctx := runCtx(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'slt\\_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d slt_ databases left behind", n)
	}
}

// TestRunFallbacks uses roles without the right to create databases (and
// schemas) to check the fallbacks: a fresh schema, then the database as
// is (only when files run one at a time).
func TestRunFallbacks(t *testing.T) {
	postgresDSN(t)
	pgExec(t, "postgres",
		"DROP DATABASE IF EXISTS asis", "DROP ROLE IF EXISTS noschema", "DROP ROLE IF EXISTS nodb",
		"CREATE ROLE nodb LOGIN", "GRANT CREATE ON DATABASE postgres TO nodb",
		"CREATE ROLE noschema LOGIN", "CREATE DATABASE asis OWNER noschema",
		"REVOKE CREATE ON DATABASE asis FROM noschema")
	dir := t.TempDir()
	text := "statement ok\nCREATE TABLE fb (a INT)\n\nconnection other\nstatement count 1\nINSERT INTO fb VALUES (1)\n\nquery T\nSELECT current_schema()\n----\n"
	f1 := writeTestFile(t, dir, "f1.test", text+"slt\n")

	// Schema fallback: the table lands in slt_<pid>_<n>, for every
	// session; the schema is dropped afterwards.
	sum, out := mustRun(t, Options{DSN: dsnFor("nodb", "postgres")}, f1)
	if sum.Passed != 2 || sum.Failed != 1 || !strings.Contains(out, "slt_") {
		t.Fatalf("schema fallback: %+v\n%s", sum.Counts, out)
	}
	// (The current_schema record fails only because its name carries the
	// process id; check it starts with slt_.)
	if got := sum.Files[0].Failures[0].Actual[0]; !strings.HasPrefix(got, "slt_") {
		t.Errorf("current_schema() = %q, want slt_...", got)
	}

	// No database, no schema: run in the given database, with a warning.
	f2 := writeTestFile(t, dir, "f2.test", text+"public\n")
	sum, out = mustRun(t, Options{DSN: dsnFor("noschema", "asis")}, f2)
	if !sum.OK() || sum.Passed != 3 || !strings.Contains(out, "warning: cannot create a database") {
		t.Fatalf("no isolation: %+v\n%s", sum.Counts, out)
	}
	// ... but not with files in parallel.
	sum, out = mustRun(t, Options{DSN: dsnFor("noschema", "asis"), Parallel: 2}, f2)
	if sum.OK() || sum.FileErrors != 1 || !strings.Contains(out, "needs isolation") {
		t.Fatalf("no isolation in parallel: %+v\n%s", sum.Counts, out)
	}
}

func TestRunNoServer(t *testing.T) {
	dir := t.TempDir()
	p := writeTestFile(t, dir, "a.test", "statement ok\nSELECT 1\n")
	_, err := Run(runCtx(t), Options{DSN: "postgres://x@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"}, p)
	if err == nil || !strings.Contains(err.Error(), "connecting to the server") {
		t.Errorf("Run against no server: %v", err)
	}
	if _, err := Run(runCtx(t), Options{}, dir+"/none"); err == nil {
		t.Error("Run of a missing path succeeded")
	}
}
