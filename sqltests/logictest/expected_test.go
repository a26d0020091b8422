package logictest

import (
	"bytes"
	"strings"
	"testing"
)

func TestExpectedFailures(t *testing.T) {
	ef, err := ParseExpectedFailures(strings.NewReader(`# known failures
sqltests/testdata/a.test:12   # trailing comment
./b.test:3

/abs/dir/c.test:7
`))
	if err != nil {
		t.Fatal(err)
	}
	if ef.Len() != 3 {
		t.Errorf("Len = %d, want 3", ef.Len())
	}
	for _, tc := range []struct {
		path string
		line int
		want bool
	}{
		{"sqltests/testdata/a.test", 12, true},
		{"/work/main/sqltests/testdata/a.test", 12, true},
		{"./sqltests/testdata/a.test", 12, true},
		{"sqltests/testdata/a.test", 13, false},
		{"other/a.test", 12, false},
		{"xsqltests/testdata/a.test", 12, false},
		{"b.test", 3, true},
		{"dir/b.test", 3, true},
		{"c.test", 7, true},
		{"dir/c.test", 7, true},
		{"other/c.test", 7, false},
	} {
		if got := ef.Contains(tc.path, tc.line); got != tc.want {
			t.Errorf("Contains(%s:%d) = %v, want %v", tc.path, tc.line, got, tc.want)
		}
	}
	var nilList *ExpectedFailures
	if nilList.Contains("a.test", 1) {
		t.Error("a nil list contains nothing")
	}
	for _, bad := range []string{"no-line-number\n", "a.test:x\n", "a.test:0\n"} {
		if _, err := ParseExpectedFailures(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseExpectedFailures(%q) succeeded, want an error", bad)
		}
	}
}

func TestWriteExpectedFailuresRoundTrip(t *testing.T) {
	sum := &Summary{Files: []*FileResult{
		{Path: "z.test", Failures: []*Failure{{Line: 9}, {Line: 2, ExpectedFailure: true}}},
		{Path: "./a.test", Failures: []*Failure{{Line: 5}}},
	}}
	var buf bytes.Buffer
	if err := WriteExpectedFailures(&buf, sum); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"a.test:5", "z.test:2", "z.test:9"}
	if len(lines) != 4 || strings.Join(lines[1:], " ") != strings.Join(want, " ") {
		t.Fatalf("written list:\n%s\nwant a comment then %q", buf.String(), want)
	}
	ef, err := ParseExpectedFailures(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if ef.Len() != 3 || !ef.Contains("a.test", 5) || !ef.Contains("z.test", 2) {
		t.Errorf("round trip lost entries: %+v", ef)
	}
}
