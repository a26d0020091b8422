package sqltests

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardsql/shardsql/sqltests/sqlgen"
)

// The differential test's result comparison: results are multisets of
// rows of text values (lists where the query orders by every column);
// doubles compare with a relative tolerance, everything else (numeric
// included) exactly as text; errors compare by SQLSTATE class.

// PostgreSQL type OIDs the comparison knows.
const (
	oidBool    = 16
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidFloat4  = 700
	oidFloat8  = 701
	oidNumeric = 1700
)

// qresult is one engine's answer to a query.
type qresult struct {
	oids []uint32
	rows [][]*string // nil: NULL
	err  error
}

func (r qresult) code() string {
	var pe *pgconn.PgError
	if errors.As(r.err, &pe) {
		return pe.Code
	}
	return ""
}

// toResult converts a pgconn result.
func toResult(rr []*pgconn.Result, err error) qresult {
	if err != nil {
		return qresult{err: err}
	}
	if len(rr) != 1 {
		return qresult{err: fmt.Errorf("%d results for one statement", len(rr))}
	}
	r := rr[0]
	if r.Err != nil {
		return qresult{err: r.Err}
	}
	var q qresult
	for _, f := range r.FieldDescriptions {
		q.oids = append(q.oids, f.DataTypeOID)
	}
	for _, row := range r.Rows {
		vals := make([]*string, len(row))
		for i, v := range row {
			if v != nil {
				s := string(v)
				vals[i] = &s
			}
		}
		q.rows = append(q.rows, vals)
	}
	return q
}

func isFloat(oid uint32) bool { return oid == oidFloat8 || oid == oidFloat4 }

func parseFloat(s string) float64 {
	switch s {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// floatsClose: both NaN, equal, or within a relative 1e-9 (sums and
// averages of non-dyadic values may round differently in another order),
// or both within 1e-9 of zero (what cancellation leaves of such sums:
// avg(x - y) over values near 1e5 gave 3.8e-12 on one engine and 1.4e-11
// on the other).
func floatsClose(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return false
	}
	d := math.Abs(a - b)
	return d <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) || d < 1e-9
}

// valueEqual compares two values of a column: doubles within the
// tolerance, everything else as text.
func valueEqual(oid uint32, a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if isFloat(oid) {
		return floatsClose(parseFloat(*a), parseFloat(*b))
	}
	return *a == *b
}

func rowEqual(oids []uint32, a, b []*string) bool {
	for i := range a {
		if !valueEqual(oids[i], a[i], b[i]) {
			return false
		}
	}
	return true
}

// sortKey is a row's multiset key: doubles rounded to 10 significant
// digits (close values usually get the same key; rowsMatch falls back to
// a quadratic matching when they do not).
func sortKey(oids []uint32, row []*string) string {
	var b strings.Builder
	for i, v := range row {
		if v == nil {
			b.WriteString("\x00N")
		} else if isFloat(oids[i]) {
			f := parseFloat(*v)
			if f == 0 {
				f = 0 // -0
			}
			b.WriteString(strconv.FormatFloat(f, 'g', 10, 64))
		} else {
			b.WriteString(*v)
		}
		b.WriteByte(0x01)
	}
	return b.String()
}

// rowsMatch reports whether a and b are equal multisets of rows.
func rowsMatch(oids []uint32, a, b [][]*string) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := sortedRows(oids, a), sortedRows(oids, b)
	ok := true
	for i := range sa {
		if !rowEqual(oids, sa[i], sb[i]) {
			ok = false
			break
		}
	}
	if ok {
		return true
	}
	// Near-equal doubles on either side of a rounding boundary: match
	// greedily.
	used := make([]bool, len(b))
	for _, ra := range a {
		found := false
		for j, rb := range b {
			if !used[j] && rowEqual(oids, ra, rb) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func sortedRows(oids []uint32, rows [][]*string) [][]*string {
	type kr struct {
		k string
		r []*string
	}
	ks := make([]kr, len(rows))
	for i, r := range rows {
		ks[i] = kr{sortKey(oids, r), r}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].k < ks[j].k })
	out := make([][]*string, len(rows))
	for i := range ks {
		out[i] = ks[i].r
	}
	return out
}

