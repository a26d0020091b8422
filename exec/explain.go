package exec

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shardsql/shardsql/internal/scanstat"
	"github.com/shardsql/shardsql/planner"
)

// RangeNamer names the ranges a key span touches ("r12@s2"), for EXPLAIN.
type RangeNamer func(ctx context.Context, start, end []byte) ([]string, error)

// Explain renders the distributed plan of p, one line per output row:
// the operators, where each runs (frontend or shards), the spans and
// ranges each scan touches and what is pushed down to the shards. With an
// Analysis from running the statement (EXPLAIN ANALYZE) it adds rows and
// time per operator and, per scan, what each range read and sent back.
func Explain(ctx context.Context, p planner.Plan, ranges RangeNamer, an *Analysis, total time.Duration) []string {
	r := &runner{ctx: ctx, kv: explainKV{}, push: map[*planner.Scan]*scanPush{}}
	x := &explainer{r: r, ctx: ctx, ranges: ranges, an: an}
	switch p := p.(type) {
	case *planner.Select:
		if p.Lock != nil {
			r.lockScans = map[*planner.Scan]bool{}
			for _, s := range p.Lock.Scans {
				r.lockScans[s] = true
			}
			x.line(0, "LockRows (%s)", lockMode(p.Lock))
			x.depth = 1
		}
		r.prepareSelect(p.Root)
		x.rel(p.Root, x.depth)
	case *planner.Insert:
		x.line(0, "Insert on %s (frontend: writes buffered, committed with the transaction)", p.Table.Name)
		if p.Source != nil {
			r.prepareSelect(p.Source)
			x.rel(p.Source, 1)
		} else {
			x.line(1, "Values (%d rows)", len(p.Rows))
		}
	case *planner.Update:
		x.line(0, "Update on %s (frontend: writes buffered, committed with the transaction)", p.Table.Name)
		if p.From != nil {
			x.rel(p.From, 1)
		} else {
			x.rel(p.Source, 1)
		}
	case *planner.Delete:
		x.line(0, "Delete on %s (frontend: writes buffered, committed with the transaction)", p.Table.Name)
		if p.Using != nil {
			x.rel(p.Using, 1)
		} else {
			x.rel(p.Source, 1)
		}
	}
	if an != nil {
		x.lines = append(x.lines, fmt.Sprintf("Execution Time: %s", ms(total)))
	}
	return x.lines
}

func lockMode(l *planner.RowLock) string {
	switch {
	case l.NoWait:
		return "NOWAIT"
	case l.SkipLocked:
		return "SKIP LOCKED"
	}
	return "wait"
}

type explainer struct {
	r      *runner
	ctx    context.Context
	ranges RangeNamer
	an     *Analysis
	lines  []string
	depth  int
}

func (x *explainer) line(depth int, format string, args ...any) {
	prefix := ""
	if depth > 0 {
		prefix = strings.Repeat("      ", depth-1) + "  ->  "
	}
	x.lines = append(x.lines, prefix+fmt.Sprintf(format, args...))
}

// detail writes a line under the operator at depth.
func (x *explainer) detail(depth int, format string, args ...any) {
	pad := strings.Repeat("      ", depth)
	if depth == 0 {
		pad = "  "
	}
	x.lines = append(x.lines, pad+fmt.Sprintf(format, args...))
}

