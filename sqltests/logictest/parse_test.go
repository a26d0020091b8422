package logictest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpusDir is the shared copy of SQLite's sqllogictest corpus, beside
// the repository (../shared from its root).
const corpusDir = "../../../shared/sqllogictest"

func mustParse(t *testing.T, text string) []Record {
	t.Helper()
	recs, err := Parse(strings.NewReader(text), "inline.test")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return recs
}

func TestParseRecordKinds(t *testing.T) {
	text := `# a comment before anything
hash-threshold 4

statement ok
CREATE TABLE t(a INT,
  b INT)

statement error
DROP TABLE nosuch

query ITR rowsort
SELECT a, b,
# a comment inside a record is dropped, it does not end the record
  a * 1.5 FROM t
----
1
2
1.500

query I valuesort label-7
SELECT 1
----
1

query T
SELECT 'x'
----
5 values hashing to 0123456789abcdef0123456789abcdef

query I nosort
SELECT 1 WHERE false

skipif postgresql
onlyif mysql
statement ok
SELECT mysql_only()

halt

statement ok
SELECT 'after halt'
`
	got := mustParse(t, text)
	want := []Record{
		{Kind: KindHashThreshold, Line: 2, Threshold: 4},
		{Kind: KindStatement, Line: 4, SQL: "CREATE TABLE t(a INT,\n  b INT)"},
		{Kind: KindStatement, Line: 8, SQL: "DROP TABLE nosuch", ExpectError: true},
		{Kind: KindQuery, Line: 11, Types: "ITR", Sort: RowSort, SQL: "SELECT a, b,\n  a * 1.5 FROM t",
			Expected: []string{"1", "2", "1.500"}},
		{Kind: KindQuery, Line: 20, Types: "I", Sort: ValueSort, Label: "label-7", SQL: "SELECT 1", Expected: []string{"1"}},
		{Kind: KindQuery, Line: 25, Types: "T", SQL: "SELECT 'x'",
			Expected: []string{"5 values hashing to 0123456789abcdef0123456789abcdef"}},
		{Kind: KindQuery, Line: 30, Types: "I", SQL: "SELECT 1 WHERE false"},
		{Kind: KindStatement, Line: 35, SQL: "SELECT mysql_only()",
			Conditions: []Condition{{Skip: true, Engine: "postgresql"}, {Skip: false, Engine: "mysql"}}},
		{Kind: KindHalt, Line: 38},
		{Kind: KindStatement, Line: 40, SQL: "SELECT 'after halt'"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseLineEndingsAndBlankLines(t *testing.T) {
	// CRLF line ends, a line of only spaces separating records, trailing
	// spaces kept inside results.
	text := "statement ok\r\nSELECT 1\r\n   \t\r\nquery T nosort\r\nSELECT 'a '\r\n----\r\na \r\n"
	got := mustParse(t, text)
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(got), got)
	}
	if got[0].SQL != "SELECT 1" {
		t.Errorf("SQL = %q, want %q", got[0].SQL, "SELECT 1")
	}
	if !reflect.DeepEqual(got[1].Expected, []string{"a "}) {
		t.Errorf("Expected = %q, want [\"a \"]", got[1].Expected)
	}
}

func TestParseExtensions(t *testing.T) {
	text := `statement error 23505 duplicate key
INSERT INTO t VALUES (1)

statement count 3
INSERT INTO t VALUES (1), (2), (3)

query error ^42P01
SELECT * FROM nosuch

query error
SELECT 1/0

connection other
skipif sqlite
statement ok
BEGIN

connection default
query I
SELECT 1
----
1
`
	got := mustParse(t, text)
	if len(got) != 6 {
		t.Fatalf("got %d records, want 6", len(got))
	}
	if r := got[0]; !r.ExpectError || r.ErrorPattern == nil || r.ErrorPattern.String() != "23505 duplicate key" {
		t.Errorf("statement error pattern: got %+v", r)
	}
	if r := got[1]; !r.ExpectCount || r.Count != 3 || r.ExpectError {
		t.Errorf("statement count: got %+v", r)
	}
	if r := got[2]; r.Kind != KindQuery || !r.ExpectError || r.ErrorPattern.String() != "^42P01" || r.Types != "" {
		t.Errorf("query error: got %+v", r)
	}
	if r := got[3]; !r.ExpectError || r.ErrorPattern != nil {
		t.Errorf("query error without pattern: got %+v", r)
	}
	if r := got[3]; r.Connection != "" {
		t.Errorf("record 3 connection = %q, want none", r.Connection)
	}
	if r := got[4]; r.Connection != "other" || len(r.Conditions) != 1 || r.Line != 15 || r.SQL != "BEGIN" {
		t.Errorf("connection record: got %+v", r)
	}
	if got[5].Connection != "default" {
		t.Errorf("connection default: got %q", got[5].Connection)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"query IX\nSELECT 1\n", "inline.test:1: unknown type character"},
		{"query I upsidedown\nSELECT 1\n", "unknown sort method"},
		{"frobnicate\n", "unknown record type"},
		{"statement maybe\nSELECT 1\n", "should be ok, error or count"},
		{"statement count many\nSELECT 1\n", "bad number"},
		{"statement error (\nSELECT 1\n", "bad error pattern"},
		{"statement ok\n", "statement without SQL"},
		{"query I\n----\n1\n", "query without SQL"},
		{"\n\nskipif mysql\n", "inline.test:3: skipif, onlyif or connection without a record"},
		{"hash-threshold x\n", "hash-threshold: bad number"},
		{"connection a\nhalt\n", "connection applies only"},
	} {
		_, err := Parse(strings.NewReader(tc.text), "inline.test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.text, err, tc.want)
		}
	}
}