// cmpValue orders two non-NULL values of a column as PostgreSQL does
// (text in the C collation, NaN above every number, -0 = 0).
func cmpValue(oid uint32, a, b string) int {
	switch oid {
	case oidInt2, oidInt4, oidInt8:
		x, err1 := strconv.ParseInt(a, 10, 64)
		y, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case oidFloat4, oidFloat8:
		x, y := parseFloat(a), parseFloat(b)
		switch {
		case math.IsNaN(x) && math.IsNaN(y):
			return 0
		case math.IsNaN(x):
			return 1
		case math.IsNaN(y):
			return -1
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case oidNumeric:
		var x, y apd.Decimal
		_, _, err1 := x.SetString(a)
		_, _, err2 := y.SetString(b)
		if err1 == nil && err2 == nil {
			xn, yn := x.Form == apd.NaN, y.Form == apd.NaN
			switch {
			case xn && yn:
				return 0
			case xn:
				return 1
			case yn:
				return -1
			}
			return x.Cmp(&y)
		}
	case oidBool:
		return strings.Compare(a, b) // f < t
	}
	return bytes.Compare([]byte(a), []byte(b))
}

// cmpRows orders rows by the query's ORDER BY.
func cmpRows(oids []uint32, order []sqlgen.OrderKey, a, b []*string) int {
	for _, k := range order {
		x, y := a[k.Col], b[k.Col]
		var c int
		switch {
		case x == nil && y == nil:
			c = 0
		case x == nil:
			c = 1
			if k.NullsFirst {
				c = -1
			}
		case y == nil:
			c = -1
			if k.NullsFirst {
				c = 1
			}
		default:
			c = cmpValue(oids[k.Col], *x, *y)
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareResults returns "" if the engines agree, else what differs.
func compareResults(q sqlgen.Query, pg, sh qresult) string {
	d := compareStrict(q, pg, sh)
	if d != "" && pg.err == nil && sh.err == nil && picksAmongEqual(q.SQL) {
		// DISTINCT, set operations, GROUP BY, min and max keep one of
		// several equal values, and which one is not defined: 1.5 or
		// 1.50. Compare numerics by value then.
		if compareStrict(q, numericsByValue(pg), numericsByValue(sh)) == "" {
			return ""
		}
	}
	return d
}

// picksAmongEqual reports whether a query may keep any one of several
// equal values.
func picksAmongEqual(sql string) bool {
	u := strings.ToUpper(sql)
	for _, w := range []string{"DISTINCT", "UNION", "INTERSECT", "EXCEPT", "GROUP BY", "MIN(", "MAX("} {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

// numericsByValue rewrites numeric values, and text that is a numeric's
// text (CAST(n AS text) of a group key), without trailing fractional zeros.
func numericsByValue(r qresult) qresult {
	out := qresult{oids: r.oids, err: r.err}
	for _, row := range r.rows {
		nr := make([]*string, len(row))
		for i, v := range row {
			if v != nil && (r.oids[i] == oidNumeric || looksNumeric(*v)) && strings.Contains(*v, ".") {
				t := strings.TrimRight(strings.TrimRight(*v, "0"), ".")
				if t == "-0" {
					t = "0"
				}
				v = &t
			}
			nr[i] = v
		}
		out.rows = append(out.rows, nr)
	}
	return out
}

func looksNumeric(s string) bool {
	_, _, err := new(apd.Decimal).SetString(s)
	return err == nil
}

// compareStrict compares values exactly (doubles within the tolerance).
func compareStrict(q sqlgen.Query, pg, sh qresult) string {
	if pg.err != nil || sh.err != nil {
		switch {
		case pg.err == nil:
			return fmt.Sprintf("only ShardSQL failed: %v", sh.err)
		case sh.err == nil:
			return fmt.Sprintf("only PostgreSQL failed: %v", pg.err)
		}
		pc, sc := pg.code(), sh.code()
		if len(pc) < 2 || len(sc) < 2 || pc[:2] != sc[:2] {
			return fmt.Sprintf("errors of different SQLSTATE classes: PostgreSQL %v, ShardSQL %v", pg.err, sh.err)
		}
		return ""
	}
	if len(pg.oids) != len(sh.oids) {
		return fmt.Sprintf("%d columns on PostgreSQL, %d on ShardSQL", len(pg.oids), len(sh.oids))
	}
	for i := range pg.oids {
		if pg.oids[i] != sh.oids[i] {
			return fmt.Sprintf("column %d has type OID %d on PostgreSQL, %d on ShardSQL", i+1, pg.oids[i], sh.oids[i])
		}
	}
	if len(pg.rows) != len(sh.rows) {
		return fmt.Sprintf("%d rows on PostgreSQL, %d on ShardSQL", len(pg.rows), len(sh.rows))
	}
	oids := pg.oids
	if d := floatFormatDiff(oids, pg.rows, sh.rows, q.Order != nil); d != "" {
		return d
	}
	if q.Order == nil {
		if !rowsMatch(oids, pg.rows, sh.rows) {
			return "different rows (compared as multisets)"
		}
		return ""
	}
	for i := 1; i < len(sh.rows); i++ {
		if cmpRows(oids, q.Order, sh.rows[i-1], sh.rows[i]) > 0 {
			return fmt.Sprintf("ShardSQL's rows %d and %d are out of order", i, i+1)
		}
	}
	same := true
	for i := range pg.rows {
		if !rowEqual(oids, pg.rows[i], sh.rows[i]) {
			same = false
			break
		}
	}
	if same {
		return ""
	}
	// Rows that sort equal (1.5 and 1.50, 0 and -0) may come in any
	// order: compare each run of them as a multiset, and the first and
	// last runs of a LIMIT/OFFSET result only by sort order (which of
	// the equal rows made the cut is not defined).
	for s := 0; s < len(pg.rows); {
		e := s + 1
		for e < len(pg.rows) && cmpRows(oids, q.Order, pg.rows[s], pg.rows[e]) == 0 {
			e++
		}
		if q.Limited && (s == 0 || e == len(pg.rows)) {
			for i := s; i < e; i++ {
				if cmpRows(oids, q.Order, pg.rows[s], sh.rows[i]) != 0 {
					return fmt.Sprintf("different rows at position %d (ordered)", i+1)
				}
			}
		} else if !rowsMatch(oids, pg.rows[s:e], sh.rows[s:e]) {
			return fmt.Sprintf("different rows at positions %d-%d (ordered)", s+1, e)
		}
		s = e
	}
	return ""
}

// floatFormatDiff finds a double that both engines computed exactly but
// print differently (PostgreSQL prints the shortest exact form).
func floatFormatDiff(oids []uint32, a, b [][]*string, ordered bool) string {
	if !ordered {
		a, b = sortedRows(oids, a), sortedRows(oids, b)
	}
	for i := range a {
		for j, oid := range oids {
			x, y := a[i][j], b[i][j]
			if !isFloat(oid) || x == nil || y == nil || *x == *y {
				continue
			}
			fx, fy := parseFloat(*x), parseFloat(*y)
			if math.Float64bits(fx) == math.Float64bits(fy) && !math.IsNaN(fx) {
				return fmt.Sprintf("the same double printed as %q on PostgreSQL and %q on ShardSQL", *x, *y)
			}
		}
	}
	return ""
}

// formatResult renders a result for a failure message (at most 30 rows).
func formatResult(r qresult) string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows, types %v", len(r.rows), r.oids)
	for i, row := range r.rows {
		if i == 30 {
			b.WriteString("\n  ...")
			break
		}
		var vs []string
		for _, v := range row {
			if v == nil {
				vs = append(vs, "NULL")
			} else {
				vs = append(vs, *v)
			}
		}
		b.WriteString("\n  " + strings.Join(vs, " | "))
	}
	return b.String()
}

// TestCompareResults checks the comparison itself: it must find the
// differences that matter and accept the ones that do not.
func TestCompareResults(t *testing.T) {
	s := func(v string) *string { return &v }
	res := func(oids []uint32, rows ...[]*string) qresult { return qresult{oids: oids, rows: rows} }
	f8 := []uint32{oidFloat8, oidInt4}
	num := []uint32{oidNumeric}
	ord := sqlgen.Query{Order: []sqlgen.OrderKey{{Col: 0}}}
	cases := []struct {
		name   string
		q      sqlgen.Query
		pg, sh qresult
		same   bool
	}{
		{"multiset order ignored", sqlgen.Query{}, res(f8, []*string{s("1"), s("2")}, []*string{nil, s("3")}), res(f8, []*string{nil, s("3")}, []*string{s("1"), s("2")}), true},
		{"float tolerance", sqlgen.Query{}, res(f8, []*string{s("0.30000000000000004"), nil}), res(f8, []*string{s("0.3"), nil}), true},
		{"float differs", sqlgen.Query{}, res(f8, []*string{s("0.31"), nil}), res(f8, []*string{s("0.3"), nil}), false},
		{"float formatting", sqlgen.Query{}, res(f8, []*string{s("1e+06"), nil}), res(f8, []*string{s("1000000"), nil}), false},
		{"numeric exact", sqlgen.Query{}, res(num, []*string{s("1.50")}), res(num, []*string{s("1.5")}), false},
		{"NULL vs value", sqlgen.Query{}, res(num, []*string{nil}), res(num, []*string{s("0")}), false},
		{"row count", sqlgen.Query{}, res(num, []*string{s("1")}, []*string{s("1")}), res(num, []*string{s("1")}), false},
		{"ordered list", ord, res(num, []*string{s("1")}, []*string{s("2")}), res(num, []*string{s("2")}, []*string{s("1")}), false},
		{"sort-equal rows in any order", ord, res(num, []*string{s("1.5")}, []*string{s("1.50")}, []*string{s("2")}), res(num, []*string{s("1.50")}, []*string{s("1.5")}, []*string{s("2")}), true},
		{"nulls last by default", ord, res(num, []*string{s("1")}, []*string{nil}), res(num, []*string{s("1")}, []*string{nil}), true},
		{"nulls first is out of order", ord, res(num, []*string{nil}, []*string{s("1")}), res(num, []*string{nil}, []*string{s("1")}), false},
		{"limited tie", sqlgen.Query{Order: ord.Order, Limited: true}, res(num, []*string{s("0")}, []*string{s("1.5")}), res(num, []*string{s("0")}, []*string{s("1.50")}), true},
		{"type", sqlgen.Query{}, res([]uint32{oidInt4}, []*string{s("1")}), res([]uint32{oidInt8}, []*string{s("1")}), false},
		{"error classes", sqlgen.Query{}, qresult{err: &pgconn.PgError{Code: "22012"}}, qresult{err: &pgconn.PgError{Code: "22003"}}, true},
		{"error vs rows", sqlgen.Query{}, qresult{err: &pgconn.PgError{Code: "22012"}}, res(num), false},
		{"distinct keeps either of equal numerics", sqlgen.Query{SQL: "SELECT DISTINCT x FROM t"}, res(num, []*string{s("1.5")}), res(num, []*string{s("1.50")}), true},
		{"error classes differ", sqlgen.Query{}, qresult{err: &pgconn.PgError{Code: "22012"}}, qresult{err: &pgconn.PgError{Code: "0A000"}}, false},
	}
	for _, c := range cases {
		d := compareResults(c.q, c.pg, c.sh)
		if (d == "") != c.same {
			t.Errorf("%s: compareResults = %q, want same=%v", c.name, d, c.same)
		}
	}
}
