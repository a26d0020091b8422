package planner

import (
	"fmt"
	"strings"

	"github.com/shardsql/shardsql/internal/types"
)

// Expr is a typed scalar expression over the columns of one input row.
type Expr interface {
	Type() types.T
	String() string
}

// Const is a constant.
type Const struct {
	Val types.Datum
	T   types.T
}

// ColRef reads column Ord of the input row.
type ColRef struct {
	Ord  int
	Name string
	T    types.T
}

// BinOp is a binary operator.
type BinOp string

// Binary operators.
const (
	OpAdd    BinOp = "+"
	OpSub    BinOp = "-"
	OpMul    BinOp = "*"
	OpDiv    BinOp = "/"
	OpMod    BinOp = "%"
	OpConcat BinOp = "||"
	OpEq     BinOp = "="
	OpNe     BinOp = "<>"
	OpLt     BinOp = "<"
	OpLe     BinOp = "<="
	OpGt     BinOp = ">"
	OpGe     BinOp = ">="
)

// IsComparison reports whether op compares.
func (op BinOp) IsComparison() bool {
	switch op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		return true
	}
	return false
}

// Binary applies Op to L and R.
type Binary struct {
	Op   BinOp
	L, R Expr
	T    types.T
}

// And is a conjunction with SQL's three-valued logic.
type And struct{ Args []Expr }

// Or is a disjunction with SQL's three-valued logic.
type Or struct{ Args []Expr }

// Not negates a boolean.
type Not struct{ E Expr }

// Neg negates a number.
type Neg struct{ E Expr }

// IsNull tests for NULL (IS NOT NULL when Not).
type IsNull struct {
	E   Expr
	Not bool
}

// Cast converts E to T.
type Cast struct {
	E Expr
	T types.T
}

// UniqueRowID yields a cluster-wide unique id (the hidden rowid default).
type UniqueRowID struct{}

// OuterRef reads column Ord of the row of an enclosing query, Depth levels
// up (a correlated subquery's reference).
type OuterRef struct {
	Depth int
	Ord   int
	Name  string
	T     types.T
}

// AggCall is an aggregate function call; it appears only in Aggregate.Aggs.
type AggCall struct {
	Name     string // count, sum, avg, min, max, bool_and, bool_or, string_agg, array_agg
	Arg      Expr   // nil for count(*)
	Sep      Expr   // string_agg's separator
	Distinct bool
	T        types.T
	// Filter (FILTER (WHERE ...)) admits the input rows the aggregate reads.
	Filter Expr
	// Order (ORDER BY inside the call) orders the rows it reads;
	// OrderKeys holds the directions (Col unused).
	Order     []Expr
	OrderKeys []SortKey
}

// SubqueryMode says how a subquery's rows become a value.
type SubqueryMode int

// Subquery modes.
const (
	SubScalar SubqueryMode = iota // (SELECT x ...): one value, NULL when no row, error when more
	SubExists                     // EXISTS (SELECT ...)
	SubIn                         // Test IN (SELECT x ...)
	SubAny                        // Test op ANY (SELECT x ...)
	SubAll                        // Test op ALL (SELECT x ...)
)

// Subquery is a nested query used as a value.
type Subquery struct {
	Mode SubqueryMode
	Rel  Rel
	// Test is the left operand of IN / ANY / ALL, evaluated in the outer row.
	Test Expr
	Op   BinOp
	// Correlated is true when Rel reads the enclosing row (OuterRef).
	Correlated bool
	// ID numbers the subqueries of a statement, for caching uncorrelated results.
	ID int
	T  types.T
}

// When is one WHEN ... THEN ... arm of a CASE.
type When struct {
	Cond, Result Expr
}

// Case is CASE [Operand] WHEN ... THEN ... [ELSE ...] END.
type Case struct {
	Operand Expr // nil for the searched form
	Whens   []When
	Else    Expr // nil means NULL
	T       types.T
}

// Func is a scalar function call.
type Func struct {
	Name string
	Args []Expr
	T    types.T
}

// Like is [NOT] LIKE / ILIKE.
type Like struct {
	E, Pattern      Expr
	Not             bool
	CaseInsensitive bool
}