func TestSkipped(t *testing.T) {
	for _, tc := range []struct {
		conds []Condition
		want  bool
	}{
		{nil, false},
		{[]Condition{{Skip: true, Engine: "PostgreSQL"}}, true},
		{[]Condition{{Skip: true, Engine: "mysql"}}, false},
		{[]Condition{{Skip: false, Engine: "mysql"}}, true},
		{[]Condition{{Skip: false, Engine: "postgresql"}}, false},
		{[]Condition{{Skip: false, Engine: "postgresql"}, {Skip: true, Engine: "POSTGRESQL"}}, true},
	} {
		r := Record{Conditions: tc.conds}
		if got := r.Skipped("postgresql"); got != tc.want {
			t.Errorf("Skipped(%+v) = %v, want %v", tc.conds, got, tc.want)
		}
	}
}

// TestParseCorpus parses the real corpus and checks the record counts its
// README gives (records not skipped for the engine label postgresql), plus
// a few records of select1.test.
func TestParseCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	count := func(path string) (queries, statements int, recs []Record) {
		t.Helper()
		recs, err := ParseFile(filepath.Join(corpusDir, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Skipped("postgresql") {
				continue
			}
			switch r.Kind {
			case KindQuery:
				queries++
			case KindStatement:
				statements++
			}
		}
		return queries, statements, recs
	}
	q, s := 0, 0
	for i := 1; i <= 5; i++ {
		qi, si, _ := count("select" + string(rune('0'+i)) + ".test")
		q, s = q+qi, s+si
	}
	if q != 8884 || s != 1822 {
		t.Errorf("select1..5: %d queries, %d statements; want 8884, 1822", q, s)
	}
	if q, _, _ := count("random/groupby/slt_good_0.test"); q != 9038 {
		t.Errorf("random/groupby: %d queries, want 9038", q)
	}
	if q, s, _ := count("index/delete/10/slt_good_0.test"); q != 4254 || s != 6476 {
		t.Errorf("index/delete: %d queries, %d statements; want 4254, 6476", q, s)
	}

	q, s, recs := count("select1.test")
	if q != 1000 || s != 31 {
		t.Errorf("select1.test: %d queries, %d statements; want 1000, 31", q, s)
	}
	first := recs[0]
	if first.Kind != KindStatement || first.Line != 1 || first.SQL != "CREATE TABLE t1(a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER)" {
		t.Errorf("first record: %+v", first)
	}
	var at94 *Record
	for i := range recs {
		if recs[i].Line == 94 {
			at94 = &recs[i]
		}
	}
	if at94 == nil {
		t.Fatal("no record at select1.test:94")
	}
	wantSQL := "SELECT CASE WHEN c>(SELECT avg(c) FROM t1) THEN a*2 ELSE b*10 END\n  FROM t1\n ORDER BY 1"
	if at94.Kind != KindQuery || at94.Types != "I" || at94.Sort != NoSort || at94.SQL != wantSQL ||
		!reflect.DeepEqual(at94.Expected, []string{"30 values hashing to 3c13dee48d9356ae19af2515e05e6b54"}) {
		t.Errorf("select1.test:94: %+v", *at94)
	}
	last := recs[len(recs)-1]
	if last.Line != 12181 || last.Expected[0] != "29 values hashing to 20a327dd7dddd406aa915b0ee3795434" {
		t.Errorf("last record: %+v", last)
	}
}
