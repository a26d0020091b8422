package sqltests

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardsql/shardsql/sqltests/logictest"
)

// corpusDir is the shared sqllogictest corpus beside the repository; every
// file in it passes 100% on PostgreSQL 15.
const corpusDir = "../../shared/sqllogictest"

// runLogicFiles runs each file against a fresh demo cluster and fails on
// any record that fails unexpectedly.
func runLogicFiles(t *testing.T, root string, files []string, expected *logictest.ExpectedFailures) logictest.Counts {
	var total logictest.Counts
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			// A fresh cluster per file: every file starts empty, as the
			// runner's fresh database would give on PostgreSQL.
			d := startDemo(t, "--in-memory")
			host, port, _ := net.SplitHostPort(d.sqlAddr)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sum, err := logictest.Run(ctx, logictest.Options{
				DSN:              "postgres://root@" + host + ":" + port + "/postgres?sslmode=disable",
				EngineLabel:      "postgresql", // the files pass on PostgreSQL 15 too
				Timeout:          30 * time.Second,
				ExpectedFailures: expected,
				Out:              &out,
			}, f)
			if err != nil {
				t.Fatalf("running %s: %v\n%s", rel, err, out.String())
			}
			total.Run += sum.Run
			total.Passed += sum.Passed
			total.Failed += sum.Failed
			total.Skipped += sum.Skipped
			t.Logf("%s: %d run, %d passed, %d failed, %d expected failures, %d skipped in %v",
				rel, sum.Run, sum.Passed, sum.Failed, sum.ExpectedFailed, sum.Skipped, sum.Duration.Round(time.Millisecond))
			if !sum.OK() {
				t.Errorf("%s: %d records failed that are not on the expected-failures list:\n%s", rel, sum.Failed, tail(out.String(), 8000))
			}
			if sum.Run == 0 {
				t.Errorf("%s: no record ran", rel)
			}
		})
	}
	return total
}

// TestLogicTestdata runs our own sqllogictest files (sqltests/testdata:
// transactions, isolation anomalies with interleaved sessions, the
// runner's format and extension checks); they pass on PostgreSQL 15 too.
func TestLogicTestdata(t *testing.T) {
	files, err := logictest.CollectFiles("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d test files", len(files))
	}
	runLogicFiles(t, "testdata", files, nil)
}

// TestCorpus runs every file of the corpus, each against a fresh demo
// cluster, and fails on any record that is not on the checked-in
// expected-failures list (sqltests/corpus-expected-failures.txt, which
// should stay empty).
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("the corpus takes about a minute")
	}
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatalf("the sqllogictest corpus is missing (%v): it lives in ../shared beside the repository", err)
	}
	expected, err := logictest.LoadExpectedFailures("corpus-expected-failures.txt")
	if err != nil {
		t.Fatal(err)
	}
	files, err := logictest.CollectFiles(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found only %d corpus files", len(files))
	}
	total := runLogicFiles(t, corpusDir, files, expected)
	t.Logf("corpus: %d run, %d passed, %d failed, %d skipped", total.Run, total.Passed, total.Failed, total.Skipped)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
