package planner

import "github.com/shardsql/shardsql/internal/types"

// ColInfo describes one column of a relation.
type ColInfo struct {
	Name string
	// Table is the name or alias that qualifies the column ("" for computed ones).
	Table string
	T     types.T
	// Hidden columns are left out of * and of unqualified name resolution
	// (a table's rowid, the right-hand copy of a USING column).
	Hidden bool
}

// Rel is a relational operator: it produces rows of Cols().
type Rel interface {
	Cols() []ColInfo
}

// Scan reads the rows of a table that Access covers and Filter admits;
// its row is the table's columns in order.
type Scan struct {
	Table  *Table
	Alias  string
	Access Access
	// Filter is evaluated over the table row (pushed down from WHERE).
	Filter   Expr
	KeysOnly bool

	cols []ColInfo
}

// Values produces constant rows (also the one empty row of SELECT without FROM).
type Values struct {
	Rows    [][]Expr
	Columns []ColInfo
}

// JoinKind is the kind of a join.
type JoinKind int

// Join kinds.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
)

// Join combines two relations; its row is the left row followed by the right.
type Join struct {
	Kind        JoinKind
	Left, Right Rel
	// LeftKeys[i] (over the left row) = RightKeys[i] (over the right row)
	// are the equality conditions a hash join matches on.
	LeftKeys, RightKeys []Expr
	// On is the rest of the join condition, over the joined row; nil: true.
	On Expr

	cols []ColInfo // cached Cols (deep join trees ask often)
}

// Filter keeps the rows Pred admits.
type Filter struct {
	Input Rel
	Pred  Expr
}

// Project computes Exprs over each input row.
type Project struct {
	Input   Rel
	Exprs   []Expr
	Columns []ColInfo
}

// Aggregate groups its input by Group and computes Aggs per group; its row
// is the group values followed by the aggregate results. With no Group it
// produces exactly one row.
type Aggregate struct {
	Input   Rel
	Group   []Expr
	Aggs    []*AggCall
	Columns []ColInfo
}

// Distinct removes duplicate rows (comparing the first On columns; all when On is 0).
// With Keys (DISTINCT ON) it passes the first row of each run of rows
// equal in the columns Keys lists (its input is sorted on them).
type Distinct struct {
	Input Rel
	On    int
	Keys  []int
}

// SortKey orders by one column of the input.
type SortKey struct {
	Col        int
	Desc       bool
	NullsFirst bool
}

// Sort orders its input.
type Sort struct {
	Input Rel
	Keys  []SortKey
}

// Limit skips Offset rows and passes at most Count (-1: all).
type Limit struct {
	Input  Rel
	Count  int64
	Offset int64
}

// SetOp is UNION, INTERSECT or EXCEPT, with ALL or without (distinct rows).
type SetOp struct {
	Op          string // "union", "intersect", "except"
	All         bool
	Left, Right Rel
}

// Cols implementations.
func (s *Scan) Cols() []ColInfo {
	if s.cols != nil {
		return s.cols
	}
	out := make([]ColInfo, len(s.Table.Columns))
	for i, c := range s.Table.Columns {
		out[i] = ColInfo{Name: c.Name, Table: s.Alias, T: c.Type, Hidden: c.Hidden}
	}
	s.cols = out
	return out
}
func (v *Values) Cols() []ColInfo { return v.Columns }
func (j *Join) Cols() []ColInfo {
	if j.cols == nil {
		j.cols = append(append([]ColInfo{}, j.Left.Cols()...), j.Right.Cols()...)
	}
	return j.cols
}
func (f *Filter) Cols() []ColInfo    { return f.Input.Cols() }
func (p *Project) Cols() []ColInfo   { return p.Columns }
func (a *Aggregate) Cols() []ColInfo { return a.Columns }
func (d *Distinct) Cols() []ColInfo  { return d.Input.Cols() }
func (s *Sort) Cols() []ColInfo      { return s.Input.Cols() }
func (l *Limit) Cols() []ColInfo     { return l.Input.Cols() }
func (s *SetOp) Cols() []ColInfo     { return s.Left.Cols() }
