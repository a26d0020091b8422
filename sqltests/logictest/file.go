package logictest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// defaultSession is the name of the session records run on unless a
// connection line names another.
const defaultSession = "default"

// fileRun is the state of one file being run: its sessions, hash
// threshold and labels, and its buffered output.
type fileRun struct {
	r        *runner
	res      *FileResult
	sb       *sandbox
	track    *tracker
	sessions map[string]*session
	// threshold is the current hash threshold.
	threshold int
	// labels maps a query label to the hash of its first result.
	labels map[string]string
	out    bytes.Buffer
}

// flush writes the buffered output. With one file at a time output goes
// out as it comes; with several, a file's output is written when it ends
// so files do not interleave.
func (fr *fileRun) flush() {
	if fr.out.Len() == 0 {
		return
	}
	fr.r.prog.write(fr.r.opts.Out, fr.out.Bytes())
	fr.out.Reset()
}

func (fr *fileRun) flushIfSerial() {
	if fr.r.opts.Parallel == 1 {
		fr.flush()
	}
}

// run executes the records in order.
func (fr *fileRun) run(ctx context.Context, recs []Record) {
	opts := fr.r.opts
	res := fr.res
	fr.threshold = defaultHashThreshold
	if opts.HashThreshold > 0 {
		fr.threshold = opts.HashThreshold
	}
	fr.labels = map[string]string{}
	for i := range recs {
		rec := &recs[i]
		if err := ctx.Err(); err != nil {
			res.Err = fmt.Errorf("stopped at line %d: %w", rec.Line, err)
			return
		}
		testRecord := rec.Kind == KindStatement || rec.Kind == KindQuery
		if rec.Skipped(opts.EngineLabel) {
			if testRecord {
				res.Skipped++
				fr.track.done.Add(1)
				fr.verbose(rec, "skipped")
			}
			// Like SQLite's runner, a skipped labeled query still
			// contributes its expected hash to the label.
			if rec.Kind == KindQuery && rec.Label != "" && !rec.ExpectError {
				if _, ok := fr.labels[rec.Label]; !ok {
					fr.labels[rec.Label] = expectedHash(rec.Expected)
				}
			}
			continue
		}
		switch rec.Kind {
		case KindHashThreshold:
			if opts.HashThreshold == 0 {
				fr.threshold = rec.Threshold
			}
			continue
		case KindHalt:
			res.Halted = true
			fr.verbose(rec, "halt")
			return
		}
		f := fr.runRecord(ctx, rec)
		if f != nil && ctx.Err() != nil {
			// The run was stopped (fail-fast elsewhere, or the caller):
			// the record did not fail on its own.
			res.Err = fmt.Errorf("stopped at line %d: %w", rec.Line, ctx.Err())
			return
		}
		fr.track.done.Add(1)
		res.Run++
		expected := opts.ExpectedFailures.Contains(res.Path, rec.Line)
		if f == nil {
			res.Passed++
			if expected {
				res.UnexpectedlyPassed++
				res.UnexpectedPasses = append(res.UnexpectedPasses, rec.Line)
			}
			fr.verbose(rec, "ok")
			continue
		}
		f.Line, f.SQL, f.ExpectedFailure = rec.Line, rec.SQL, expected
		res.Failures = append(res.Failures, f)
		if expected {
			res.ExpectedFailed++
		} else {
			res.Failed++
		}
		if opts.Verbose || !expected {
			writeFailure(&fr.out, res.Path, f)
			fr.flushIfSerial()
		}
		if opts.FailFast && !expected {
			fr.r.cancel()
			return
		}
	}
}

// verbose prints a record's outcome in verbose mode.
func (fr *fileRun) verbose(rec *Record, outcome string) {
	if !fr.r.opts.Verbose {
		return
	}
	fmt.Fprintf(&fr.out, "%s:%d: %s: %s\n", fr.res.Path, rec.Line, rec.header(), outcome)
	if rec.SQL != "" {
		for _, l := range strings.Split(rec.SQL, "\n") {
			fmt.Fprintf(&fr.out, "    %s\n", l)
		}
	}
	fr.flushIfSerial()
}

// header renders the record's keyword line.
func (r *Record) header() string {
	var b strings.Builder
	if r.Connection != "" {
		fmt.Fprintf(&b, "[%s] ", r.Connection)
	}
	b.WriteString(r.Kind.String())
	switch {
	case r.Kind == KindStatement && r.ExpectError:
		b.WriteString(" error")
	case r.Kind == KindStatement && r.ExpectCount:
		fmt.Fprintf(&b, " count %d", r.Count)
	case r.Kind == KindStatement:
		b.WriteString(" ok")
	case r.Kind == KindQuery && r.ExpectError:
		b.WriteString(" error")
	case r.Kind == KindQuery:
		fmt.Fprintf(&b, " %s %s", r.Types, r.Sort)
		if r.Label != "" {
			b.WriteString(" " + r.Label)
		}
	}
	return b.String()
}

