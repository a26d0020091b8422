package exec

import (
	"sort"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// aggState accumulates one aggregate over one group.
type aggState struct {
	call     *planner.AggCall
	count    int64
	sumInt   int64
	sumDec   apd.Decimal
	sumFloat float64
	sumSpan  types.Span    // sum / avg of intervals
	elems    []types.Datum // array_agg
	best     types.Datum   // min / max
	boolAcc  bool
	strs     strings.Builder
	seen     map[string]bool // DISTINCT
	any      bool            // a non-NULL input was seen
	// pending buffers the inputs of a call with ORDER BY, sorted and
	// added when the result is asked for.
	pending []aggInput
}

// aggInput is one input row of an aggregate: its argument, separator and
// ORDER BY values.
type aggInput struct {
	v, sep types.Datum
	keys   []types.Datum
}

// input feeds one input row that FILTER admitted.
func (st *aggState) input(in aggInput) error {
	if len(st.call.Order) > 0 {
		st.pending = append(st.pending, in)
		return nil
	}
	return st.add(in.v, in.sep)
}

// aggRow evaluates an aggregate's inputs over one row; ok is false when
// its FILTER rejects the row.
func (r *runner) aggRow(c *planner.AggCall, en *env) (in aggInput, ok bool, err error) {
	if c.Filter != nil {
		f, err := r.eval(c.Filter, en)
		if err != nil || !truth(f) {
			return in, false, err
		}
	}
	in.v, in.sep = types.Null, types.Null
	if c.Arg != nil {
		if in.v, err = r.eval(c.Arg, en); err != nil {
			return in, false, err
		}
	}
	if c.Sep != nil {
		if in.sep, err = r.eval(c.Sep, en); err != nil {
			return in, false, err
		}
	}
	if len(c.Order) > 0 {
		in.keys = make([]types.Datum, len(c.Order))
		for i, e := range c.Order {
			if in.keys[i], err = r.eval(e, en); err != nil {
				return in, false, err
			}
		}
	}
	return in, true, nil
}

func newAggState(c *planner.AggCall) *aggState {
	st := &aggState{call: c, best: types.Null, boolAcc: c.Name == "bool_and"}
	if c.Distinct {
		st.seen = map[string]bool{}
	}
	return st
}

func (st *aggState) add(v, sep types.Datum) error {
	c := st.call
	if c.Arg == nil { // count(*)
		st.count++
		return nil
	}
	if v.IsNull() && c.Name != "array_agg" { // array_agg keeps NULLs
		return nil
	}
	if st.seen != nil {
		var b strings.Builder
		datumKey(&b, v)
		if st.seen[b.String()] {
			return nil
		}
		st.seen[b.String()] = true
	}
	first := !st.any
	st.any = true
	st.count++
	switch c.Name {
	case "sum", "avg":
		switch {
		case v.Family() == types.IntervalFamily:
			s, err := types.AddSpans(st.sumSpan, v.Interval())
			if err != nil {
				return err
			}
			st.sumSpan = s
		case v.Family() == types.FloatFamily:
			st.sumFloat += v.Float()
		case c.T.Family == types.IntFamily: // sum of smallint/integer
			s := st.sumInt + v.Int()
			if (s > st.sumInt) != (v.Int() > 0) {
				return pgerr.New(pgerr.NumericOutOfRange, "bigint out of range")
			}
			st.sumInt = s
		default:
			if _, err := exactCtx.Add(&st.sumDec, &st.sumDec, v.AsDecimal()); err != nil {
				return pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
			}
		}
	case "min":
		if first || types.Compare(v, st.best) < 0 {
			st.best = v
		}
	case "max":
		if first || types.Compare(v, st.best) > 0 {
			st.best = v
		}
	case "bool_and":
		st.boolAcc = st.boolAcc && v.Bool()
	case "bool_or":
		st.boolAcc = st.boolAcc || v.Bool()
	case "array_agg":
		st.elems = append(st.elems, v)
	case "string_agg":
		if !first && !sep.IsNull() {
			st.strs.WriteString(sep.Str())
		}
		st.strs.WriteString(v.Str())
	}
	return nil
}

func (st *aggState) result() (types.Datum, error) {
	if len(st.call.Order) == 0 {
		return st.value()
	}
	rows := make([][]types.Datum, len(st.pending))
	for i, in := range st.pending {
		rows[i] = append([]types.Datum{in.v, in.sep}, in.keys...)
	}
	keys := make([]planner.SortKey, len(st.call.OrderKeys))
	for i, k := range st.call.OrderKeys {
		k.Col = 2 + i
		keys[i] = k
	}
	sortRows(rows, keys)
	sorted := newAggState(st.call)
	for _, row := range rows {
		if err := sorted.add(row[0], row[1]); err != nil {
			return types.Null, err
		}
	}
	return sorted.value()
}

// value is the aggregate of the inputs added so far.
func (st *aggState) value() (types.Datum, error) {
	c := st.call
	if c.Name == "count" {
		return types.NewInt(st.count), nil
	}
	if !st.any {
		return types.Null, nil
	}
	switch c.Name {
	case "sum":
		switch c.T.Family {
		case types.IntervalFamily:
			return types.NewInterval(st.sumSpan), nil
		case types.FloatFamily:
			if c.T.Width == 32 {
				return types.Cast(types.NewFloat(st.sumFloat), c.T)
			}
			return types.NewFloat(st.sumFloat), nil
		case types.IntFamily:
			return types.NewInt(st.sumInt), nil
		}
		// A copy: window functions read the sum and then add more to it.
		return types.NewDecimal(new(apd.Decimal).Set(&st.sumDec)), nil
	case "avg":
		if c.T.Family == types.IntervalFamily {
			v, err := types.DivSpan(st.sumSpan, float64(st.count))
			return types.NewInterval(v), err
		}
		if c.T.Family == types.FloatFamily {
			return types.NewFloat(st.sumFloat / float64(st.count)), nil
		}
		// PostgreSQL divides the sum by the count as numeric / numeric.
		return numericDiv(&st.sumDec, apd.New(st.count, 0))
	case "min", "max":
		return st.best, nil
	case "bool_and", "bool_or":
		return types.NewBool(st.boolAcc), nil
	case "string_agg":
		return types.NewString(st.strs.String()), nil
	case "array_agg":
		if c.Distinct { // PostgreSQL sorts a DISTINCT aggregate's input
			sort.SliceStable(st.elems, func(i, j int) bool {
				a, b := st.elems[i], st.elems[j]
				if a.IsNull() || b.IsNull() {
					return !a.IsNull()
				}
				return types.Compare(a, b) < 0
			})
		}
		return types.NewArray(st.elems), nil
	}
	return types.Null, pgerr.New(pgerr.Internal, "unknown aggregate %s", c.Name)
}

type group struct {
	vals   []types.Datum
	states []*aggState
}

// runAggregate groups the input (hashing the group values) and emits one
// row per group: its values, then the aggregates.
func (r *runner) runAggregate(a *planner.Aggregate, outer *env, emit func([]types.Datum) error) error {
	groups := map[string]*group{}
	var order []*group
	newGroup := func(vals []types.Datum) *group {
		g := &group{vals: vals}
		for _, c := range a.Aggs {
			g.states = append(g.states, newAggState(c))
		}
		return g
	}
	err := r.run(a.Input, outer, func(row []types.Datum) error {
		en := &env{row: row, outer: outer}
		vals := make([]types.Datum, len(a.Group))
		for i, e := range a.Group {
			v, err := r.eval(e, en)
			if err != nil {
				return err
			}
			vals[i] = v
		}
		k := rowKey(vals)
		g, ok := groups[k]
		if !ok {
			g = newGroup(vals)
			groups[k] = g
			order = append(order, g)
			if err := r.grow(int64(len(k))+rowSize(vals)+int64(96*len(a.Aggs)), "aggregation"); err != nil {
				return err
			}
		}
		for _, st := range g.states {
			in, ok, err := r.aggRow(st.call, en)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := st.input(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return emitGroups(a, order, a.Aggs, emit)
}
