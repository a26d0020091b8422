package exec

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"sort"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// ProgramRunner runs a pushed-down Program on a shard server over the
// visible rows of one request's span, fed to it in key order by Add.
type ProgramRunner struct {
	p   *Program
	r   *runner
	dec *rowDecoder
	// neededIDs are the column ids a returned value keeps (nil: all).
	neededIDs map[uint32]bool

	rows  []OutPair
	top   []topRow
	aggs  *aggTable
	bytes int
	// KeysRead counts the rows Add was given.
	KeysRead int
	keysOnly bool
}

// OutPair is a row a program returns: its key and its (cut down) value.
type OutPair struct{ Key, Value []byte }

type topRow struct {
	pair OutPair
	keys []types.Datum
}

// NewProgramRunner prepares p to run under ctx.
func NewProgramRunner(ctx context.Context, p *Program) *ProgramRunner {
	pr := &ProgramRunner{p: p, dec: newRowDecoder(p.Table)}
	pr.r = &runner{ctx: ctx, subqueries: map[int]*subResult{}, scans: map[string][]kvPair{}}
	if p.Needed != nil {
		pr.neededIDs = map[uint32]bool{}
		for i, n := range p.Needed {
			if n {
				pr.neededIDs[p.Table.Columns[i].ID] = true
			}
		}
	}
	if p.Agg != nil {
		pr.aggs = newAggTable(p.Agg.Aggs)
		// An aggregation that reads only primary-key columns (count(*))
		// needs no row values: the shard reads keys only.
		exprs := append([]planner.Expr{p.Filter}, p.Agg.Group...)
		for _, a := range p.Agg.Aggs {
			exprs = append(exprs, a.Arg)
		}
		pr.keysOnly = !readsValueColumns(p.Table, exprs)
	}
	return pr
}

// readsValueColumns reports whether the expressions read a column that is
// not part of the primary key.
func readsValueColumns(t *planner.Table, exprs []planner.Expr) bool {
	pk := map[int]bool{}
	for _, o := range t.PK {
		pk[o] = true
	}
	found := false
	for _, e := range exprs {
		walkExpr(e, func(x planner.Expr) {
			switch x := x.(type) {
			case *planner.ColRef:
				if !pk[x.Ord] {
					found = true
				}
			case *planner.Subquery: // walkExpr's mark of an unknown node
				found = true
			}
		})
	}
	return found
}

// KeysOnly reports whether the program needs only the rows' keys.
func (pr *ProgramRunner) KeysOnly() bool { return pr.keysOnly }

// Add feeds one row. full reports that the request should end after it
// (its row limit is reached, or a filter failed on this row: the row is
// returned unfiltered so that the frontend, which filters again, raises
// the error only if it really reaches the row).
func (pr *ProgramRunner) Add(key, value []byte) (full bool, err error) {
	pr.KeysRead++
	if err := pr.r.tick(); err != nil {
		return false, err
	}
	row, err := pr.dec.decode(key, value, pr.keysOnly)
	if err != nil {
		return false, err
	}
	if pr.p.Filter != nil {
		v, err := pr.r.eval(pr.p.Filter, &env{row: row})
		if err != nil {
			if pr.p.Agg != nil || pr.p.TopN != nil {
				return false, err
			}
			pr.emit(key, value)
			return true, nil
		}
		if !truth(v) {
			return false, nil
		}
	}
	switch {
	case pr.p.Agg != nil:
		return false, pr.aggs.add(pr.r, pr.p.Agg.Group, row)
	case pr.p.TopN != nil:
		return false, pr.addTop(key, value, row)
	}
	pr.emit(key, value)
	return pr.p.Limit > 0 && len(pr.rows) >= pr.p.Limit, nil
}

