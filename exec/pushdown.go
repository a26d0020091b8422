package exec

import (
	"context"
	"sort"
	"sync"

	"github.com/shardsql/shardsql/internal/scanstat"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// Pushdown is implemented by a KV that can run a Program on the shard
// servers holding a span (txn.Txn). Rows a program returns come to fn in
// key order (any order with opts.Unordered), merged with the transaction's
// own writes; partial results come to partial. opts.Limit bounds the rows
// of one request (0: none).
type Pushdown interface {
	ScanProgram(ctx context.Context, start, end []byte, program []byte, opts scanstat.Options,
		fn func(key, value []byte) error, partial func(b []byte) error, stats func(scanstat.Stat)) error
	// HasWritesIn reports whether the transaction has buffered writes in
	// the span (then partial aggregation and top-N cannot run remotely).
	HasWritesIn(start, end []byte) bool
}

type noPushdownKey struct{}

// WithoutPushdown returns a context under which statements read whole rows
// and compute everything on the frontend (to measure what pushdown saves).
func WithoutPushdown(ctx context.Context) context.Context {
	return context.WithValue(ctx, noPushdownKey{}, true)
}

// pushdown returns the KV's Pushdown when pushdown is on.
func (r *runner) pushdown() Pushdown {
	if r.ctx.Value(noPushdownKey{}) != nil {
		return nil
	}
	pd, _ := r.kv.(Pushdown)
	return pd
}

// scanPush is what the executor decided to push down for one scan.
type scanPush struct {
	filter planner.Expr // the pushable conjuncts of the scan's filter
	// fullFilter is true when filter is the scan's whole filter.
	fullFilter bool
	needed     []bool
	limit      int
	topN       *TopN
}

// prepareSelect works out, before a SELECT runs, which columns each scan
// needs and which scans a LIMIT or ORDER BY ... LIMIT bounds.
func (r *runner) prepareSelect(root planner.Rel) {
	if r.pushdown() == nil {
		return
	}
	r.push = map[*planner.Scan]*scanPush{}
	needed := planner.NeededColumns(root)
	r.walkRels(root, func(rel planner.Rel) {
		switch rel := rel.(type) {
		case *planner.Scan:
			sp := r.scanPushFor(rel)
			if n, ok := needed[rel]; ok {
				for _, b := range n {
					if !b {
						sp.needed = n
						break
					}
				}
			}
		case *planner.Limit:
			r.prepareLimit(rel)
		}
	})
}

func (r *runner) scanPushFor(s *planner.Scan) *scanPush {
	if sp, ok := r.push[s]; ok {
		return sp
	}
	if r.push == nil {
		r.push = map[*planner.Scan]*scanPush{}
	}
	sp := &scanPush{}
	var parts []planner.Expr
	all := true
	for _, c := range conjunctsOf(s.Filter) {
		if Pushable(c) {
			parts = append(parts, c)
		} else {
			all = false
		}
	}
	sp.filter = andOf(parts)
	sp.fullFilter = all
	r.push[s] = sp
	return sp
}

// andOf is the conjunction of parts (nil for none).
func andOf(parts []planner.Expr) planner.Expr {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	return &planner.And{Args: parts}
}

func conjunctsOf(e planner.Expr) []planner.Expr {
	if e == nil {
		return nil
	}
	if a, ok := e.(*planner.And); ok {
		var out []planner.Expr
		for _, x := range a.Args {
			out = append(out, conjunctsOf(x)...)
		}
		return out
	}
	return []planner.Expr{e}
}

// prepareLimit gives the scan under a LIMIT (through projections and
// filters) a row bound per request, or a top-N when a sort sits between.
func (r *runner) prepareLimit(l *planner.Limit) {
	if l.Count < 0 {
		return
	}
	n := l.Count + l.Offset
	if n <= 0 || n > 100000 {
		return
	}
	in := l.Input
	for {
		switch x := in.(type) {
		case *planner.Project:
			in = x.Input
			continue
		case *planner.Filter:
			in = x.Input
			continue
		case *planner.Scan:
			r.scanPushFor(x).limit = int(n)
			return
		case *planner.Sort:
			r.prepareTopN(x, int(n))
		}
		return
	}
}

// prepareTopN pushes ORDER BY ... LIMIT n down to a scan under the sort
// when every sort key is a pushable expression over the scan's row and
// every filter on the way is pushed too (so the shard's n best rows are
// the only candidates).
func (r *runner) prepareTopN(s *planner.Sort, n int) {
	in := s.Input
	var proj *planner.Project
	var filters []planner.Expr
	for {
		switch x := in.(type) {
		case *planner.Project:
			if proj != nil {
				return
			}
			proj = x
			in = x.Input
			continue
		case *planner.Filter:
			if !Pushable(x.Pred) {
				return
			}
			filters = append(filters, x.Pred)
			in = x.Input
			continue
		case *planner.Scan:
			if r.lockScans[x] || r.access(x).Point != nil {
				return
			}
			sp := r.scanPushFor(x)
			if !sp.fullFilter {
				return
			}
			t := &TopN{N: n}
			cols := x.Cols()
			for _, k := range s.Keys {
				var e planner.Expr
				if proj != nil {
					if k.Col >= len(proj.Exprs) {
						return
					}
					e = proj.Exprs[k.Col]
				} else {
					if k.Col >= len(cols) {
						return
					}
					e = &planner.ColRef{Ord: k.Col, Name: cols[k.Col].Name, T: cols[k.Col].T}
				}
				if !Pushable(e) {
					return
				}
				t.Keys = append(t.Keys, TopNKey{E: e, Desc: k.Desc, NullsFirst: k.NullsFirst})
			}
			if len(filters) > 0 {
				all := append([]planner.Expr{}, filters...)
				if sp.filter != nil {
					all = append(all, sp.filter)
				}
				sp.filter = &planner.And{Args: all}
			}
			sp.topN = t
		}
		return
	}
}

// walkRels calls f on rel and every relation under it (not inside subqueries).
func (r *runner) walkRels(rel planner.Rel, f func(planner.Rel)) {
	f(rel)
	switch x := rel.(type) {
	case *planner.Filter:
		r.walkRels(x.Input, f)
	case *planner.Project:
		r.walkRels(x.Input, f)
	case *planner.Join:
		r.walkRels(x.Left, f)
		r.walkRels(x.Right, f)
	case *planner.Aggregate:
		r.walkRels(x.Input, f)
	case *planner.Distinct:
		r.walkRels(x.Input, f)
	case *planner.Sort:
		r.walkRels(x.Input, f)
	case *planner.Limit:
		r.walkRels(x.Input, f)
	case *planner.SetOp:
		r.walkRels(x.Left, f)
		r.walkRels(x.Right, f)
	case *planner.Window:
		r.walkRels(x.Input, f)
	}
}

// program returns the encoded program for a scan over one span, or nil
// when nothing would be pushed.
func (r *runner) program(s *planner.Scan, pd Pushdown, sp planner.Span) []byte {
	if pd == nil || s.KeysOnly || r.access(s).Point != nil {
		return nil
	}
	push := r.push[s]
	if push == nil {
		push = r.scanPushFor(s)
	}
	p := &Program{Table: s.Table, Filter: push.filter, Needed: push.needed, Limit: push.limit}
	if push.topN != nil && !pd.HasWritesIn(sp.Start, sp.End) {
		p.TopN, p.Limit = push.topN, 0
	}
	if p.Filter == nil && p.Needed == nil && p.Limit == 0 && p.TopN == nil {
		return nil
	}
	return p.encode(r.params)
}

// scanPushed reads one span through a program.
func (r *runner) scanPushed(s *planner.Scan, pd Pushdown, sp planner.Span, prog []byte, visit func(key, value []byte) error) error {
	var opts scanstat.Options
	if push := r.push[s]; push != nil {
		opts.Limit = push.limit
	}
	return pd.ScanProgram(r.ctx, sp.Start, sp.End, prog, opts, visit, nil, r.statFn(s))
}

// tryPushAggregate computes an aggregation from partial aggregates the
// shards compute, when its input is a scan whose filter, grouping and
// aggregates can all run there. ok is false when it did not apply.
func (r *runner) tryPushAggregate(a *planner.Aggregate, emit func([]types.Datum) error) (ok bool, err error) {
	pd := r.pushdown()
	if pd == nil {
		return false, nil
	}
	s, filter, ok := r.aggPushdown(a)
	if !ok {
		return false, nil
	}
	for _, sp := range r.access(s).Spans {
		if pd.HasWritesIn(sp.Start, sp.End) {
			return false, nil
		}
	}
	prog := (&Program{Table: s.Table, Filter: filter, Agg: &PartialAgg{Group: a.Group, Aggs: a.Aggs}}).encode(r.params)
	table := newAggTable(a.Aggs)
	var mu sync.Mutex
	merge := func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		before := len(table.order)
		if err := table.merge(b); err != nil {
			return err
		}
		if len(table.order) > before {
			return r.grow(int64(len(b))+96, "aggregation")
		}
		return nil
	}
	for _, sp := range r.access(s).Spans {
		if err := pd.ScanProgram(r.ctx, sp.Start, sp.End, prog, scanstat.Options{Unordered: true}, func(_, _ []byte) error { return nil }, merge, r.statFn(s)); err != nil {
			return true, err
		}
	}
	r.noteRows(s, int64(len(table.order)))
	return true, emitGroups(a, table.order, table.calls, emit)
}

