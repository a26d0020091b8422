package exec

import (
	"strings"

	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// corrIndex runs a correlated subquery as a hash semi-join: the inner
// table is read once per statement and its rows hashed by the columns
// that equality conjuncts tie to the outer row (inner.col = outer.col);
// each outer row then checks only the rows with its key, instead of
// reading and filtering the inner table again.
type corrIndex struct {
	proj *planner.Project // nil: the subquery's value is the row's first column
	// agg, when set, aggregates the passing rows (no GROUP BY): the
	// subquery's one row is the aggregates, then proj over them.
	agg       *planner.Aggregate
	pred      []planner.Expr // every conjunct, checked on each candidate
	innerKeys []planner.Expr // over the inner row
	outerKeys []planner.Expr // outer references of depth 1
	rows      map[string][][]types.Datum
}

// corrIndexFor returns the hash index of a correlated subquery, building it
// on first use, or nil when the subquery does not have that shape.
func (r *runner) corrIndexFor(sq *planner.Subquery, en *env) (*corrIndex, error) {
	if idx, ok := r.corrIdx[sq.ID]; ok {
		return idx, nil
	}
	if r.corrIdx == nil {
		r.corrIdx = map[int]*corrIndex{}
	}
	idx := corrShape(sq.Rel)
	if idx != nil && r.lockScans[idx.scanOf(sq.Rel)] {
		idx = nil
	}
	r.corrIdx[sq.ID] = idx
	if idx == nil {
		return nil, nil
	}
	s := idx.scanOf(sq.Rel)
	// Read the inner rows once, filtered by the conjuncts that do not
	// read the outer row.
	var local []planner.Expr
	for _, c := range idx.pred {
		if !readsOuter(c) {
			local = append(local, c)
		}
	}
	cp := *s
	cp.Filter = andOf(local)
	idx.rows = map[string][][]types.Datum{}
	r.inSubquery++
	err := r.scan(&cp, en, func(_ []byte, row []types.Datum) error {
		k, ok, err := r.joinKey(idx.innerKeys, row, en)
		if err != nil || !ok {
			return err
		}
		idx.rows[k] = append(idx.rows[k], row)
		return r.grow(rowSize(row), "correlated subquery's hash table")
	})
	r.inSubquery--
	if err != nil {
		delete(r.corrIdx, sq.ID)
		return nil, err
	}
	return idx, nil
}

func (idx *corrIndex) scanOf(rel planner.Rel) *planner.Scan {
	if p, ok := rel.(*planner.Project); ok {
		rel = p.Input
	}
	if a, ok := rel.(*planner.Aggregate); ok {
		rel = a.Input
	}
	if f, ok := rel.(*planner.Filter); ok {
		rel = f.Input
	}
	s, _ := rel.(*planner.Scan)
	return s
}

// corrShape matches [Project] [Filter] Scan with at least one conjunct
// inner column = outer reference (depth 1) of the same key class.
func corrShape(rel planner.Rel) *corrIndex {
	idx := &corrIndex{}
	if p, ok := rel.(*planner.Project); ok {
		idx.proj, rel = p, p.Input
	}
	if a, ok := rel.(*planner.Aggregate); ok {
		if len(a.Group) > 0 {
			return nil
		}
		for _, c := range a.Aggs {
			if c.Arg != nil && subqueryIn([]planner.Expr{c.Arg}) || c.Sep != nil && subqueryIn([]planner.Expr{c.Sep}) ||
				c.Filter != nil || len(c.Order) > 0 || c.Distinct {
				return nil
			}
		}
		idx.agg, rel = a, a.Input
	}
	if f, ok := rel.(*planner.Filter); ok {
		idx.pred = append(idx.pred, conjunctsOf(f.Pred)...)
		rel = f.Input
	}
	s, ok := rel.(*planner.Scan)
	if !ok || s.KeysOnly {
		return nil
	}
	idx.pred = append(idx.pred, conjunctsOf(s.Filter)...)
	for _, c := range idx.pred {
		b, ok := c.(*planner.Binary)
		if !ok || b.Op != planner.OpEq {
			continue
		}
		in, out := b.L, b.R
		if _, isOuter := in.(*planner.OuterRef); isOuter {
			in, out = out, in
		}
		col, okIn := in.(*planner.ColRef)
		o, okOut := out.(*planner.OuterRef)
		if !okIn || !okOut || o.Depth != 1 || keyClass(col.T.Family) != keyClass(o.T.Family) {
			continue
		}
		idx.innerKeys = append(idx.innerKeys, col)
		idx.outerKeys = append(idx.outerKeys, o)
	}
	if len(idx.innerKeys) == 0 || subqueryIn(idx.pred) || (idx.proj != nil && subqueryIn(idx.proj.Exprs)) {
		return nil
	}
	return idx
}

// readsOuter reports whether e reads an enclosing row.
func readsOuter(e planner.Expr) bool {
	found := false
	walkExpr(e, func(x planner.Expr) {
		switch x.(type) {
		case *planner.OuterRef, *planner.Subquery:
			found = true
		}
	})
	return found
}

func subqueryIn(es []planner.Expr) bool {
	for _, e := range es {
		found := false
		walkExpr(e, func(x planner.Expr) {
			if _, ok := x.(*planner.Subquery); ok {
				found = true
			}
		})
		if found {
			return true
		}
	}
	return false
}

// walkExpr calls f on every node of e (not inside subqueries); unknown
// node kinds are reported as a Subquery so callers stay conservative.
func walkExpr(e planner.Expr, f func(planner.Expr)) {
	if e == nil {
		return
	}
	f(e)
	switch x := e.(type) {
	case *planner.Const, *planner.ColRef, *planner.OuterRef, *planner.Param, *planner.Subquery, *planner.UniqueRowID:
	case *planner.Binary:
		walkExpr(x.L, f)
		walkExpr(x.R, f)
	case *planner.And:
		for _, a := range x.Args {
			walkExpr(a, f)
		}
	case *planner.Or:
		for _, a := range x.Args {
			walkExpr(a, f)
		}
	case *planner.Not:
		walkExpr(x.E, f)
	case *planner.Neg:
		walkExpr(x.E, f)
	case *planner.IsNull:
		walkExpr(x.E, f)
	case *planner.Cast:
		walkExpr(x.E, f)
	case *planner.Func:
		for _, a := range x.Args {
			walkExpr(a, f)
		}
	case *planner.Case:
		walkExpr(x.Operand, f)
		for _, w := range x.Whens {
			walkExpr(w.Cond, f)
			walkExpr(w.Result, f)
		}
		walkExpr(x.Else, f)
	case *planner.Like:
		walkExpr(x.E, f)
		walkExpr(x.Pattern, f)
	case *planner.IsDistinct:
		walkExpr(x.L, f)
		walkExpr(x.R, f)
	default:
		f(&planner.Subquery{})
	}
}

// corrRows returns the values the subquery yields for the outer row en:
// the candidates with its key that pass every conjunct, projected. With
// first it stops at the first one (EXISTS).
func (r *runner) corrRows(idx *corrIndex, en *env, first bool) ([]types.Datum, error) {
	var b strings.Builder
	noRows := false
	probe := &env{outer: en}
	for _, e := range idx.outerKeys {
		v, err := r.eval(e, probe)
		if err != nil {
			return nil, err
		}
		if v.IsNull() {
			noRows = true // = NULL admits no row
			break
		}
		datumKey(&b, v)
	}
	var out []types.Datum
	var states []*aggState
	if idx.agg != nil {
		first = false
		for _, c := range idx.agg.Aggs {
			states = append(states, newAggState(c))
		}
	} else if noRows {
		return nil, nil
	}
	var candidates [][]types.Datum
	if !noRows {
		candidates = idx.rows[b.String()]
	}
	for _, row := range candidates {
		if err := r.tick(); err != nil {
			return nil, err
		}
		inner := &env{row: row, outer: en}
		pass := true
		for _, c := range idx.pred {
			v, err := r.eval(c, inner)
			if err != nil {
				return nil, err
			}
			if !truth(v) {
				pass = false
				break
			}
		}
		if !pass {
			continue
		}
		if states != nil {
			for _, st := range states {
				v, sep := types.Null, types.Null
				var err error
				if st.call.Arg != nil {
					if v, err = r.eval(st.call.Arg, inner); err != nil {
						return nil, err
					}
				}
				if st.call.Sep != nil {
					if sep, err = r.eval(st.call.Sep, inner); err != nil {
						return nil, err
					}
				}
				if err := st.add(v, sep); err != nil {
					return nil, err
				}
			}
			continue
		}
		v := row[0]
		if idx.proj != nil {
			var err error
			if v, err = r.eval(idx.proj.Exprs[0], inner); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
		if first {
			break
		}
	}
	if states != nil { // the aggregate's one row
		row := make([]types.Datum, len(states))
		for i, st := range states {
			v, err := st.result()
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		v := row[0]
		if idx.proj != nil {
			var err error
			if v, err = r.eval(idx.proj.Exprs[0], &env{row: row, outer: en}); err != nil {
				return nil, err
			}
		}
		return []types.Datum{v}, nil
	}
	return out, nil
}
