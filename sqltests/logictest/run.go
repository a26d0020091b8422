package logictest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Options configure a Run.
type Options struct {
	// DSN is a libpq-style connection string (URL or key=value) for the
	// server under test.
	DSN string
	// EngineLabel is the engine name skipif and onlyif lines match,
	// case-insensitively (default "postgresql").
	EngineLabel string
	// HashThreshold, when positive, overrides every file's hash-threshold
	// records; 0 uses the files' values (default 8).
	HashThreshold int
	// FailFast stops the run at the first record that fails unexpectedly.
	FailFast bool
	// Verbose prints every record and its outcome.
	Verbose bool
	// Parallel is how many files run at once (default 1).
	Parallel int
	// Timeout bounds each statement and query (default 30s).
	Timeout time.Duration
	// ExpectedFailures lists records expected to fail; may be nil.
	ExpectedFailures *ExpectedFailures
	// Out receives per-file summaries and failures (default: discarded).
	Out io.Writer
	// Progress, when not nil, receives a progress report every
	// ProgressInterval (default 2s) while files run.
	Progress io.Writer
	// ProgressTTY says Progress is a terminal: the report is one line
	// redrawn in place.
	ProgressTTY bool
	// ProgressInterval is the time between progress reports.
	ProgressInterval time.Duration
}

// Run runs the sqllogictest files in paths (directories are walked for
// *.test files) against the server opts.DSN names, each file in a fresh
// database or schema, and returns the summary. The error is for a run
// that could not start (bad options, no files, unreachable server); record
// failures are in the summary (see Summary.OK).
func Run(ctx context.Context, opts Options, paths ...string) (*Summary, error) {
	files, err := CollectFiles(paths...)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no test files found")
	}
	if opts.EngineLabel == "" {
		opts.EngineLabel = "postgresql"
	}
	if opts.Parallel < 1 {
		opts.Parallel = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.HashThreshold < 0 {
		return nil, errors.New("hash threshold must not be negative")
	}
	cfg, err := connConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("bad DSN: %w", err)
	}
	start := time.Now()
	r := &runner{opts: opts, iso: newIsolator(cfg, opts.Parallel), prog: newProgress(opts.Progress, opts.ProgressTTY, opts.ProgressInterval)}
	defer r.iso.close()
	pingCtx, cancelPing := context.WithTimeout(ctx, opts.Timeout)
	err = r.iso.ping(pingCtx)
	cancelPing()
	if err != nil {
		return nil, fmt.Errorf("connecting to the server: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel
	var progWG sync.WaitGroup
	if opts.Progress != nil {
		progCtx, stopProg := context.WithCancel(ctx)
		progWG.Go(func() { r.prog.loop(progCtx) })
		defer func() { stopProg(); progWG.Wait() }()
	}

	results := make([]*FileResult, len(files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range opts.Parallel {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() == nil {
					results[i] = r.runFile(ctx, files[i])
				}
			}
		})
	}
feed:
	for i := range files {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()

	sum := &Summary{}
	for _, res := range results {
		if res != nil {
			sum.Files = append(sum.Files, res)
			sum.add(res.Counts)
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// runner holds what all files of a run share.
type runner struct {
	opts   Options
	iso    *isolator
	prog   *progress
	cancel context.CancelFunc // stops the run (fail-fast)
}

// runFile runs one file in a fresh sandbox and prints its report.
func (r *runner) runFile(ctx context.Context, path string) *FileResult {
	res := &FileResult{Path: path}
	start := time.Now()
	fr := &fileRun{r: r, res: res}
	defer func() {
		res.Duration = time.Since(start)
		writeFileSummary(&fr.out, res)
		fr.flush()
	}()
	recs, err := ParseFile(path)
	if err != nil {
		res.Err, res.FileErrors = err, 1
		return res
	}
	for i := range recs {
		if recs[i].Kind == KindStatement || recs[i].Kind == KindQuery {
			res.Records++
		}
	}
	sb, err := r.iso.create(ctx)
	if err != nil {
		res.Err, res.FileErrors = fmt.Errorf("setting up: %w", err), 1
		return res
	}
	res.Warning = sb.warning
	fr.sb = sb
	defer func() {
		fr.closeSessions()
		if err := r.iso.drop(sb); err != nil {
			fmt.Fprintf(&fr.out, "%s: warning: dropping %s: %s\n", path, sb.name, errorText(err))
		}
	}()
	fr.track = r.prog.track(path, res.Records)
	defer r.prog.untrack(fr.track)
	fr.run(ctx, recs)
	return res
}
