// Package sqlgen generates random schemas, data and SELECT queries for the
// differential test against PostgreSQL 15 (sqltests/difftest_test.go).
//
// Everything it generates is valid PostgreSQL 15 SQL whose result is
// defined: queries with LIMIT/OFFSET always have an ORDER BY over every
// output column, float data are dyadic fractions (so sums do not depend on
// the order of addition), integer arithmetic that could overflow and
// division by a value that could be zero are generated only where every
// engine must evaluate them on the same rows (the top-level select list
// of a query without LIMIT), and no constant subexpression can fail
// (PostgreSQL folds those at plan time, even in an untaken CASE branch).
package sqlgen

import (
	"fmt"
	"math/rand"
	"strings"
)

// Type is a column or expression type.
type Type int

// The generated types.
const (
	Int4 Type = iota
	Int8
	Text
	Numeric
	Bool
	Float8
	numTypes
)

// SQL is the type's name in DDL and casts.
func (t Type) SQL() string {
	return [...]string{"int", "bigint", "text", "numeric", "boolean", "double precision"}[t]
}

func (t Type) numeric() bool { return t == Int4 || t == Int8 || t == Numeric || t == Float8 }
func (t Type) integer() bool { return t == Int4 || t == Int8 }

// Column is a table column.
type Column struct {
	Name string
	Type Type
}

// Table is a generated table: Rows holds the literal values inserted.
type Table struct {
	Name string
	Cols []Column
	PK   []int // indexes into Cols
	Rows [][]string
}

// Features are the optional query features (off by default: they are not
// on main yet).
type Features struct {
	Window     bool
	CTE        bool
	DistinctOn bool
}

// ParseFeatures reads a comma-separated list (window,cte,distinct_on).
func ParseFeatures(s string) (Features, error) {
	var f Features
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(strings.ToLower(p)) {
		case "":
		case "window":
			f.Window = true
		case "cte", "with":
			f.CTE = true
		case "distinct_on", "distincton":
			f.DistinctOn = true
		default:
			return f, fmt.Errorf("unknown fuzz feature %q (known: window, cte, distinct_on)", p)
		}
	}
	return f, nil
}

// Gen is a seeded generator.
type Gen struct {
	r      *rand.Rand
	F      Features
	Tables []*Table
	alias  int
	noNull bool // no NULL literals (see selectStmt)
}

// New returns a generator for seed with 2-4 random tables (not yet created).
func New(seed int64, f Features) *Gen {
	g := &Gen{r: rand.New(rand.NewSource(seed)), F: f}
	n := 2 + g.r.Intn(3)
	for i := 0; i < n; i++ {
		g.Tables = append(g.Tables, g.newTable(fmt.Sprintf("t%d", i)))
	}
	return g
}

func (g *Gen) intn(n int) int        { return g.r.Intn(n) }
func (g *Gen) chance(p float64) bool { return g.r.Float64() < p }

// pkTypes are the types a primary-key column may have (no floats: their
// NaN/-0 equality rules make uniqueness awkward to generate).
var pkTypes = []Type{Int4, Int4, Int8, Text, Numeric}