// aggPushdown reports whether an aggregation can run as partial
// aggregates on the shards: its input is a scan (under at most a filter)
// and its filter, grouping and aggregates are all pushable. It returns the
// scan and the whole filter to push.
func (r *runner) aggPushdown(a *planner.Aggregate) (*planner.Scan, planner.Expr, bool) {
	in := a.Input
	var pred planner.Expr
	if f, isF := in.(*planner.Filter); isF {
		pred, in = f.Pred, f.Input
	}
	s, isScan := in.(*planner.Scan)
	if !isScan || r.lockScans[s] || r.access(s).Point != nil {
		return nil, nil, false
	}
	filter := s.Filter
	if pred != nil {
		if filter == nil {
			filter = pred
		} else {
			filter = &planner.And{Args: []planner.Expr{filter, pred}}
		}
	}
	if filter != nil && !Pushable(filter) {
		return nil, nil, false
	}
	for _, g := range a.Group {
		if !Pushable(g) {
			return nil, nil, false
		}
	}
	for _, c := range a.Aggs {
		if !PushableAgg(c) {
			return nil, nil, false
		}
	}
	return s, filter, true
}

// emitGroups emits one row per group (one for an empty input without
// grouping): the group values, then the aggregates.
func emitGroups(a *planner.Aggregate, order []*group, calls []*planner.AggCall, emit func([]types.Datum) error) error {
	if len(a.Group) == 0 && len(order) == 0 {
		g := &group{}
		for _, c := range calls {
			g.states = append(g.states, newAggState(c))
		}
		order = append(order, g)
	}
	for _, g := range order {
		row := append([]types.Datum{}, g.vals...)
		for _, st := range g.states {
			v, err := st.result()
			if err != nil {
				return err
			}
			row = append(row, v)
		}
		if err := emit(row); err != nil {
			return err
		}
	}
	return nil
}

// sortTopByKey puts a top-N's rows back in key order, so that the
// frontend's stable sort breaks ties as it would without pushdown.
func sortTopByKey(rows []OutPair) {
	sort.Slice(rows, func(i, j int) bool { return compareKeys(rows[i].Key, rows[j].Key) < 0 })
}