func (pr *ProgramRunner) cut(value []byte) []byte {
	if pr.neededIDs == nil {
		return append([]byte(nil), value...)
	}
	var ids, nulls []uint32
	var vals []types.Datum
	if err := rowenc.DecodeRowValue(value, func(id uint32, d types.Datum) {
		if !pr.neededIDs[id] {
			return
		}
		if d.IsNull() { // an explicit NULL (its absence would read a default)
			nulls = append(nulls, id)
			return
		}
		ids = append(ids, id)
		vals = append(vals, d)
	}); err != nil {
		return append([]byte(nil), value...)
	}
	out := rowenc.EncodeRowValue(nil, ids, vals)
	for _, id := range nulls {
		out = rowenc.AppendNullColumn(out, id)
	}
	return out
}

func (pr *ProgramRunner) emit(key, value []byte) {
	v := pr.cut(value)
	pr.rows = append(pr.rows, OutPair{Key: append([]byte(nil), key...), Value: v})
	pr.bytes += len(key) + len(v)
}

func (pr *ProgramRunner) addTop(key, value []byte, row []types.Datum) error {
	t := pr.p.TopN
	keys := make([]types.Datum, len(t.Keys))
	for i, k := range t.Keys {
		v, err := pr.r.eval(k.E, &env{row: row})
		if err != nil {
			return err
		}
		keys[i] = v
	}
	if len(pr.top) >= t.N && pr.compareTop(keys, pr.top[len(pr.top)-1].keys) >= 0 {
		return nil // not better than the worst kept: ties keep the earlier key
	}
	i := sort.Search(len(pr.top), func(i int) bool { return pr.compareTop(pr.top[i].keys, keys) > 0 })
	v := pr.cut(value)
	pr.top = append(pr.top, topRow{})
	copy(pr.top[i+1:], pr.top[i:])
	pr.top[i] = topRow{pair: OutPair{Key: append([]byte(nil), key...), Value: v}, keys: keys}
	if len(pr.top) > t.N {
		pr.top = pr.top[:t.N]
	}
	return nil
}

func (pr *ProgramRunner) compareTop(a, b []types.Datum) int {
	for i, k := range pr.p.TopN.Keys {
		if c := compareSortKey(a[i], b[i], k.Desc, k.NullsFirst); c != 0 {
			return c
		}
	}
	return 0
}

// Full reports whether the rows gathered so far fill a response (by count
// or bytes) for a program that returns rows.
func (pr *ProgramRunner) Full(maxRows, maxBytes int) bool {
	if pr.p.Agg != nil || pr.p.TopN != nil {
		return false
	}
	return len(pr.rows) >= maxRows || pr.bytes >= maxBytes
}

// Empty reports whether nothing has been gathered yet.
func (pr *ProgramRunner) Empty() bool {
	return len(pr.rows) == 0 && len(pr.top) == 0 && (pr.aggs == nil || len(pr.aggs.order) == 0)
}

// Result returns the rows (in key order, or in TopN order) and the
// encoded partial aggregation groups.
func (pr *ProgramRunner) Result() (rows []OutPair, partials [][]byte) {
	if pr.aggs != nil {
		return nil, pr.aggs.encode()
	}
	if pr.p.TopN != nil {
		for _, t := range pr.top {
			rows = append(rows, t.pair)
		}
		sortTopByKey(rows)
		return rows, nil
	}
	return pr.rows, nil
}

// --- partial aggregation ---

// aggTable is a hash aggregation whose groups can be encoded, decoded and
// merged: the shard side builds one per request, the frontend merges them.
type aggTable struct {
	calls  []*planner.AggCall
	groups map[string]*group
	order  []*group
}

func newAggTable(calls []*planner.AggCall) *aggTable {
	return &aggTable{calls: calls, groups: map[string]*group{}}
}

func (a *aggTable) group(vals []types.Datum) *group {
	k := rowKey(vals)
	g, ok := a.groups[k]
	if !ok {
		g = &group{vals: vals}
		for _, c := range a.calls {
			g.states = append(g.states, newAggState(c))
		}
		a.groups[k] = g
		a.order = append(a.order, g)
	}
	return g
}

