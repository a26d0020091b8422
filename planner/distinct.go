package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// distinctOn resolves the expressions of DISTINCT ON (an output position
// or name, else an expression, which may add a hidden output column to
// extras) and checks PostgreSQL's rule that they match the leftmost ORDER
// BY items: the ORDER BY items that are DISTINCT ON expressions must come
// first, and DISTINCT ON expressions not in ORDER BY are allowed only when
// every ORDER BY item is one (they are then sorted on after them).
// It returns the DISTINCT ON columns and the sort keys to use.
func (s *scope) distinctOn(items []*pg.Node, names []string, outs, extras []Expr, keys []SortKey) (on []int, _ []SortKey, _ []Expr, _ error) {
	inOn := map[int]bool{}
	for _, n := range items {
		idx, err := outputIndex(n, names, s)
		if err != nil {
			return nil, nil, nil, err
		}
		if idx < 0 {
			e, err := s.buildExpr(n)
			if err != nil {
				return nil, nil, nil, err
			}
			for i, o := range append(append([]Expr{}, outs...), extras...) {
				if o.String() == e.String() {
					idx = i
					break
				}
			}
			if idx < 0 {
				idx = len(outs) + len(extras)
				extras = append(extras, e)
			}
		}
		if !inOn[idx] {
			inOn[idx] = true
			on = append(on, idx)
		}
	}
	mismatch := pgerr.New(pgerr.InvalidColumnRef, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
	skipped := false
	sorted := map[int]bool{}
	for _, k := range keys {
		if !inOn[k.Col] {
			skipped = true
			continue
		}
		if skipped {
			return nil, nil, nil, mismatch
		}
		sorted[k.Col] = true
	}
	for _, c := range on {
		if sorted[c] {
			continue
		}
		if skipped {
			return nil, nil, nil, mismatch
		}
		keys = append(keys, SortKey{Col: c})
	}
	return on, keys, extras, nil
}
