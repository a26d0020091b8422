package exec

import (
	"slices"
	"sort"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// runWindow computes window functions: it reads all of its input, then
// per function sorts the rows by partition and window order and fills in
// one column. Rows come out in the order of the last function's window
// (as in PostgreSQL, where only a query's ORDER BY fixes the order).
func (r *runner) runWindow(w *planner.Window, outer *env, emit func([]types.Datum) error) error {
	in, err := r.collect(w.Input, outer)
	if err != nil {
		return err
	}
	width := len(w.Input.Cols())
	rows := make([][]types.Datum, len(in))
	for i, row := range in {
		rows[i] = make([]types.Datum, width+len(w.Funcs))
		copy(rows[i], row)
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sorted := map[string]*windowSort{}
	for k, f := range w.Funcs {
		spec := windowSpec(f)
		ws, ok := sorted[spec]
		if !ok {
			if ws, err = r.sortWindow(f, in, outer); err != nil {
				return err
			}
			sorted[spec] = ws
		}
		if err := r.windowColumn(f, ws, in, rows, width+k, outer); err != nil {
			return err
		}
		order = ws.idx
	}
	for _, i := range order {
		if err := emit(rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// windowSpec identifies a window's partitioning and ordering.
func windowSpec(f *planner.WindowCall) string {
	var b strings.Builder
	for _, p := range f.Partition {
		b.WriteString(p.String() + ";")
	}
	b.WriteString("|")
	for i, o := range f.Order {
		k := f.OrderKeys[i]
		b.WriteString(o.String())
		if k.Desc {
			b.WriteString(" desc")
		}
		if k.NullsFirst {
			b.WriteString(" nf")
		}
		b.WriteString(";")
	}
	return b.String()
}

// windowSort is the input in a window's order: idx lists row numbers;
// peerStart marks, per position, where its peer group (rows equal in the
// window's ORDER BY, within a partition) starts.
type windowSort struct {
	idx        []int
	peerStart  []int
	order      [][]types.Datum // order values per row number
	partitions [][2]int        // [start, end) positions of each partition
}

func (r *runner) sortWindow(f *planner.WindowCall, in [][]types.Datum, outer *env) (*windowSort, error) {
	n := len(in)
	part := make([][]types.Datum, n)
	ord := make([][]types.Datum, n)
	for i, row := range in {
		if err := r.tick(); err != nil {
			return nil, err
		}
		en := &env{row: row, outer: outer}
		part[i] = make([]types.Datum, len(f.Partition))
		for j, e := range f.Partition {
			v, err := r.eval(e, en)
			if err != nil {
				return nil, err
			}
			part[i][j] = v
		}
		ord[i] = make([]types.Datum, len(f.Order))
		for j, e := range f.Order {
			v, err := r.eval(e, en)
			if err != nil {
				return nil, err
			}
			ord[i][j] = v
		}
	}
	cmpPart := func(a, b int) int {
		for j := range f.Partition {
			if c := compareNulls(part[a][j], part[b][j], false); c != 0 {
				return c
			}
		}
		return 0
	}
	cmpOrd := func(a, b int) int {
		for j, k := range f.OrderKeys {
			if c := compareSortKey(ord[a][j], ord[b][j], k.Desc, k.NullsFirst); c != 0 {
				return c
			}
		}
		return 0
	}
	ws := &windowSort{idx: make([]int, n), peerStart: make([]int, n), order: ord}
	for i := range ws.idx {
		ws.idx[i] = i
	}
	slices.SortStableFunc(ws.idx, func(a, b int) int {
		if c := cmpPart(a, b); c != 0 {
			return c
		}
		return cmpOrd(a, b)
	})
	for p := 0; p < n; p++ {
		switch {
		case p == 0 || cmpPart(ws.idx[p-1], ws.idx[p]) != 0:
			ws.peerStart[p] = p
			if p > 0 {
				ws.partitions[len(ws.partitions)-1][1] = p
			}
			ws.partitions = append(ws.partitions, [2]int{p, n})
		case cmpOrd(ws.idx[p-1], ws.idx[p]) != 0:
			ws.peerStart[p] = p
		default:
			ws.peerStart[p] = ws.peerStart[p-1]
		}
	}
	return ws, nil
}

// peerEnd is the position after the last peer of the row at position p.
func (ws *windowSort) peerEnd(p, partEnd int) int {
	e := p + 1
	for e < partEnd && ws.peerStart[e] == ws.peerStart[p] {
		e++
	}
	return e
}

// frame returns the positions [lo, hi) of the frame of the row at p.
func frameOf(f *planner.WindowCall, ws *windowSort, p, ps, pe, peerEnd int) (int, int) {
	fr := f.Frame
	if !fr.Rows && (fr.Start == planner.OffsetPreceding || fr.Start == planner.OffsetFollowing ||
		fr.End == planner.OffsetPreceding || fr.End == planner.OffsetFollowing) {
		return rangeFrame(f, ws, p, ps, pe, peerEnd)
	}
	var lo, hi int
	switch fr.Start {
	case planner.UnboundedPreceding:
		lo = ps
	case planner.CurrentRow:
		lo = p
		if !fr.Rows {
			lo = ws.peerStart[p]
		}
	case planner.OffsetPreceding:
		lo = p - int(min(fr.StartOffset, int64(p-ps)))
	case planner.OffsetFollowing:
		lo = p + int(min(fr.StartOffset, int64(pe-p)))
	default:
		lo = pe
	}
	switch fr.End {
	case planner.UnboundedFollowing:
		hi = pe
	case planner.CurrentRow:
		hi = p + 1
		if !fr.Rows {
			hi = peerEnd
		}
	case planner.OffsetPreceding:
		hi = p + 1 - int(min(fr.EndOffset, int64(p+1-ps)))
	case planner.OffsetFollowing:
		hi = p + 1 + int(min(fr.EndOffset, int64(pe-p-1)))
	default:
		hi = ps
	}
	return lo, hi
}

// windowColumn computes f for every row into column col of rows.
func (r *runner) windowColumn(f *planner.WindowCall, ws *windowSort, in, rows [][]types.Datum, col int, outer *env) error {
	// Arguments, per row number.
	var args [][]types.Datum
	evalArgs := func(es []planner.Expr) error {
		args = make([][]types.Datum, len(in))
		for i, row := range in {
			if err := r.tick(); err != nil {
				return err
			}
			en := &env{row: row, outer: outer}
			args[i] = make([]types.Datum, len(es))
			for j, e := range es {
				if e == nil {
					args[i][j] = types.Null
					continue
				}
				v, err := r.eval(e, en)
				if err != nil {
					return err
				}
				args[i][j] = v
			}
		}
		return nil
	}
	var aggIn []aggInput // per row number (aggOK: FILTER admits the row)
	var aggOK []bool
	if f.Agg != nil {
		aggIn, aggOK = make([]aggInput, len(in)), make([]bool, len(in))
		for i, row := range in {
			if err := r.tick(); err != nil {
				return err
			}
			var err error
			if aggIn[i], aggOK[i], err = r.aggRow(f.Agg, &env{row: row, outer: outer}); err != nil {
				return err
			}
		}
	} else if err := evalArgs(f.Args); err != nil {
		return err
	}
	set := func(p int, v types.Datum) { rows[ws.idx[p]][col] = v }
	for _, pr := range ws.partitions {
		ps, pe := pr[0], pr[1]
		var err error
		switch f.Name {
		case "agg":
			err = windowAgg(f, ws, aggIn, aggOK, ps, pe, set)
		case "ntile":
			err = ntile(ws, args, ps, pe, set)
		default:
			err = windowRank(f, ws, args, ps, pe, set)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// windowRank computes the functions that do not aggregate.
func windowRank(f *planner.WindowCall, ws *windowSort, args [][]types.Datum, ps, pe int, set func(int, types.Datum)) error {
	dense := int64(0)
	peerEnd := ps
	for p := ps; p < pe; p++ {
		if p == peerEnd {
			peerEnd = ws.peerEnd(p, pe)
			dense++
		}
		a := args[ws.idx[p]]
		switch f.Name {
		case "row_number":
			set(p, types.NewInt(int64(p-ps+1)))
		case "rank":
			set(p, types.NewInt(int64(ws.peerStart[p]-ps+1)))
		case "dense_rank":
			set(p, types.NewInt(dense))
		case "percent_rank":
			v := 0.0
			if pe-ps > 1 {
				v = float64(ws.peerStart[p]-ps) / float64(pe-ps-1)
			}
			set(p, types.NewFloat(v))
		case "cume_dist":
			set(p, types.NewFloat(float64(peerEnd-ps)/float64(pe-ps)))
		case "lag", "lead":
			off := int64(1)
			if len(a) > 1 {
				if a[1].IsNull() {
					set(p, types.Null)
					continue
				}
				off = a[1].Int()
			}
			if f.Name == "lag" {
				off = -off
			}
			v := types.Null
			if len(a) > 2 {
				v = a[2]
			}
			if t := int64(p) + off; t >= int64(ps) && t < int64(pe) {
				v = args[ws.idx[t]][0]
			}
			set(p, v)
		case "first_value", "last_value", "nth_value":
			lo, hi := frameOf(f, ws, p, ps, pe, peerEnd)
			v := types.Null
			switch f.Name {
			case "first_value":
				if lo < hi {
					v = args[ws.idx[lo]][0]
				}
			case "last_value":
				if lo < hi {
					v = args[ws.idx[hi-1]][0]
				}
			default:
				if a[1].IsNull() {
					break
				}
				nth := a[1].Int()
				if nth <= 0 {
					return pgerr.New("22016", "argument of nth_value must be greater than zero")
				}
				if int64(hi-lo) >= nth {
					v = args[ws.idx[lo+int(nth)-1]][0]
				}
			}
			set(p, v)
		default:
			return pgerr.New(pgerr.Internal, "unknown window function %s", f.Name)
		}
	}
	return nil
}

// ntile splits a partition into n buckets as equal as can be, the larger
// ones first.
func ntile(ws *windowSort, args [][]types.Datum, ps, pe int, set func(int, types.Datum)) error {
	a := args[ws.idx[ps]][0] // evaluated once per partition
	if a.IsNull() {
		for p := ps; p < pe; p++ {
			set(p, types.Null)
		}
		return nil
	}
	n := a.Int()
	if n <= 0 {
		return pgerr.New("2201X", "argument of ntile must be greater than zero")
	}
	total := int64(pe - ps)
	size, extra := total/n, total%n
	bucket, left := int64(1), size
	if extra > 0 {
		left++
	}
	for p := ps; p < pe; p++ {
		if left == 0 {
			bucket++
			left = size
			if bucket <= extra {
				left++
			}
		}
		set(p, types.NewInt(bucket))
		left--
	}
	return nil
}

// windowAgg computes an aggregate over each row's frame. Frames that start
// at the partition start grow as the row advances, so they are computed
// incrementally; others are recomputed per row (reusing the previous
// result for the same frame).
func windowAgg(f *planner.WindowCall, ws *windowSort, in []aggInput, ok []bool, ps, pe int, set func(int, types.Datum)) error {
	var st *aggState
	next := ps // the next position st has not added yet
	prevLo, prevHi := -1, -1
	var prev types.Datum
	peerEnd := ps
	for p := ps; p < pe; p++ {
		if p == peerEnd {
			peerEnd = ws.peerEnd(p, pe)
		}
		lo, hi := frameOf(f, ws, p, ps, pe, peerEnd)
		if lo == prevLo && hi == prevHi {
			set(p, prev)
			continue
		}
		if st == nil || lo != prevLo || hi < next {
			st, next = newAggState(f.Agg), lo
		}
		for ; next < hi; next++ {
			if i := ws.idx[next]; ok[i] {
				if err := st.input(in[i]); err != nil {
					return err
				}
			}
		}
		v, err := st.result()
		if err != nil {
			return err
		}
		set(p, v)
		prevLo, prevHi, prev = lo, hi, v
	}
	return nil
}

// rangeFrame returns the frame [lo, hi) of the row at p for a RANGE frame
// with a value offset: the rows whose ORDER BY value lies within the
// offsets of the current row's (a NULL current value: its NULL peers).
func rangeFrame(f *planner.WindowCall, ws *windowSort, p, ps, pe, peerEnd int) (int, int) {
	fr := f.Frame
	key := f.OrderKeys[0]
	val := func(q int) types.Datum { return ws.order[ws.idx[q]][0] }
	cur := val(p)
	dir := 1
	if key.Desc {
		dir = -1
	}
	// after reports whether position q sorts after value b (or at it,
	// unless strict): a predicate monotone over the partition.
	after := func(q int, b types.Datum, strict bool) bool {
		v := val(q)
		if v.IsNull() {
			return !key.NullsFirst
		}
		c := dir * types.Compare(v, b)
		return c > 0 || (!strict && c == 0)
	}
	search := func(b types.Datum, strict bool) int {
		return ps + sort.Search(pe-ps, func(i int) bool { return after(ps+i, b, strict) })
	}
	// bound is the current value moved by off, back (-1) or forth (+1)
	// in the window's order.
	bound := func(off types.Datum, sign int) types.Datum {
		if cur.Family() == types.FloatFamily || off.Family() == types.FloatFamily {
			return types.NewFloat(cur.AsFloat() + float64(sign*dir)*off.AsFloat())
		}
		var d apd.Decimal
		if sign*dir > 0 {
			decCtx.Add(&d, cur.AsDecimal(), off.AsDecimal())
		} else {
			decCtx.Sub(&d, cur.AsDecimal(), off.AsDecimal())
		}
		return types.NewDecimal(&d)
	}
	var lo, hi int
	switch fr.Start {
	case planner.UnboundedPreceding:
		lo = ps
	case planner.CurrentRow:
		lo = ws.peerStart[p]
	case planner.OffsetPreceding, planner.OffsetFollowing:
		if cur.IsNull() {
			lo = ws.peerStart[p]
		} else if fr.Start == planner.OffsetPreceding {
			lo = search(bound(fr.StartValue, -1), false)
		} else {
			lo = search(bound(fr.StartValue, 1), false)
		}
	default:
		lo = pe
	}
	switch fr.End {
	case planner.UnboundedFollowing:
		hi = pe
	case planner.CurrentRow:
		hi = peerEnd
	case planner.OffsetPreceding, planner.OffsetFollowing:
		if cur.IsNull() {
			hi = peerEnd
		} else if fr.End == planner.OffsetPreceding {
			hi = search(bound(fr.EndValue, -1), true)
		} else {
			hi = search(bound(fr.EndValue, 1), true)
		}
	default:
		hi = ps
	}
	return lo, hi
}
