package planner

import "github.com/shardsql/shardsql/internal/types"

// ConstEvaluator evaluates an expression over constants only, reporting
// false when it cannot (a volatile function, an error at evaluation: then
// the expression is left for run time, which raises the error only if a
// row needs it). The executor installs it; the planner does no evaluation
// of its own.
var ConstEvaluator func(e Expr) (types.Datum, bool)

// foldConstants replaces every subexpression whose operands are all
// constants by its value (constant folding), so that `k = 1 + 2` reads one
// key and shard servers do not compute 1 + 2 per row.
func foldConstants(e Expr) Expr {
	if e == nil || ConstEvaluator == nil {
		return e
	}
	out, _ := mapExpr(e, func(x Expr) (Expr, error) {
		switch x.(type) {
		case *Const, *ColRef, *OuterRef, *Param, *Subquery, *AggCall, *UniqueRowID:
			return x, nil
		}
		if x.Type().Family == types.UnknownFamily || !childrenConst(x) {
			return x, nil
		}
		if v, ok := ConstEvaluator(x); ok {
			return &Const{Val: v, T: x.Type()}, nil
		}
		return x, nil
	})
	return out
}

// childrenConst reports whether every direct operand of e is a constant.
func childrenConst(e Expr) bool {
	all := true
	mapChildren(e, func(c Expr) (Expr, error) {
		if c == nil {
			return c, nil
		}
		if _, ok := c.(*Const); !ok {
			all = false
		}
		return c, nil
	})
	return all
}

// withAccess folds a scan's filter and derives its key spans from it.
func (s *Scan) withAccess() {
	s.Filter = foldConstants(s.Filter)
	s.Access = access(s.Table, s.Filter)
}