func (g *Gen) newTable(name string) *Table {
	t := &Table{Name: name}
	npk := 1
	if g.chance(0.3) {
		npk = 2
	}
	ncols := npk + 1 + g.intn(4)
	for i := 0; i < ncols; i++ {
		var typ Type
		if i < npk {
			typ = pkTypes[g.intn(len(pkTypes))]
		} else {
			typ = Type(g.intn(int(numTypes)))
		}
		t.Cols = append(t.Cols, Column{Name: fmt.Sprintf("c%d", i), Type: typ})
	}
	for i := 0; i < npk; i++ {
		t.PK = append(t.PK, i)
	}
	// Rows: primary keys unique, other columns from small pools (so
	// duplicates and NULLs are common).
	nrows := g.intn(25)
	seen := map[string]bool{}
	for tries := 0; len(t.Rows) < nrows && tries < 1000; tries++ {
		row := make([]string, ncols)
		for i, c := range t.Cols {
			row[i] = g.value(c.Type, i >= npk)
		}
		key := strings.Join(row[:npk], "\x00")
		if seen[key] {
			// An equal key (also under numeric equality: 1.5 = 1.50)
			// would be rejected; skip it.
			continue
		}
		seen[key] = true
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Value pools. Numerics that are equal but print differently (1.5, 1.50)
// are kept out of primary keys by numericKey.
var (
	int4Vals    = []string{"0", "1", "-1", "2", "3", "5", "7", "10", "-7", "42", "100", "2147483647", "-2147483648"}
	int8Vals    = []string{"0", "1", "-1", "2", "3", "5", "10", "-7", "42", "10000000000", "9223372036854775807", "-9223372036854775808"}
	textVals    = []string{"''", "'a'", "'ab'", "'abc'", "'B'", "'b%'", "'x_y'", "'hello'", "'Hello'", "' a'", "'zz'", "'a b'"}
	numericVals = []string{"0", "1.5", "-3.25", "100.001", "99999.99", "-0.5", "12345678.9", "2", "1.50", "0.000", "-7", "3.14159", "'NaN'"}
	boolVals    = []string{"true", "false"}
	// Dyadic fractions: sums of these are exact in float64 whatever the
	// order of addition.
	float8Vals = []string{"0", "1.5", "-2.25", "1024", "0.5", "-0.125", "1000000", "3.75", "-1", "'Infinity'", "'-Infinity'", "'NaN'"}
)

func pool(t Type) []string {
	switch t {
	case Int4:
		return int4Vals
	case Int8:
		return int8Vals
	case Text:
		return textVals
	case Numeric:
		return numericVals
	case Bool:
		return boolVals
	default:
		return float8Vals
	}
}

// value is a random literal of type t for a row; nullable columns are
// sometimes NULL. Primary-key numerics avoid the equal-but-different
// spellings (1.50, 0.000).
func (g *Gen) value(t Type, nullable bool) string {
	if nullable && g.chance(0.2) {
		return "NULL"
	}
	p := pool(t)
	if !nullable && t != Bool && g.chance(0.3) {
		// More distinct keys than the pool has.
		switch t {
		case Int4, Int8:
			return fmt.Sprint(g.intn(2000) - 1000)
		case Text:
			return fmt.Sprintf("'k%d'", g.intn(1000))
		case Numeric:
			return fmt.Sprintf("%d.%d", g.intn(2000)-1000, 1+g.intn(9))
		}
	}
	if !nullable && t == Numeric {
		for {
			v := p[g.intn(len(p))]
			if v != "1.50" && v != "0.000" && v != "'NaN'" {
				return v
			}
		}
	}
	return p[g.intn(len(p))]
}

// CreateStatements are the CREATE TABLE statements.
func (g *Gen) CreateStatements() []string {
	var out []string
	for _, t := range g.Tables {
		var cols []string
		for _, c := range t.Cols {
			cols = append(cols, c.Name+" "+c.Type.SQL())
		}
		var pk []string
		for _, i := range t.PK {
			pk = append(pk, t.Cols[i].Name)
		}
		out = append(out, fmt.Sprintf("CREATE TABLE %s (%s, PRIMARY KEY (%s))", t.Name, strings.Join(cols, ", "), strings.Join(pk, ", ")))
	}
	return out
}

// InsertStatements insert every table's rows, a few rows a statement.
func (g *Gen) InsertStatements() []string {
	var out []string
	for _, t := range g.Tables {
		for i := 0; i < len(t.Rows); {
			n := 1 + g.intn(6)
			var vals []string
			for ; n > 0 && i < len(t.Rows); n, i = n-1, i+1 {
				vals = append(vals, "("+strings.Join(t.Rows[i], ", ")+")")
			}
			out = append(out, fmt.Sprintf("INSERT INTO %s VALUES %s", t.Name, strings.Join(vals, ", ")))
		}
	}
	return out
}

// SplitStatements split some tables at random primary-key values
// (ShardSQL's ALTER TABLE ... SPLIT AT, not sent to PostgreSQL).
func (g *Gen) SplitStatements() []string {
	var out []string
	for _, t := range g.Tables {
		if len(t.Rows) == 0 || g.chance(0.25) {
			continue
		}
		n := 1 + g.intn(3)
		var pts []string
		for i := 0; i < n; i++ {
			row := t.Rows[g.intn(len(t.Rows))]
			k := len(t.PK)
			if k > 1 && g.chance(0.5) {
				k = 1 // a prefix of the key
			}
			var vals []string
			for _, c := range t.PK[:k] {
				vals = append(vals, row[c])
			}
			pts = append(pts, "("+strings.Join(vals, ", ")+")")
		}
		out = append(out, fmt.Sprintf("ALTER TABLE %s SPLIT AT VALUES %s", t.Name, strings.Join(pts, ", ")))
	}
	return out
}
