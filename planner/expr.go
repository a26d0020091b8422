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

// Type implementations.
func (c *Const) Type() types.T      { return c.T }
func (c *ColRef) Type() types.T     { return c.T }
func (b *Binary) Type() types.T     { return b.T }
func (*And) Type() types.T          { return types.Bool }
func (*Or) Type() types.T           { return types.Bool }
func (*Not) Type() types.T          { return types.Bool }
func (n *Neg) Type() types.T        { return n.E.Type() }
func (*IsNull) Type() types.T       { return types.Bool }
func (c *Cast) Type() types.T       { return c.T }
func (*UniqueRowID) Type() types.T  { return types.Int8 }
func (c *Const) String() string     { return c.Val.String() }
func (c *ColRef) String() string    { return c.Name }
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
