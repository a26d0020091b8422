package exec

import (
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// encodeRow returns the key and value of a full table row, checking NOT NULL.
func encodeRow(t *planner.Table, row []types.Datum) (key, value []byte, err error) {
	pk := make([]types.Datum, len(t.PK))
	isPK := make([]bool, len(t.Columns))
	for i, o := range t.PK {
		pk[i] = row[o]
		isPK[o] = true
	}
	var ids []uint32
	var vals []types.Datum
	for i, c := range t.Columns {
		if row[i].IsNull() && !c.Nullable {
			return nil, nil, pgerr.New(pgerr.NotNullViolation, "null value in column %q of relation %q violates not-null constraint", c.Name, t.Name)
		}
		if !isPK[i] {
			ids = append(ids, c.ID)
			vals = append(vals, row[i])
		}
	}
	if key, err = rowenc.EncodeRowKey(t.ID, pk, t.PKDesc); err != nil {
		return nil, nil, err
	}
	return key, rowenc.EncodeRowValue(nil, ids, vals), nil
}

func (r *runner) runInsert(p *planner.Insert) (int64, error) {
	var rows [][]types.Datum
	if p.Source != nil {
		// Read everything first: the statement must not see its own rows.
		var err error
		if rows, err = r.collect(p.Source, nil); err != nil {
			return 0, err
		}
	}
	for _, exprs := range p.Rows {
		row := make([]types.Datum, len(exprs))
		for i, e := range exprs {
			v, err := r.eval(e, &env{})
			if err != nil {
				return 0, err
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	for _, row := range rows {
		for i, c := range p.Table.Columns {
			var err error
			if row[i], err = types.Cast(row[i], c.Type); err != nil {
				return 0, err
			}
			if row[i].IsNull() && c.RowID {
				id, err := r.ids.NextRowID(r.ctx)
				if err != nil {
					return 0, err
				}
				row[i] = types.NewInt(id)
			}
		}
		key, value, err := encodeRow(p.Table, row)
		if err != nil {
			return 0, err
		}
		if err := r.kv.Insert(key, value); err != nil {
			return 0, err
		}
	}
	return int64(len(rows)), nil
}

func (r *runner) runUpdate(p *planner.Update) (int64, error) {
	type change struct {
		oldKey []byte
		row    []types.Datum
	}
	// Read first, then write, so the scan never sees the statement's own writes.
	var changes []change
	err := r.scan(p.Source, nil, func(key []byte, row []types.Datum) error {
		next := append([]types.Datum(nil), row...)
		for _, s := range p.Sets {
			v, err := r.eval(s.E, &env{row: row})
			if err != nil {
				return err
			}
			if next[s.Ord], err = types.Cast(v, p.Table.Columns[s.Ord].Type); err != nil {
				return err
			}
		}
		changes = append(changes, change{oldKey: append([]byte(nil), key...), row: next})
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Deletes of moved keys first, so a key vacated by one row can take another.
	newKeys := make([][]byte, len(changes))
	values := make([][]byte, len(changes))
	for i, c := range changes {
		if newKeys[i], values[i], err = encodeRow(p.Table, c.row); err != nil {
			return 0, err
		}
		if string(newKeys[i]) != string(c.oldKey) {
			r.kv.Delete(c.oldKey)
		}
	}
	for i, c := range changes {
		if string(newKeys[i]) == string(c.oldKey) {
			r.kv.Put(newKeys[i], values[i])
		} else if err := r.kv.Insert(newKeys[i], values[i]); err != nil {
			return 0, err
		}
	}
	return int64(len(changes)), nil
}

func (r *runner) runDelete(p *planner.Delete) (int64, error) {
	var doomed [][]byte
	src := *p.Source
	src.KeysOnly = src.Filter == nil
	err := r.scan(&src, nil, func(key []byte, _ []types.Datum) error {
		doomed = append(doomed, append([]byte(nil), key...))
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		r.kv.Delete(k)
	}
	return int64(len(doomed)), nil
}
