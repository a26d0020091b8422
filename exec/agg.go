package exec

import (
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
	best     types.Datum // min / max
	boolAcc  bool
	strs     strings.Builder
	seen     map[string]bool // DISTINCT
	any      bool            // a non-NULL input was seen
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
	if v.IsNull() {
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
	case "string_agg":
		if !first && !sep.IsNull() {
			st.strs.WriteString(sep.Str())
		}
		st.strs.WriteString(v.Str())
	}
	return nil
}

func (st *aggState) result() (types.Datum, error) {
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
		case types.FloatFamily:
			return types.NewFloat(st.sumFloat), nil
		case types.IntFamily:
			return types.NewInt(st.sumInt), nil
		}
		d := st.sumDec
		return types.NewDecimal(&d), nil
	case "avg":
		if c.T.Family == types.FloatFamily {
			return types.NewFloat(st.sumFloat / float64(st.count)), nil
		}
		// numeric_avg is the sum divided by the count (numeric_div's scale).
		return types.NewDecimal(numericDiv(&st.sumDec, apd.New(st.count, 0))), nil
	case "min", "max":
		return st.best, nil
	case "bool_and", "bool_or":
		return types.NewBool(st.boolAcc), nil
	case "string_agg":
		return types.NewString(st.strs.String()), nil
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
		}
		for _, st := range g.states {
			v, sep := types.Null, types.Null
			if st.call.Arg != nil {
				var err error
				if v, err = r.eval(st.call.Arg, en); err != nil {
					return err
				}
			}
			if st.call.Sep != nil {
				var err error
				if sep, err = r.eval(st.call.Sep, en); err != nil {
					return err
				}
			}
			if err := st.add(v, sep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(a.Group) == 0 && len(order) == 0 {
		order = append(order, newGroup(nil))
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
