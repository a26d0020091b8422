package exec

import (
	"context"

	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

func init() { planner.ConstEvaluator = foldConst }

// foldConst evaluates an expression of constants for the planner's
// constant folding: only what a shard could evaluate too (immutable
// functions, no parameters or outer rows), and only when it succeeds.
func foldConst(e planner.Expr) (types.Datum, bool) {
	if !Pushable(e) || planner.HasParams(e) || readsColumns(e) {
		return types.Null, false
	}
	r := &runner{ctx: context.Background(), subqueries: map[int]*subResult{}, scans: map[string][]kvPair{}}
	v, err := r.eval(e, &env{})
	if err != nil {
		return types.Null, false
	}
	return v, true
}

func readsColumns(e planner.Expr) bool {
	found := false
	walkExpr(e, func(x planner.Expr) {
		switch x.(type) {
		case *planner.ColRef, *planner.OuterRef, *planner.Subquery:
			found = true
		}
	})
	return found
}