// session returns the named session, connecting it on first use (or
// again after its connection broke).
func (fr *fileRun) session(ctx context.Context, name string) (*session, error) {
	if name == "" {
		name = defaultSession
	}
	if s := fr.sessions[name]; s != nil {
		if !s.broken() {
			return s, nil
		}
		s.close()
		delete(fr.sessions, name)
	}
	ctx, cancel := context.WithTimeout(ctx, fr.r.opts.Timeout)
	defer cancel()
	s, err := connect(ctx, fr.sb.cfg, fr.sb.setup)
	if err != nil {
		return nil, err
	}
	if fr.sessions == nil {
		fr.sessions = map[string]*session{}
	}
	fr.sessions[name] = s
	return s, nil
}

func (fr *fileRun) closeSessions() {
	for name, s := range fr.sessions {
		s.close()
		delete(fr.sessions, name)
	}
}

// runRecord runs a statement or query record and returns its failure, or
// nil if it passed.
func (fr *fileRun) runRecord(ctx context.Context, rec *Record) *Failure {
	s, err := fr.session(ctx, rec.Connection)
	if err != nil {
		return &Failure{Message: "connecting: " + errorText(err)}
	}
	rctx, cancel := context.WithTimeout(ctx, fr.r.opts.Timeout)
	defer cancel()
	if rec.Kind == KindStatement {
		tag, err := s.exec(rctx, rec.SQL)
		if f := fr.timedOut(rctx, err); f != nil {
			return f
		}
		if rec.ExpectError {
			return checkError(rec, err)
		}
		if err != nil {
			return &Failure{Message: "statement failed: " + errorText(err)}
		}
		if rec.ExpectCount && tag.RowsAffected() != rec.Count {
			return &Failure{
				Message:  "wrong affected-row count",
				Expected: []string{fmt.Sprint(rec.Count)},
				Actual:   []string{fmt.Sprintf("%d (command tag %q)", tag.RowsAffected(), tag.String())},
			}
		}
		return nil
	}
	qr, err := s.query(rctx, rec.SQL, rec.Types)
	if f := fr.timedOut(rctx, err); f != nil {
		return f
	}
	if rec.ExpectError {
		return checkError(rec, err)
	}
	if err != nil {
		return &Failure{Message: "query failed: " + errorText(err)}
	}
	return fr.checkResult(rec, qr)
}

// timedOut returns the failure of a record that ran out of time, even
// one that expects an error: a timeout is never the error a test means.
func (fr *fileRun) timedOut(rctx context.Context, err error) *Failure {
	if err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return &Failure{Message: fmt.Sprintf("timed out after %s: %s", fr.r.opts.Timeout, errorText(err))}
	}
	return nil
}

// checkError checks the outcome of a record that expects an error.
func checkError(rec *Record, err error) *Failure {
	want := "an error"
	if rec.ErrorPattern != nil {
		want = "an error matching " + rec.ErrorPattern.String()
	}
	if err == nil {
		return &Failure{Message: "succeeded, want " + want, Expected: []string{want}, Actual: []string{"success"}}
	}
	if rec.ErrorPattern != nil && !rec.ErrorPattern.MatchString(errorText(err)) {
		return &Failure{Message: "wrong error", Expected: []string{want}, Actual: []string{errorText(err)}}
	}
	return nil
}

// checkResult sorts, hashes and compares a query's result.
func (fr *fileRun) checkResult(rec *Record, qr queryResult) *Failure {
	if qr.ncol != len(rec.Types) {
		return &Failure{Message: fmt.Sprintf("wrong number of result columns: expected %d but got %d", len(rec.Types), qr.ncol),
			Expected: rec.Expected, Actual: qr.vals}
	}
	vals := qr.vals
	sortValues(vals, qr.ncol, rec.Sort)
	var msgs []string
	if rec.Label != "" {
		h := hashValues(vals)
		if prev, ok := fr.labels[rec.Label]; !ok {
			fr.labels[rec.Label] = h
		} else if prev != h {
			msgs = append(msgs, fmt.Sprintf("labeled result [%s] does not agree with previous values", rec.Label))
		}
	}
	ok := matchResults(vals, rec.Expected)
	if !ok {
		msgs = append(msgs, "wrong result")
	}
	if len(msgs) == 0 {
		return nil
	}
	actual := vals
	if _, _, isHash := parseHashLine(rec.Expected); isHash || shouldHash(fr.threshold, len(vals)) {
		actual = append([]string{hashLine(vals), "-- values:"}, vals...)
	}
	return &Failure{Message: strings.Join(msgs, "; "), Expected: rec.Expected, Actual: actual}
}
