package exec

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// stopSignal ends a producer early; each Limit has its own.
type stopSignal struct{}

func (*stopSignal) Error() string { return "stop" }

// run produces the rows of rel (evaluated with the enclosing rows outer).
func (r *runner) run(rel planner.Rel, outer *env, emit func(row []types.Datum) error) error {
	if r.an != nil {
		return r.runAnalyzed(rel, outer, emit)
	}
	return r.runOp(rel, outer, emit)
}

func (r *runner) runOp(rel planner.Rel, outer *env, emit func(row []types.Datum) error) error {
	if err := r.ctx.Err(); err != nil {
		return pgerr.Wrap(err, pgerr.QueryCanceled, "canceling statement")
	}
	switch rel := rel.(type) {
	case *planner.Scan:
		return r.scan(rel, outer, func(_ []byte, row []types.Datum) error { return emit(row) })
	case *planner.Values:
		for _, exprs := range rel.Rows {
			row := make([]types.Datum, len(exprs))
			for i, e := range exprs {
				v, err := r.eval(e, &env{outer: outer})
				if err != nil {
					return err
				}
				row[i] = v
			}
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	case *planner.Filter:
		return r.run(rel.Input, outer, func(row []types.Datum) error {
			if err := r.tick(); err != nil {
				return err
			}
			v, err := r.eval(rel.Pred, &env{row: row, outer: outer})
			if err != nil {
				return err
			}
			if truth(v) {
				return emit(row)
			}
			return nil
		})
	case *planner.Project:
		return r.run(rel.Input, outer, func(row []types.Datum) error {
			out := make([]types.Datum, len(rel.Exprs))
			en := &env{row: row, outer: outer}
			for i, e := range rel.Exprs {
				v, err := r.eval(e, en)
				if err != nil {
					return err
				}
				out[i] = v
			}
			return emit(out)
		})
	case *planner.Join:
		return r.runJoin(rel, outer, emit)
	case *planner.Aggregate:
		if ok, err := r.tryPushAggregate(rel, emit); ok {
			return err
		}
		return r.runAggregate(rel, outer, emit)
	case *planner.Distinct:
		seen := map[string]bool{}
		return r.run(rel.Input, outer, func(row []types.Datum) error {
			n := rel.On
			if n == 0 {
				n = len(row)
			}
			var k string
			if len(rel.Keys) > 0 {
				vals := make([]types.Datum, len(rel.Keys))
				for i, c := range rel.Keys {
					vals[i] = row[c]
				}
				k = rowKey(vals)
			} else {
				k = rowKey(row[:n])
			}
			if seen[k] {
				return nil
			}
			seen[k] = true
			if err := r.grow(int64(len(k)+48), "DISTINCT"); err != nil {
				return err
			}
			return emit(row)
		})
	case *planner.Sort:
		var rows [][]types.Datum
		if err := r.run(rel.Input, outer, func(row []types.Datum) error {
			rows = append(rows, row)
			return r.grow(rowSize(row), "sort")
		}); err != nil {
			return err
		}
		sortRows(rows, rel.Keys)
		for _, row := range rows {
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	case *planner.Limit:
		if rel.Count == 0 {
			return nil
		}
		stop := &stopSignal{}
		var skipped, sent int64
		err := r.run(rel.Input, outer, func(row []types.Datum) error {
			if skipped < rel.Offset {
				skipped++
				return nil
			}
			if err := emit(row); err != nil {
				return err
			}
			sent++
			if rel.Count >= 0 && sent >= rel.Count {
				return stop
			}
			return nil
		})
		if errors.Is(err, stop) {
			return nil
		}
		return err
	case *planner.SetOp:
		return r.runSetOp(rel, outer, emit)
	case *planner.Window:
		return r.runWindow(rel, outer, emit)
	}
	return pgerr.New(pgerr.Internal, "exec cannot run %T", rel)
}

// collect returns every row of rel.
func (r *runner) collect(rel planner.Rel, outer *env) ([][]types.Datum, error) {
	var rows [][]types.Datum
	err := r.run(rel, outer, func(row []types.Datum) error {
		rows = append(rows, row)
		return r.grow(rowSize(row), "hash table or buffered result")
	})
	return rows, err
}

// datumKey appends a canonical encoding of d: values that compare equal
// (1, 1.0 and 1.00 among int and numeric) encode the same.
func datumKey(b *strings.Builder, d types.Datum) {
	switch d.Family() {
	case types.UnknownFamily:
		b.WriteString("N")
	case types.IntFamily:
		b.WriteString("n")
		b.WriteString(strconv.FormatInt(d.Int(), 10))
	case types.DecimalFamily:
		// Reduce into a fresh decimal: a copy of the datum's would share
		// its coefficient's storage, and reducing it would change the
		// datum itself.
		var x apd.Decimal
		x.Reduce(d.Decimal())
		b.WriteString("n")
		b.WriteString(x.Text('f'))
	case types.FloatFamily:
		b.WriteString("f")
		f := d.Float()
		if f == 0 {
			f = 0 // -0 = 0
		}
		b.WriteString(types.FormatFloat(f))
	case types.StringFamily:
		s := d.TrimmedStr() // character(n) values are equal without their padding
		b.WriteString("s")
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteString(":")
		b.WriteString(s)
	case types.IntervalFamily:
		days, us := types.IntervalOrder(d.Interval()) // '1 mon' = '30 days', as PostgreSQL compares
		b.WriteString("i")
		b.WriteString(strconv.FormatInt(days, 10))
		b.WriteString(",")
		b.WriteString(strconv.FormatInt(us, 10))
	default:
		b.WriteString(strconv.Itoa(int(d.Family())))
		b.WriteString(d.Text())
	}
	b.WriteByte(0)
}

// rowKey encodes a row for hashing (GROUP BY, DISTINCT, set operations);
// NULLs are equal to each other here.
func rowKey(row []types.Datum) string {
	var b strings.Builder
	for _, d := range row {
		datumKey(&b, d)
	}
	return b.String()
}

// compareNulls orders two datums with NULL last unless nullsFirst.
func compareNulls(x, y types.Datum, nullsFirst bool) int {
	switch {
	case x.IsNull() && y.IsNull():
		return 0
	case x.IsNull():
		if nullsFirst {
			return -1
		}
		return 1
	case y.IsNull():
		if nullsFirst {
			return 1
		}
		return -1
	}
	return types.Compare(x, y)
}

// compareSortKey orders two values under one ORDER BY term.
func compareSortKey(x, y types.Datum, desc, nullsFirst bool) int {
	if x.IsNull() || y.IsNull() {
		return compareNulls(x, y, nullsFirst)
	}
	c := types.Compare(x, y)
	if desc {
		c = -c
	}
	return c
}

func sortRows(rows [][]types.Datum, keys []planner.SortKey) {
	slices.SortStableFunc(rows, func(a, b []types.Datum) int {
		for _, k := range keys {
			if c := compareSortKey(a[k.Col], b[k.Col], k.Desc, k.NullsFirst); c != 0 {
				return c
			}
		}
		return 0
	})
}

func (r *runner) runSetOp(rel *planner.SetOp, outer *env, emit func([]types.Datum) error) error {
	if rel.Op == "union" {
		seen := map[string]bool{}
		pass := func(row []types.Datum) error {
			if !rel.All {
				k := rowKey(row)
				if seen[k] {
					return nil
				}
				seen[k] = true
				if err := r.grow(int64(len(k)+48), "UNION"); err != nil {
					return err
				}
			}
			return emit(row)
		}
		if err := r.run(rel.Left, outer, pass); err != nil {
			return err
		}
		return r.run(rel.Right, outer, pass)
	}
	right, err := r.collect(rel.Right, outer)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, row := range right {
		counts[rowKey(row)]++
	}
	emitted := map[string]bool{}
	return r.run(rel.Left, outer, func(row []types.Datum) error {
		k := rowKey(row)
		in := counts[k] > 0
		var keep bool
		switch {
		case rel.Op == "intersect" && rel.All:
			keep = in
			if in {
				counts[k]--
			}
		case rel.Op == "intersect":
			keep = in && !emitted[k]
		case rel.All: // except all
			keep = !in
			if in {
				counts[k]--
			}
		default: // except
			keep = !in && !emitted[k]
		}
		if !keep {
			return nil
		}
		emitted[k] = true
		return emit(row)
	})
}