// IsDistinct is IS [NOT] DISTINCT FROM.
type IsDistinct struct {
	L, R Expr
	Not  bool
}

// Type implementations.
func (c *Const) Type() types.T     { return c.T }
func (c *ColRef) Type() types.T    { return c.T }
func (b *Binary) Type() types.T    { return b.T }
func (*And) Type() types.T         { return types.Bool }
func (*Or) Type() types.T          { return types.Bool }
func (*Not) Type() types.T         { return types.Bool }
func (n *Neg) Type() types.T       { return n.E.Type() }
func (*IsNull) Type() types.T      { return types.Bool }
func (c *Cast) Type() types.T      { return c.T }
func (*UniqueRowID) Type() types.T { return types.Int8 }
func (o *OuterRef) Type() types.T  { return o.T }
func (a *AggCall) Type() types.T   { return a.T }
func (s *Subquery) Type() types.T  { return s.T }
func (c *Case) Type() types.T      { return c.T }
func (f *Func) Type() types.T      { return f.T }
func (*Like) Type() types.T        { return types.Bool }
func (*IsDistinct) Type() types.T  { return types.Bool }
func (c *Const) String() string    { return c.Val.String() + "::" + c.T.String() }
func (c *ColRef) String() string   { return fmt.Sprintf("%s#%d", c.Name, c.Ord) }
func (o *OuterRef) String() string { return fmt.Sprintf("outer(%d).%s#%d", o.Depth, o.Name, o.Ord) }
func (s *Subquery) String() string { return fmt.Sprintf("subquery#%d", s.ID) }
func (f *Func) String() string     { return f.Name + joinExprs(f.Args, ", ") }
func (l *Like) String() string {
	return fmt.Sprintf("(%s LIKE(not=%v,ci=%v) %s)", l.E, l.Not, l.CaseInsensitive, l.Pattern)
}
func (d *IsDistinct) String() string {
	return fmt.Sprintf("(%s IS DISTINCT(not=%v) %s)", d.L, d.Not, d.R)
}
func (a *AggCall) String() string {
	arg := "*"
	if a.Arg != nil {
		arg = a.Arg.String()
	}
	if a.Sep != nil {
		arg += ", " + a.Sep.String()
	}
	for i, o := range a.Order {
		arg += fmt.Sprintf(" order %s desc=%v nf=%v", o, a.OrderKeys[i].Desc, a.OrderKeys[i].NullsFirst)
	}
	if a.Filter != nil {
		arg += " filter " + a.Filter.String()
	}
	return fmt.Sprintf("%s(distinct=%v %s)", a.Name, a.Distinct, arg)
}
func (c *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	if c.Operand != nil {
		b.WriteString(" " + c.Operand.String())
	}
	for _, w := range c.Whens {
		fmt.Fprintf(&b, " WHEN %s THEN %s", w.Cond, w.Result)
	}
	if c.Else != nil {
		b.WriteString(" ELSE " + c.Else.String())
	}
	b.WriteString(" END")
	return b.String()
}
func (b *Binary) String() string    { return fmt.Sprintf("(%s %s %s)", b.L, b.Op, b.R) }
func (a *And) String() string       { return joinExprs(a.Args, " AND ") }
func (o *Or) String() string        { return joinExprs(o.Args, " OR ") }
func (n *Not) String() string       { return "NOT " + n.E.String() }
func (n *Neg) String() string       { return "-" + n.E.String() }
func (c *Cast) String() string      { return c.E.String() + "::" + c.T.String() }
func (*UniqueRowID) String() string { return "unique_rowid()" }
func (n *IsNull) String() string {
	if n.Not {
		return n.E.String() + " IS NOT NULL"
	}
	return n.E.String() + " IS NULL"
}

func joinExprs(es []Expr, sep string) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return "(" + strings.Join(s, sep) + ")"
}

// conjuncts flattens a filter into its AND-ed parts.
func conjuncts(e Expr) []Expr {
	if e == nil {
		return nil
	}
	if a, ok := e.(*And); ok {
		var out []Expr
		for _, x := range a.Args {
			out = append(out, conjuncts(x)...)
		}
		return out
	}
	return []Expr{e}
}
