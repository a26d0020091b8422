// Command sqllogic runs sqllogictest files against any server that speaks
// the PostgreSQL wire protocol (ShardSQL, PostgreSQL, ...):
//
//	sqllogic [flags] FILE_OR_DIR...
//
// Directories are walked for *.test files. Each file runs in a fresh
// database (or schema) created through the --dsn connection. The exit
// code is 0 when every record passed (expected failures aside), 1 when
// any failed or the run could not start, and 2 on usage errors.
//
// It is a thin main over package logictest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shardsql/shardsql/sqltests/logictest"
)

const defaultDSN = "postgres://root@127.0.0.1:5433/postgres?sslmode=disable"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sqllogic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sqllogic [flags] FILE_OR_DIR...\n\nRuns sqllogictest files against a PostgreSQL-wire server.\n\nflags:\n")
		fs.PrintDefaults()
	}
	var (
		dsn         = fs.String("dsn", defaultDSN, "libpq-style connection string (URL or key=value) of the server under test")
		engine      = fs.String("engine-label", "postgresql", "engine name that skipif/onlyif lines match (case-insensitive)")
		threshold   = fs.Int("hash-threshold", 0, "hash results of more than N values, overriding the files' hash-threshold (0 = use the files')")
		failFast    = fs.Bool("fail-fast", false, "stop at the first unexpected failure")
		verbose     = fs.Bool("verbose", false, "print every record and its outcome")
		parallel    = fs.Int("parallel", 1, "number of files to run at once, each in its own database")
		report      = fs.String("report", "", "also write a report: json or junit (see --report-file)")
		reportFile  = fs.String("report-file", "", "where to write the --report (default: stdout)")
		expected    = fs.String("expected-failures", "", "file listing records expected to fail (path:line a line, # comments)")
		writeExpect = fs.String("write-expected-failures", "", "rewrite this file with the records that failed in this run")
		timeout     = fs.Duration("timeout", 30*time.Second, "timeout of each statement and query")
		progress    = fs.Bool("progress", false, "print progress to stderr every 2s even when stderr is not a terminal")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sqllogic: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() == 0:
		return usage("no test files or directories given")
	case *report != "" && *report != "json" && *report != "junit":
		return usage("--report must be json or junit, not %q", *report)
	case *reportFile != "" && *report == "":
		return usage("--report-file needs --report")
	case *parallel < 1:
		return usage("--parallel must be at least 1")
	case *threshold < 0:
		return usage("--hash-threshold must not be negative")
	case *timeout <= 0:
		return usage("--timeout must be positive")
	}
	for _, p := range fs.Args() {
		if _, err := os.Stat(p); err != nil {
			return usage("%v", err)
		}
	}

	opts := logictest.Options{
		DSN:           *dsn,
		EngineLabel:   *engine,
		HashThreshold: *threshold,
		FailFast:      *failFast,
		Verbose:       *verbose,
		Parallel:      *parallel,
		Timeout:       *timeout,
		Out:           stdout,
	}
	if *expected != "" {
		ef, err := logictest.LoadExpectedFailures(*expected)
		if err != nil {
			return usage("%v", err)
		}
		opts.ExpectedFailures = ef
	}
	tty := isTerminal(stderr)
	if tty || *progress {
		opts.Progress, opts.ProgressTTY = stderr, tty
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := logictest.Run(ctx, opts, fs.Args()...)
	if err != nil {
		fmt.Fprintf(stderr, "sqllogic: %v\n", err)
		return 1
	}
	sum.WriteText(stdout)

	code := 0
	if !sum.OK() || ctx.Err() != nil {
		code = 1
	}
	if *report != "" {
		if err := writeReport(*report, *reportFile, stdout, sum); err != nil {
			fmt.Fprintf(stderr, "sqllogic: writing report: %v\n", err)
			code = 1
		}
	}
	if *writeExpect != "" {
		if err := writeFile(*writeExpect, func(w io.Writer) error { return logictest.WriteExpectedFailures(w, sum) }); err != nil {
			fmt.Fprintf(stderr, "sqllogic: writing expected failures: %v\n", err)
			code = 1
		}
	}
	return code
}

func writeReport(kind, path string, stdout io.Writer, sum *logictest.Summary) error {
	write := func(w io.Writer) error {
		if kind == "json" {
			return logictest.WriteJSON(w, sum)
		}
		return logictest.WriteJUnit(w, sum)
	}
	if path == "" {
		return write(stdout)
	}
	return writeFile(path, write)
}

// writeFile writes path through a temporary file and a rename, so a
// failed write leaves the old contents.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