func (a *aggTable) add(r *runner, groupBy []planner.Expr, row []types.Datum) error {
	en := &env{row: row}
	vals := make([]types.Datum, len(groupBy))
	for i, e := range groupBy {
		v, err := r.eval(e, en)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	g := a.group(vals)
	for _, st := range g.states {
		v := types.Null
		if st.call.Arg != nil {
			var err error
			if v, err = r.eval(st.call.Arg, en); err != nil {
				return err
			}
		}
		if err := st.add(v, types.Null); err != nil {
			return err
		}
	}
	return nil
}

func (a *aggTable) encode() [][]byte {
	out := make([][]byte, 0, len(a.order))
	for _, g := range a.order {
		w := &progWriter{}
		w.uvarint(uint64(len(g.vals)))
		for _, v := range g.vals {
			w.datum(v)
		}
		for _, st := range g.states {
			w.uvarint(uint64(st.count))
			w.flag(st.any)
			w.varint(st.sumInt)
			w.str(st.sumDec.Text('f'))
			w.b = binary.BigEndian.AppendUint64(w.b, math.Float64bits(st.sumFloat))
			w.datum(st.best)
			w.flag(st.boolAcc)
		}
		out = append(out, w.b)
	}
	return out
}

// merge folds an encoded partial group into the table.
func (a *aggTable) merge(b []byte) error {
	r := &progReader{b: b}
	n := r.count()
	vals := make([]types.Datum, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		vals = append(vals, r.datum())
	}
	if r.err != nil {
		return pgerr.Wrap(r.err, pgerr.Internal, "decoding partial aggregate")
	}
	g := a.group(vals)
	for _, st := range g.states {
		count := int64(r.uvarint())
		anyv := r.flag()
		sumInt, m := binary.Varint(r.b)
		if m <= 0 {
			r.fail()
			break
		}
		r.b = r.b[m:]
		var dec apd.Decimal
		if _, _, err := dec.SetString(r.str()); err != nil {
			r.fail()
			break
		}
		if len(r.b) < 8 {
			r.fail()
			break
		}
		sumFloat := math.Float64frombits(binary.BigEndian.Uint64(r.b))
		r.b = r.b[8:]
		best := r.datum()
		boolAcc := r.flag()
		if r.err != nil {
			break
		}
		if err := st.merge(count, anyv, sumInt, &dec, sumFloat, best, boolAcc); err != nil {
			return err
		}
	}
	if r.err != nil {
		return pgerr.Wrap(r.err, pgerr.Internal, "decoding partial aggregate")
	}
	return nil
}

// merge folds another partial state of the same aggregate into st.
func (st *aggState) merge(count int64, anyv bool, sumInt int64, sumDec *apd.Decimal, sumFloat float64, best types.Datum, boolAcc bool) error {
	first := !st.any
	st.count += count
	if !anyv {
		return nil
	}
	st.any = true
	s := st.sumInt + sumInt
	if (s > st.sumInt) != (sumInt > 0) && sumInt != 0 {
		return pgerr.New(pgerr.NumericOutOfRange, "bigint out of range")
	}
	st.sumInt = s
	if _, err := exactCtx.Add(&st.sumDec, &st.sumDec, sumDec); err != nil {
		return pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
	}
	st.sumFloat += sumFloat
	switch st.call.Name {
	case "min":
		if first || types.Compare(best, st.best) < 0 {
			st.best = best
		}
	case "max":
		if first || types.Compare(best, st.best) > 0 {
			st.best = best
		}
	case "bool_and":
		st.boolAcc = st.boolAcc && boolAcc
	case "bool_or":
		st.boolAcc = st.boolAcc || boolAcc
	}
	return nil
}

// compareKeys orders two keys (for callers merging sorted pair lists).
func compareKeys(a, b []byte) int { return bytes.Compare(a, b) }
