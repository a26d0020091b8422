package logictest

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary is the outcome of a Run.
type Summary struct {
	// Files holds one result per file, in the order the files were given
	// (directories expanded and sorted).
	Files []*FileResult
	// Totals over Files.
	Counts
	// Duration is the wall time of the whole run.
	Duration time.Duration
}

// Counts are the record counts of a file or a run. Only statement and
// query records count.
type Counts struct {
	// Run is the number of records executed.
	Run int `json:"run"`
	// Passed is the number of executed records that passed.
	Passed int `json:"passed"`
	// Failed is the number that failed and were not expected to.
	Failed int `json:"failed"`
	// ExpectedFailed is the number that failed as the expected-failures
	// list said they would.
	ExpectedFailed int `json:"expected_failed"`
	// UnexpectedlyPassed is the number on the expected-failures list that
	// passed (counted in Passed as well; not a failure).
	UnexpectedlyPassed int `json:"unexpectedly_passed"`
	// Skipped is the number skipped by skipif or onlyif.
	Skipped int `json:"skipped"`
	// FileErrors is the number of files that could not be parsed or set
	// up (counted for a run; 0 or 1 for a file).
	FileErrors int `json:"file_errors"`
}

func (c *Counts) add(o Counts) {
	c.Run += o.Run
	c.Passed += o.Passed
	c.Failed += o.Failed
	c.ExpectedFailed += o.ExpectedFailed
	c.UnexpectedlyPassed += o.UnexpectedlyPassed
	c.Skipped += o.Skipped
	c.FileErrors += o.FileErrors
}

// FileResult is the outcome of one file.
type FileResult struct {
	// Path is the file's path as given or found by walking a directory.
	Path string
	// Records is the number of statement and query records in the file.
	Records int
	// Counts are this file's record counts.
	Counts
	// Failures lists the records that failed, expected failures included
	// (with Expected set).
	Failures []*Failure
	// UnexpectedPasses lists the lines of records on the expected-failures
	// list that passed.
	UnexpectedPasses []int
	// Err is set when the file could not be parsed or set up, or the run
	// stopped inside it.
	Err error
	// Halted is set when a halt record stopped the file.
	Halted bool
	// Warning is a note about the file's setup (e.g. no isolation).
	Warning string
	// Duration is the file's wall time.
	Duration time.Duration
}

// Failure describes one failed record.
type Failure struct {
	// Line is the record's line.
	Line int
	// SQL is the record's SQL.
	SQL string
	// Message says what went wrong, e.g. "wrong result" or the error.
	Message string
	// Expected are the record's expected result lines (or outcome).
	Expected []string
	// Actual are the actual result lines (or outcome). When the result
	// was hashed (by the threshold, or because Expected is a hash line)
	// they are the hash line, a "-- values:" line, then the values.
	Actual []string
	// ExpectedFailure is set when the record was on the expected-failures
	// list.
	ExpectedFailure bool
}

// OK reports whether the run had no failures other than expected ones.
func (s *Summary) OK() bool {
	return s.Failed == 0 && s.FileErrors == 0
}

// maxShownLines is how many lines of SQL, expected and actual results a
// failure report shows.
const maxShownLines = 20

// writeFailure prints one failure in the text report.
func writeFailure(w io.Writer, path string, f *Failure) {
	tag := "FAIL"
	if f.ExpectedFailure {
		tag = "expected failure"
	}
	fmt.Fprintf(w, "%s:%d: %s: %s\n", path, f.Line, tag, f.Message)
	writeBlock(w, "sql", strings.Split(f.SQL, "\n"))
	if f.Expected != nil || f.Actual != nil {
		writeBlock(w, "expected", f.Expected)
		writeBlock(w, "actual", f.Actual)
	}
}

func writeBlock(w io.Writer, title string, lines []string) {
	fmt.Fprintf(w, "  %s:\n", title)
	if len(lines) == 0 {
		fmt.Fprintf(w, "    (nothing)\n")
	}
	for i, l := range lines {
		if i == maxShownLines {
			fmt.Fprintf(w, "    ... (%d more lines)\n", len(lines)-i)
			break
		}
		fmt.Fprintf(w, "    %s\n", l)
	}
}

// writeFileSummary prints a file's one-line summary.
func writeFileSummary(w io.Writer, f *FileResult) {
	fmt.Fprintf(w, "%s: %s, %s\n", f.Path, f.Counts.text(), f.Duration.Round(time.Millisecond))
	if f.Warning != "" {
		fmt.Fprintf(w, "%s: warning: %s\n", f.Path, f.Warning)
	}
	if f.Halted {
		fmt.Fprintf(w, "%s: halted\n", f.Path)
	}
	if f.Err != nil {
		fmt.Fprintf(w, "%s: error: %v\n", f.Path, f.Err)
	}
	for _, l := range f.UnexpectedPasses {
		fmt.Fprintf(w, "%s:%d: unexpectedly passed (on the expected-failures list)\n", f.Path, l)
	}
}

func (c Counts) text() string {
	s := fmt.Sprintf("%d run, %d passed, %d failed, %d skipped", c.Run, c.Passed, c.Failed, c.Skipped)
	if c.ExpectedFailed > 0 {
		s += fmt.Sprintf(", %d expected failures", c.ExpectedFailed)
	}
	if c.UnexpectedlyPassed > 0 {
		s += fmt.Sprintf(", %d unexpectedly passed", c.UnexpectedlyPassed)
	}
	if c.FileErrors > 0 {
		s += fmt.Sprintf(", %d file errors", c.FileErrors)
	}
	return s
}

// WriteText prints the overall summary line of a run.
func (s *Summary) WriteText(w io.Writer) {
	pct := 100.0
	if s.Run > 0 {
		pct = 100 * float64(s.Passed) / float64(s.Run)
	}
	fmt.Fprintf(w, "total: %d files, %s (%.2f%% passed), %s\n",
		len(s.Files), s.Counts.text(), pct, s.Duration.Round(time.Millisecond))
}
