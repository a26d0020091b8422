package logictest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// jsonReport is the shape of the JSON report.
type jsonReport struct {
	Counts
	Files           int        `json:"files"`
	DurationSeconds float64    `json:"duration_seconds"`
	PassRate        float64    `json:"pass_rate"`
	Results         []jsonFile `json:"results"`
}

type jsonFile struct {
	Path string `json:"path"`
	Counts
	Records          int           `json:"records"`
	DurationSeconds  float64       `json:"duration_seconds"`
	Halted           bool          `json:"halted,omitempty"`
	Error            string        `json:"error,omitempty"`
	Warning          string        `json:"warning,omitempty"`
	Failures         []jsonFailure `json:"failures,omitempty"`
	UnexpectedPasses []int         `json:"unexpectedly_passed_lines,omitempty"`
}

type jsonFailure struct {
	Line            int      `json:"line"`
	SQL             string   `json:"sql"`
	Message         string   `json:"message"`
	Expected        []string `json:"expected"`
	Actual          []string `json:"actual"`
	ExpectedFailure bool     `json:"expected_failure,omitempty"`
}

// WriteJSON writes the summary as one JSON document: overall counts, then
// per file its counts, failures (with SQL, expected and actual lines) and
// unexpectedly passing lines.
func WriteJSON(w io.Writer, s *Summary) error {
	rep := jsonReport{Counts: s.Counts, Files: len(s.Files), DurationSeconds: s.Duration.Seconds(), PassRate: passRate(s.Counts)}
	for _, f := range s.Files {
		jf := jsonFile{Path: f.Path, Counts: f.Counts, Records: f.Records, DurationSeconds: f.Duration.Seconds(),
			Halted: f.Halted, Warning: f.Warning, UnexpectedPasses: f.UnexpectedPasses}
		if f.Err != nil {
			jf.Error = f.Err.Error()
		}
		for _, fl := range f.Failures {
			jf.Failures = append(jf.Failures, jsonFailure{Line: fl.Line, SQL: fl.SQL, Message: fl.Message,
				Expected: fl.Expected, Actual: fl.Actual, ExpectedFailure: fl.ExpectedFailure})
		}
		rep.Results = append(rep.Results, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func passRate(c Counts) float64 {
	if c.Run == 0 {
		return 0
	}
	return float64(c.Passed) / float64(c.Run)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the summary as JUnit XML: a test suite per file; in
// it a test case per failed record (expected failures as skipped cases),
// one case standing for all the file's passing records, and an error case
// if the file could not be run. Tens of thousands of passing records thus
// do not swamp CI displays.
func WriteJUnit(w io.Writer, s *Summary) error {
	root := junitSuites{Time: secs(s.Duration.Seconds())}
	for _, f := range s.Files {
		suite := junitSuite{Name: f.Path, Time: secs(f.Duration.Seconds())}
		if f.Passed > 0 {
			suite.Cases = append(suite.Cases, junitCase{Name: fmt.Sprintf("%d passing records", f.Passed), Classname: f.Path})
		}
		for _, fl := range f.Failures {
			c := junitCase{Name: fmt.Sprintf("%s:%d", f.Path, fl.Line), Classname: f.Path}
			var b strings.Builder
			writeFailure(&b, f.Path, fl)
			msg := &junitMessage{Message: fl.Message, Text: b.String()}
			if fl.ExpectedFailure {
				msg.Message = "expected failure: " + fl.Message
				c.Skipped = msg
				suite.Skipped++
			} else {
				c.Failure = msg
				suite.Failures++
			}
			suite.Cases = append(suite.Cases, c)
		}
		if f.Err != nil {
			suite.Errors++
			suite.Cases = append(suite.Cases, junitCase{Name: f.Path, Classname: f.Path,
				Error: &junitMessage{Message: f.Err.Error(), Text: f.Err.Error()}})
		}
		suite.Tests = len(suite.Cases)
		root.Tests += suite.Tests
		root.Failures += suite.Failures
		root.Errors += suite.Errors
		root.Skipped += suite.Skipped
		root.Suites = append(root.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(f float64) string { return fmt.Sprintf("%.3f", f) }
