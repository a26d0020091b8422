package exec

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// KV is the transactional key-value access exec needs; txn.Txn implements it.
type KV interface {
	Get(ctx context.Context, key []byte) ([]byte, bool, error)
	// Scan calls fn for each live key in [start, end) in key order.
	Scan(ctx context.Context, start, end []byte, keysOnly bool, fn func(key, value []byte) error) error
	Put(key, value []byte)
	// Insert fails when the key holds a live row.
	Insert(key, value []byte) error
	Delete(key []byte)
}

// RowIDs hands out cluster-wide unique row ids.
type RowIDs interface {
	NextRowID(ctx context.Context) (int64, error)
}

// RowSink receives result rows; the slice is not retained by exec.
type RowSink func(row []types.Datum) error

// Column describes one result column.
type Column struct {
	Name string
	Type types.T
}

// Columns returns the result columns of a plan (nil for plans without rows).
func Columns(p planner.Plan) []Column {
	s, ok := p.(*planner.Select)
	if !ok {
		return nil
	}
	out := make([]Column, len(s.Outputs))
	for i, o := range s.Outputs {
		out[i] = Column{Name: o.Name, Type: o.E.Type()}
	}
	return out
}

// errStop ends a scan early.
var errStop = errors.New("stop")

// Run executes a SELECT, INSERT, UPDATE or DELETE plan and returns its
// command tag.
func Run(ctx context.Context, p planner.Plan, kv KV, ids RowIDs, sink RowSink) (string, error) {
	ec := &evalCtx{ctx: ctx, rowIDs: ids}
	switch p := p.(type) {
	case *planner.Select:
		n, err := runSelect(ec, p, kv, sink)
		return fmt.Sprintf("SELECT %d", n), err
	case *planner.Insert:
		n, err := runInsert(ec, p, kv)
		return fmt.Sprintf("INSERT 0 %d", n), err
	case *planner.Update:
		n, err := runUpdate(ec, p, kv)
		return fmt.Sprintf("UPDATE %d", n), err
	case *planner.Delete:
		n, err := runDelete(ec, p, kv)
		return fmt.Sprintf("DELETE %d", n), err
	}
	return "", pgerr.New(pgerr.Internal, "exec cannot run %T", p)
}

// decodeRow builds a table row (every column, in order) from a key and value.
func decodeRow(t *planner.Table, key, value []byte, keysOnly bool) ([]types.Datum, error) {
	row := make([]types.Datum, len(t.Columns))
	for i := range row {
		row[i] = types.Null
	}
	pk, err := rowenc.DecodeRowKey(key, t.ID, t.PKTypes(), t.PKDesc)
	if err != nil {
		return nil, err
	}
	for i, o := range t.PK {
		row[o] = pk[i]
	}
	if keysOnly {
		return row, nil
	}
	err = rowenc.DecodeRowValue(value, func(colID uint32, d types.Datum) {
		for i, c := range t.Columns {
			if c.ID == colID {
				row[i] = d
				return
			}
		}
	})
	return row, err
}

// scanRows calls fn for every row of the table that the access reads and
// the filter admits, with the row's key.
func scanRows(ec *evalCtx, t *planner.Table, acc planner.Access, filter planner.Expr, kv KV, keysOnly bool, fn func(key []byte, row []types.Datum) error) error {
	visit := func(key, value []byte) error {
		row, err := decodeRow(t, key, value, keysOnly)
		if err != nil {
			return err
		}
		if filter != nil {
			v, err := ec.eval(filter, row)
			if err != nil {
				return err
			}
			if !truth(v) {
				return nil
			}
		}
		return fn(key, row)
	}
	if acc.Point != nil {
		v, found, err := kv.Get(ec.ctx, acc.Point)
		if err != nil || !found {
			return err
		}
		return visit(acc.Point, v)
	}
	for _, sp := range acc.Spans {
		if err := kv.Scan(ec.ctx, sp.Start, sp.End, keysOnly, visit); err != nil {
			return err
		}
	}
	return nil
}

func runSelect(ec *evalCtx, p *planner.Select, kv KV, sink RowSink) (int64, error) {
	var rows [][]types.Datum
	var count int64
	sorting := len(p.OrderBy) > 0
	var sent int64
	var skipped int64
	emit := func(row []types.Datum) error {
		if skipped < p.Offset {
			skipped++
			return nil
		}
		if p.Limit >= 0 && sent >= p.Limit {
			return errStop
		}
		out := make([]types.Datum, len(p.Outputs))
		for i, o := range p.Outputs {
			v, err := ec.eval(o.E, row)
			if err != nil {
				return err
			}
			out[i] = v
		}
		sent++
		if err := sink(out); err != nil {
			return err
		}
		if p.Limit >= 0 && sent >= p.Limit {
			return errStop
		}
		return nil
	}
	if p.Limit == 0 && !sorting && !p.Count {
		return 0, nil
	}
	switch {
	case p.Table == nil:
		ok := true
		if p.Filter != nil {
			v, err := ec.eval(p.Filter, nil)
			if err != nil {
				return 0, err
			}
			ok = truth(v)
		}
		if ok {
			rows = append(rows, nil)
		}
	default:
		err := scanRows(ec, p.Table, p.Access, p.Filter, kv, p.KeysOnly, func(_ []byte, row []types.Datum) error {
			if p.Count {
				count++
				return nil
			}
			if sorting {
				rows = append(rows, row)
				return nil
			}
			return emit(row)
		})
		if err != nil && !errors.Is(err, errStop) {
			return sent, err
		}
		if !p.Count && !sorting {
			return sent, nil
		}
	}
	if p.Count {
		rows = [][]types.Datum{{types.NewInt(count)}}
	}
	if sorting {
		if err := sortRows(ec, rows, p.OrderBy); err != nil {
			return 0, err
		}
	}
	for _, r := range rows {
		if err := emit(r); err != nil {
			if errors.Is(err, errStop) {
				break
			}
			return sent, err
		}
	}
	return sent, nil
}

// sortRows sorts rows by the ORDER BY terms, evaluating each key once.
func sortRows(ec *evalCtx, rows [][]types.Datum, order []planner.Order) error {
	keys := make([][]types.Datum, len(rows))
	for i, r := range rows {
		k := make([]types.Datum, len(order))
		for j, o := range order {
			v, err := ec.eval(o.E, r)
			if err != nil {
				return err
			}
			k[j] = v
		}
		keys[i] = k
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		for j, o := range order {
			x, y := keys[a][j], keys[b][j]
			var c int
			switch {
			case x.IsNull() && y.IsNull():
				c = 0
			case x.IsNull():
				c = 1
				if o.NullsFirst {
					c = -1
				}
				if c != 0 {
					return c
				}
			case y.IsNull():
				c = -1
				if o.NullsFirst {
					c = 1
				}
				return c
			default:
				c = types.Compare(x, y)
				if o.Desc {
					c = -c
				}
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	sorted := make([][]types.Datum, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
	return nil
}
