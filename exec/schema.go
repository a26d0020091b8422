package exec

import (
	"context"
	"errors"
	"strings"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// checkRow enforces t's CHECK constraints on a row about to be written: a
// false result is a violation, NULL passes.
func (r *runner) checkRow(t *planner.Table, row []types.Datum) error {
	for i, e := range t.BoundChecks {
		if e == nil {
			return pgerr.New(pgerr.Internal, "check constraint %q of relation %q cannot be evaluated here", t.Checks[i].Name, t.Name)
		}
		v, err := r.eval(e, &env{row: row})
		if err != nil {
			return err
		}
		if !v.IsNull() && !truth(v) {
			return pgerr.New(pgerr.CheckViolation, "new row for relation %q violates check constraint %q", t.Name, t.Checks[i].Name).
				WithDetail("Failing row contains %s.", failingRow(t, row))
		}
	}
	return nil
}

// failingRow formats a row's visible columns as PostgreSQL's "Failing row
// contains" detail does.
func failingRow(t *planner.Table, row []types.Datum) string {
	var b strings.Builder
	b.WriteByte('(')
	first := true
	for i, c := range t.Columns {
		if c.Hidden {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		if row[i].IsNull() {
			b.WriteString("null")
		} else {
			b.WriteString(row[i].Text())
		}
	}
	b.WriteByte(')')
	return b.String()
}

// carryNewer returns value plus the columns of old (a row value written
// under a newer descriptor) that t does not know yet because they were
// added after t's version: a frontend behind on the schema that updates a
// row keeps the newer columns' values instead of dropping them. Ids below
// t's NextColumnID that t lacks are dropped columns and are left out.
func carryNewer(t *planner.Table, value, old []byte) ([]byte, error) {
	next := nextColumnID(t)
	var ids []uint32
	var vals []types.Datum
	err := rowenc.DecodeRowValue(old, func(id uint32, d types.Datum) {
		if id >= next {
			ids = append(ids, id)
			vals = append(vals, d)
		}
	})
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if vals[i].IsNull() {
			value = rowenc.AppendNullColumn(value, id)
		} else {
			value = append(value, rowenc.EncodeRowValue(nil, ids[i:i+1], vals[i:i+1])[1:]...)
		}
	}
	return value, nil
}

func nextColumnID(t *planner.Table) uint32 {
	if t.NextColumnID != 0 {
		return t.NextColumnID
	}
	var n uint32
	for _, c := range t.Columns {
		n = max(n, c.ID)
	}
	return n + 1
}

// EvalConst evaluates an expression that reads no row (a column default).
func EvalConst(ctx context.Context, e planner.Expr) (types.Datum, error) {
	r := &runner{ctx: ctx, subqueries: map[int]*subResult{}, scans: map[string][]kvPair{}}
	return r.eval(e, &env{})
}

// Violation names what a validation scan found: a NULL in column Column,
// or a row failing check Check.
type Violation struct {
	Column string
	Check  string
}

// Validate scans every row of t in kv and reports the first row that has a
// NULL in one of the notNull columns (ordinals) or fails one of t's checks
// named in checks; nil when every row passes.
func Validate(ctx context.Context, t *planner.Table, kv KV, notNull []int, checks []string) (*Violation, error) {
	r := &runner{ctx: ctx, kv: kv, subqueries: map[int]*subResult{}, scans: map[string][]kvPair{}}
	var bound []planner.Expr
	for _, name := range checks {
		i := t.CheckByName(name)
		if i < 0 {
			return nil, pgerr.New(pgerr.Internal, "check constraint %q of relation %q is gone", name, t.Name)
		}
		e, _, err := planner.BindCheck(t, t.Checks[i].Expr)
		if err != nil {
			return nil, err
		}
		bound = append(bound, e)
	}
	var found *Violation
	errStop := pgerr.New(pgerr.Internal, "stop")
	err := r.scan(newFullScan(t), nil, func(_ []byte, row []types.Datum) error {
		for _, o := range notNull {
			if row[o].IsNull() {
				found = &Violation{Column: t.Columns[o].Name}
				return errStop
			}
		}
		for i, e := range bound {
			v, err := r.eval(e, &env{row: row})
			if err != nil {
				return err
			}
			if !v.IsNull() && !truth(v) {
				found = &Violation{Check: checks[i]}
				return errStop
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return found, nil
}

// appendMissingNulls writes explicit NULLs for the columns of row that are
// NULL but whose absence would read as their missing value.
func appendMissingNulls(t *planner.Table, value []byte, row []types.Datum) []byte {
	for i, c := range t.Columns {
		if c.HasMissing && row[i].IsNull() && !isPKOrdinal(t, i) {
			value = rowenc.AppendNullColumn(value, c.ID)
		}
	}
	return value
}

func isPKOrdinal(t *planner.Table, o int) bool {
	for _, p := range t.PK {
		if p == o {
			return true
		}
	}
	return false
}