func (x *explainer) actual(rel planner.Rel) string {
	if x.an == nil {
		return ""
	}
	st, ok := x.an.ops[rel]
	if !ok {
		return " (never executed)"
	}
	return fmt.Sprintf(" (actual rows=%d loops=%d time=%s)", st.rows, st.loops, ms(st.dur))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

func (x *explainer) rel(rel planner.Rel, depth int) {
	switch rel := rel.(type) {
	case *planner.Scan:
		x.scan(rel, depth, nil)
	case *planner.Values:
		x.line(depth, "Values (%d rows, frontend)%s", len(rel.Rows), x.actual(rel))
	case *planner.Filter:
		x.line(depth, "Filter (frontend)%s", x.actual(rel))
		x.detail(depth, "Filter: %s", rel.Pred)
		x.rel(rel.Input, depth+1)
	case *planner.Project:
		x.line(depth, "Project (frontend)%s", x.actual(rel))
		x.detail(depth, "Output: %s", exprList(rel.Exprs))
		x.rel(rel.Input, depth+1)
	case *planner.Join:
		kind := [...]string{"Inner", "Left", "Right", "Full"}[rel.Kind]
		if lk := x.r.lookupJoinPlan(rel); lk != nil {
			how := fmt.Sprintf("Lookup Join %s (frontend; batched primary-key reads of %s while the left side has at most %d rows, else a hash join)", kind, lk.scan.Table.Name, lookupJoinMaxLeft)
			if x.an != nil {
				if n, ok := x.an.lookups[rel]; ok {
					how = fmt.Sprintf("Lookup Join %s (frontend; %d left rows looked up in %s by primary key)", kind, n, lk.scan.Table.Name)
				} else if x.an.ops[rel] != nil {
					how = fmt.Sprintf("Hash Join %s (frontend; the left side was too large for lookups)", kind)
				}
			}
			x.line(depth, "%s%s", how, x.actual(rel))
			x.detail(depth, "Hash Cond: %s = %s", exprList(rel.LeftKeys), exprList(rel.RightKeys))
		} else if len(rel.LeftKeys) > 0 {
			x.line(depth, "Hash Join %s (frontend)%s", kind, x.actual(rel))
			x.detail(depth, "Hash Cond: %s = %s", exprList(rel.LeftKeys), exprList(rel.RightKeys))
		} else {
			x.line(depth, "Nested Loop %s (frontend)%s", kind, x.actual(rel))
		}
		if rel.On != nil {
			x.detail(depth, "Join Filter: %s", rel.On)
		}
		x.rel(rel.Left, depth+1)
		x.rel(rel.Right, depth+1)
	case *planner.Aggregate:
		if s, filter, ok := x.r.aggPushdown(rel); ok && x.r.pushdown() != nil {
			x.line(depth, "Final Aggregate (frontend: merges partial aggregates from the shards)%s", x.actual(rel))
			x.detail(depth, "Group Key: %s  Aggregates: %s", exprList(rel.Group), aggList(rel.Aggs))
			x.scan(s, depth+1, &scanPushDesc{filter: filter, agg: true})
			return
		}
		x.line(depth, "Hash Aggregate (frontend)%s", x.actual(rel))
		x.detail(depth, "Group Key: %s  Aggregates: %s", exprList(rel.Group), aggList(rel.Aggs))
		x.rel(rel.Input, depth+1)
	case *planner.Distinct:
		x.line(depth, "Distinct (frontend)%s", x.actual(rel))
		x.rel(rel.Input, depth+1)
	case *planner.Sort:
		keys := make([]string, len(rel.Keys))
		for i, k := range rel.Keys {
			keys[i] = fmt.Sprintf("#%d", k.Col)
			if k.Desc {
				keys[i] += " DESC"
			}
		}
		x.line(depth, "Sort (frontend)%s", x.actual(rel))
		x.detail(depth, "Sort Key: %s", strings.Join(keys, ", "))
		x.rel(rel.Input, depth+1)
	case *planner.Limit:
		count := "ALL"
		if rel.Count >= 0 {
			count = fmt.Sprint(rel.Count)
		}
		x.line(depth, "Limit %s offset %d (frontend)%s", count, rel.Offset, x.actual(rel))
		x.rel(rel.Input, depth+1)
	case *planner.Window:
		names := make([]string, len(rel.Funcs))
		for i, f := range rel.Funcs {
			names[i] = f.Name
			if f.Agg != nil {
				names[i] = f.Agg.Name
			}
		}
		x.line(depth, "WindowAgg (frontend)%s", x.actual(rel))
		x.detail(depth, "Functions: %s", strings.Join(names, ", "))
		x.rel(rel.Input, depth+1)
	case *planner.SetOp:
		op := strings.ToUpper(rel.Op)
		if rel.All {
			op += " ALL"
		}
		x.line(depth, "%s (frontend)%s", op, x.actual(rel))
		x.rel(rel.Left, depth+1)
		x.rel(rel.Right, depth+1)
	default:
		x.line(depth, "%s (frontend)%s", strings.TrimPrefix(fmt.Sprintf("%T", rel), "*planner."), x.actual(rel))
	}
}

type scanPushDesc struct {
	filter planner.Expr
	agg    bool
}

func (x *explainer) scan(s *planner.Scan, depth int, agg *scanPushDesc) {
	access := "full table"
	switch {
	case s.Access.Point != nil:
		access = "point lookup by primary key"
	case !s.Access.Full:
		access = fmt.Sprintf("%d primary-key span(s)", len(s.Access.Spans))
	}
	name := s.Table.Name
	if s.Alias != "" && s.Alias != name {
		name += " " + s.Alias
	}
	act := x.actual(s)
	if x.an != nil && x.an.ops[s] == nil {
		if sa, ok := x.an.scans[s]; ok { // read by an aggregate or a write, not as an operator
			act = fmt.Sprintf(" (actual rows=%d)", sa.rowsIn+sa.partialGroups)
		}
	}
	x.line(depth, "Scan %s (shards; %s)%s", name, access, act)
	var rs []string
	spans := s.Access.Spans
	if s.Access.Point != nil {
		end := append(append([]byte(nil), s.Access.Point...), 0)
		spans = []planner.Span{{Start: s.Access.Point, End: end}}
	}
	if x.ranges != nil {
		for _, sp := range spans {
			names, err := x.ranges(x.ctx, sp.Start, sp.End)
			if err != nil {
				rs = append(rs, "?")
				continue
			}
			rs = append(rs, names...)
		}
		x.detail(depth, "Ranges: %d (%s)", len(rs), strings.Join(rs, " "))
	}
	if s.Filter != nil && agg == nil {
		x.detail(depth, "Filter: %s", s.Filter)
	}
	var pushed []string
	if x.r.pushdown() == nil {
		x.detail(depth, "Pushed down: nothing (shardsql.pushdown is off)")
		x.analyzed(s, depth)
		return
	}
	if agg != nil {
		if agg.filter != nil {
			pushed = append(pushed, "filter "+agg.filter.String())
		}
		pushed = append(pushed, "partial aggregate")
	} else if s.Access.Point == nil && !s.KeysOnly {
		sp := x.r.scanPushFor(s)
		if sp.filter != nil {
			f := "filter " + sp.filter.String()
			if !sp.fullFilter {
				f += " (the rest on the frontend)"
			}
			pushed = append(pushed, f)
		}
		if sp.needed != nil {
			var cols []string
			for i, n := range sp.needed {
				if n {
					cols = append(cols, s.Table.Columns[i].Name)
				}
			}
			pushed = append(pushed, "columns ("+strings.Join(cols, ", ")+")")
		}
		if sp.topN != nil {
			keys := make([]string, len(sp.topN.Keys))
			for i, k := range sp.topN.Keys {
				keys[i] = k.E.String()
				if k.Desc {
					keys[i] += " DESC"
				}
			}
			pushed = append(pushed, fmt.Sprintf("top %d by %s", sp.topN.N, strings.Join(keys, ", ")))
		} else if sp.limit > 0 {
			pushed = append(pushed, fmt.Sprintf("limit %d per request", sp.limit))
		}
	}
	if len(pushed) > 0 {
		x.detail(depth, "Pushed down: %s", strings.Join(pushed, "; "))
	} else {
		x.detail(depth, "Pushed down: nothing (whole rows to the frontend)")
	}
	x.analyzed(s, depth)
}

// analyzed writes what EXPLAIN ANALYZE measured for a scan.
func (x *explainer) analyzed(s *planner.Scan, depth int) {
	if x.an == nil {
		return
	}
	sa, ok := x.an.scans[s]
	if !ok {
		return
	}
	x.detail(depth, "Received on frontend: %d rows, %d bytes", sa.rowsIn, sa.bytesIn)
	if sa.partialGroups > 0 {
		x.detail(depth, "Partial aggregate groups merged: %d", sa.partialGroups)
	}
	for _, id := range sa.sortedRanges() {
		st := sa.ranges[id]
		x.detail(depth, "Range %d on shard %d: requests=%d keys read=%d rows returned=%d bytes returned=%d time=%s",
			id, st.shard, st.requests, st.keys, st.rows, st.bytes, ms(time.Duration(st.micros)*time.Microsecond))
	}
}

func exprList(es []planner.Expr) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func aggList(as []*planner.AggCall) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// explainKV stands in for a pushdown-capable KV while EXPLAIN decides what
// would be pushed down; it is never read from.
type explainKV struct{}

func (explainKV) Get(context.Context, []byte) ([]byte, bool, error) { return nil, false, nil }
func (explainKV) Scan(context.Context, []byte, []byte, bool, func(k, v []byte) error) error {
	return nil
}
func (explainKV) Put(_, _ []byte)          {}
func (explainKV) Insert(_, _ []byte) error { return nil }
func (explainKV) Delete([]byte)            {}
func (explainKV) ScanProgram(context.Context, []byte, []byte, []byte, scanstat.Options, func(k, v []byte) error, func([]byte) error, func(scanstat.Stat)) error {
	return nil
}
func (explainKV) HasWritesIn(_, _ []byte) bool { return false }
func (explainKV) BatchGet(context.Context, [][]byte) (map[string][]byte, error) {
	return nil, nil
}
