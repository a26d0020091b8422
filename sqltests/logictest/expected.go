package logictest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ExpectedFailures is a checked-in list of records expected to fail, one
// "path:line" a line, '#' starting a comment. A record matches an entry
// when the lines are equal and the entry's path equals the record's file
// path or is a suffix of it at a '/' boundary, so a list written relative
// to one directory still matches a run given absolute paths.
type ExpectedFailures struct {
	byLine map[int][]string
	n      int
}

// LoadExpectedFailures reads an expected-failures file.
func LoadExpectedFailures(path string) (*ExpectedFailures, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ef, err := ParseExpectedFailures(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ef, nil
}

// ParseExpectedFailures parses the text of an expected-failures file.
func ParseExpectedFailures(r io.Reader) (*ExpectedFailures, error) {
	ef := &ExpectedFailures{byLine: map[int][]string{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		i := strings.LastIndexByte(s, ':')
		if i <= 0 {
			return nil, fmt.Errorf("line %d: want path:line, got %q", n, s)
		}
		ln, err := strconv.Atoi(s[i+1:])
		if err != nil || ln <= 0 {
			return nil, fmt.Errorf("line %d: bad line number in %q", n, s)
		}
		ef.Add(s[:i], ln)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ef, nil
}

// Add adds the record at path:line to the list.
func (ef *ExpectedFailures) Add(path string, line int) {
	if ef.byLine == nil {
		ef.byLine = map[int][]string{}
	}
	ef.byLine[line] = append(ef.byLine[line], cleanPath(path))
	ef.n++
}

// Len returns the number of entries.
func (ef *ExpectedFailures) Len() int {
	if ef == nil {
		return 0
	}
	return ef.n
}

// Contains reports whether the record at path:line is expected to fail.
func (ef *ExpectedFailures) Contains(path string, line int) bool {
	if ef == nil {
		return false
	}
	p := cleanPath(path)
	for _, e := range ef.byLine[line] {
		if e == p || strings.HasSuffix(p, "/"+e) || strings.HasSuffix(e, "/"+p) {
			return true
		}
	}
	return false
}

func cleanPath(p string) string {
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "./")
}

// WriteExpectedFailures writes an expected-failures list naming every
// record that failed in the run (expected or not), sorted by file and
// line.
func WriteExpectedFailures(w io.Writer, s *Summary) error {
	type loc struct {
		path string
		line int
	}
	var locs []loc
	for _, f := range s.Files {
		for _, fl := range f.Failures {
			if fl.Line > 0 {
				locs = append(locs, loc{cleanPath(f.Path), fl.Line})
			}
		}
	}
	slices.SortFunc(locs, func(a, b loc) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return a.line - b.line
	})
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Records expected to fail, one path:line a line (written by sqllogic --write-expected-failures).\n")
	for _, l := range locs {
		fmt.Fprintf(bw, "%s:%d\n", l.path, l.line)
	}
	return bw.Flush()
}
