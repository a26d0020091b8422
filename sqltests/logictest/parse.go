package logictest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// ParseFile reads and parses the sqllogictest file at path.
func ParseFile(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(bytes.NewReader(data), path)
}

// Parse parses a sqllogictest file; name prefixes error messages.
//
// The format is SQLite's: records are separated by blank lines (lines of
// only white space are blank), lines starting with '#' are comments and
// are dropped wherever they appear, a trailing "\r" is removed from every
// line. A record may start with skipif, onlyif and connection lines.
func Parse(r io.Reader, name string) ([]Record, error) {
	var (
		records []Record
		block   []line
	)
	flush := func() error {
		if len(block) == 0 {
			return nil
		}
		rec, err := parseRecord(block)
		block = block[:0]
		if err != nil {
			return fmt.Errorf("%s:%w", name, err)
		}
		records = append(records, rec)
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if text[0] == '#' {
			continue
		}
		block = append(block, line{n, text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return records, nil
}

// line is one non-blank, non-comment line of a file.
type line struct {
	n    int
	text string
}

// parseRecord parses the lines of one record. Errors start with the line
// number (the caller prefixes the file name and a colon).
func parseRecord(block []line) (Record, error) {
	var rec Record
	first := block[0].n
	for len(block) > 0 {
		f := strings.Fields(block[0].text)
		if f[0] != "skipif" && f[0] != "onlyif" && f[0] != "connection" {
			break
		}
		if len(f) < 2 {
			return rec, fmt.Errorf("%d: %s needs an argument", block[0].n, f[0])
		}
		if f[0] == "connection" {
			rec.Connection = f[1]
		} else {
			rec.Conditions = append(rec.Conditions, Condition{Skip: f[0] == "skipif", Engine: f[1]})
		}
		block = block[1:]
	}
	if len(block) == 0 {
		return rec, fmt.Errorf("%d: skipif, onlyif or connection without a record", first)
	}
	head, body := block[0], block[1:]
	rec.Line = head.n
	f := strings.Fields(head.text)
	errorf := func(format string, args ...any) (Record, error) {
		return rec, fmt.Errorf("%d: %s", head.n, fmt.Sprintf(format, args...))
	}
	switch f[0] {
	case "statement":
		rec.Kind = KindStatement
		if len(f) < 2 {
			return errorf("statement needs ok, error or count")
		}
		switch f[1] {
		case "ok":
		case "error":
			rec.ExpectError = true
			re, err := compilePattern(restAfter(head.text, 2))
			if err != nil {
				return errorf("%v", err)
			}
			rec.ErrorPattern = re
		case "count":
			if len(f) < 3 {
				return errorf("statement count needs a number")
			}
			c, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return errorf("statement count: bad number %q", f[2])
			}
			rec.ExpectCount, rec.Count = true, c
		default:
			return errorf("statement argument should be ok, error or count, not %q", f[1])
		}
		rec.SQL = joinLines(body)
		if rec.SQL == "" {
			return errorf("statement without SQL")
		}
	case "query":
		rec.Kind = KindQuery
		if len(f) < 2 {
			return errorf("query needs a type string")
		}
		if f[1] == "error" {
			rec.ExpectError = true
			re, err := compilePattern(restAfter(head.text, 2))
			if err != nil {
				return errorf("%v", err)
			}
			rec.ErrorPattern = re
		} else {
			for _, c := range f[1] {
				if c != 'I' && c != 'R' && c != 'T' {
					return errorf("unknown type character %q in type string %q", c, f[1])
				}
			}
			rec.Types = f[1]
			if len(f) > 2 {
				switch f[2] {
				case "nosort":
				case "rowsort":
					rec.Sort = RowSort
				case "valuesort":
					rec.Sort = ValueSort
				default:
					return errorf("unknown sort method %q", f[2])
				}
			}
			if len(f) > 3 {
				rec.Label = f[3]
			}
		}
		sql := body
		for i, l := range body {
			if l.text == "----" {
				sql = body[:i]
				for _, r := range body[i+1:] {
					rec.Expected = append(rec.Expected, r.text)
				}
				break
			}
		}
		rec.SQL = joinLines(sql)
		if rec.SQL == "" {
			return errorf("query without SQL")
		}
		if rec.ExpectError && len(rec.Expected) > 0 {
			return errorf("query error with results")
		}
	case "hash-threshold":
		rec.Kind = KindHashThreshold
		if len(f) < 2 {
			return errorf("hash-threshold needs a number")
		}
		t, err := strconv.Atoi(f[1])
		if err != nil || t < 0 {
			return errorf("hash-threshold: bad number %q", f[1])
		}
		rec.Threshold = t
	case "halt":
		rec.Kind = KindHalt
	default:
		return errorf("unknown record type %q", f[0])
	}
	if rec.Connection != "" && rec.Kind != KindStatement && rec.Kind != KindQuery {
		return errorf("connection applies only to statement and query records")
	}
	return rec, nil
}

// compilePattern compiles an error pattern; empty means any error.
func compilePattern(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("bad error pattern: %w", err)
	}
	return re, nil
}

// restAfter returns s after its first n white-space separated tokens,
// trimmed.
func restAfter(s string, n int) string {
	for ; n > 0; n-- {
		s = strings.TrimLeft(s, " \t")
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return strings.TrimSpace(s)
}

func joinLines(ls []line) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.text)
	}
	return b.String()
}
