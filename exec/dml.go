package exec

import (
	"context"
	"fmt"
	"github.com/shardsql/shardsql/internal/keys"
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
	return key, appendMissingNulls(t, rowenc.EncodeRowValue(nil, ids, vals), row), nil
}

// indexEntry is one secondary-index entry of a row.
type indexEntry struct {
	key, value []byte
	// unique entries must not exist yet (INSERT semantics).
	unique bool
}

// indexEntries returns the secondary-index entries of a row whose row key
// is rowKey: index columns, then the primary key unless the index is unique
// and no index column is NULL (NULLs never conflict); the value is the row key.
func indexEntries(t *planner.Table, row []types.Datum, rowKey []byte) ([]indexEntry, error) {
	var out []indexEntry
	for _, idx := range t.Indexes {
		k := keys.IndexPrefix(t.ID, idx.ID)
		hasNull := false
		var err error
		for i, o := range idx.Cols {
			hasNull = hasNull || row[o].IsNull()
			if k, err = rowenc.EncodeKeyDatum(k, row[o], idx.Desc[i]); err != nil {
				return nil, err
			}
		}
		unique := idx.Unique && !hasNull
		if !unique {
			for i, o := range t.PK {
				if k, err = rowenc.EncodeKeyDatum(k, row[o], t.PKDesc[i]); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, indexEntry{key: k, value: rowKey, unique: unique})
	}
	return out, nil
}

// pendingRow is a row an INSERT is about to write, with its index entries.
type pendingRow struct {
	key, value []byte
	entries    []indexEntry
}

// keyExists reports a unique key that already holds a live row.
type keyExists struct{ key []byte }

func (e *keyExists) Error() string { return fmt.Sprintf("key %q already exists", e.key) }

// ExistingKey returns the key (sqlfront names the constraint from it).
func (e *keyExists) ExistingKey() []byte { return e.key }

// checkUnique, in a transaction that locks rows (an explicit one), locks
// the keys an INSERT must own (row keys, unique index entries) and checks
// at once that none holds a live row, so a duplicate fails at the
// statement, as in PostgreSQL, rather than at COMMIT. Other transactions
// rely on INSERT semantics at commit.
func (r *runner) checkUnique(writes []pendingRow) error {
	if !r.locking() || len(writes) == 0 {
		return nil
	}
	var keys [][]byte
	for _, w := range writes {
		keys = append(keys, w.key)
		for _, e := range w.entries {
			if e.unique {
				keys = append(keys, e.key)
			}
		}
	}
	if err := r.lockRows(keys); err != nil {
		return err
	}
	for _, k := range keys {
		_, found, err := r.kv.Get(r.ctx, k)
		if err != nil {
			return err
		}
		if found {
			return &keyExists{key: k}
		}
	}
	return nil
}

// writeEntries writes index entries (INSERT semantics for unique ones).
func (r *runner) writeEntries(es []indexEntry) error {
	for _, e := range es {
		if e.unique {
			if err := r.kv.Insert(e.key, e.value); err != nil {
				return err
			}
		} else {
			r.kv.Put(e.key, e.value)
		}
	}
	return nil
}

func (r *runner) runInsert(p *planner.Insert, sink RowSink) (int64, error) {
	rows, err := r.insertRows(p)
	if err != nil {
		return 0, err
	}
	if p.OnConflict != nil {
		return r.runUpsert(p, rows, sink)
	}
	writes := make([]pendingRow, 0, len(rows))
	for _, row := range rows {
		key, value, err := encodeRow(p.Table, row)
		if err != nil {
			return 0, err
		}
		if err := r.checkRow(p.Table, row); err != nil {
			return 0, err
		}
		entries, err := indexEntries(p.Table, row, key)
		if err != nil {
			return 0, err
		}
		writes = append(writes, pendingRow{key: key, value: value, entries: entries})
	}
	if err := r.checkUnique(writes); err != nil {
		return 0, err
	}
	for _, w := range writes {
		if err := r.kv.Insert(w.key, w.value); err != nil {
			return 0, err
		}
		if err := r.writeEntries(w.entries); err != nil {
			return 0, err
		}
	}
	for _, row := range rows {
		if err := r.emitReturning(p.Returning, row, sink); err != nil {
			return 0, err
		}
	}
	return int64(len(rows)), nil
}

// insertRows computes the full table rows an INSERT proposes: values cast
// to the column types, row ids filled in.
func (r *runner) insertRows(p *planner.Insert) ([][]types.Datum, error) {
	var rows [][]types.Datum
	if p.Source != nil {
		// Read everything first: the statement must not see its own rows.
		var err error
		if rows, err = r.collect(p.Source, nil); err != nil {
			return nil, err
		}
	}
	for _, exprs := range p.Rows {
		row := make([]types.Datum, len(exprs))
		for i, e := range exprs {
			v, err := r.eval(e, &env{})
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	for _, row := range rows {
		for i, c := range p.Table.Columns {
			var err error
			if row[i], err = types.Cast(row[i], c.Type); err != nil {
				return nil, err
			}
			if row[i].IsNull() && c.RowID {
				id, err := r.ids.NextRowID(r.ctx)
				if err != nil {
					return nil, err
				}
				row[i] = types.NewInt(id)
			}
		}
	}
	return rows, nil
}

func (r *runner) runUpdate(p *planner.Update, sink RowSink) (int64, error) {
	t := p.Table
	type change struct {
		oldKey, newKey, value []byte
		oldIdx, newIdx        []indexEntry
		ret                   []types.Datum
	}
	// Read first, then write, so the scan never sees the statement's own writes.
	var changes []change
	if p.From != nil {
		// The target rows come through a join: remember per key which
		// hold columns of a newer descriptor.
		r.newerByKey = map[string][]byte{}
		defer func() { r.newerByKey = nil }()
	}
	err := r.dmlSource(p.Table, p.Source, p.From, func(key []byte, row []types.Datum) error {
		newer := r.newerValue
		if r.newerByKey != nil {
			newer = r.newerByKey[string(key)]
		}
		next := append([]types.Datum(nil), row[:len(t.Columns)]...)
		for _, s := range p.Sets {
			v, err := r.eval(s.E, &env{row: row})
			if err != nil {
				return err
			}
			if next[s.Ord], err = types.Cast(v, t.Columns[s.Ord].Type); err != nil {
				return err
			}
		}
		c := change{oldKey: append([]byte(nil), key...)}
		var err error
		if c.newKey, c.value, err = encodeRow(t, next); err != nil {
			return err
		}
		if err := r.checkRow(t, next); err != nil {
			return err
		}
		if newer != nil {
			if c.value, err = carryNewer(t, c.value, newer); err != nil {
				return err
			}
		}
		if c.oldIdx, err = indexEntries(t, row, c.oldKey); err != nil {
			return err
		}
		if c.newIdx, err = indexEntries(t, next, c.newKey); err != nil {
			return err
		}
		if p.Returning != nil {
			c.ret = append(next, row[len(t.Columns):]...)
		}
		changes = append(changes, c)
		return nil
	})
	if err != nil {
		return 0, err
	}
	locks := make([][]byte, 0, 2*len(changes))
	for _, c := range changes {
		locks = append(locks, c.oldKey)
		if string(c.newKey) != string(c.oldKey) {
			locks = append(locks, c.newKey)
		}
	}
	if err := r.lockRows(locks); err != nil {
		return 0, err
	}
	// Deletes of moved keys first, so a key vacated by one row can be
	// taken by another row of the same statement.
	for _, c := range changes {
		if string(c.newKey) != string(c.oldKey) {
			r.kv.Delete(c.oldKey)
		}
		for i, e := range c.oldIdx {
			if string(e.key) != string(c.newIdx[i].key) {
				r.kv.Delete(e.key)
			}
		}
	}
	for _, c := range changes {
		if string(c.newKey) == string(c.oldKey) {
			r.kv.Put(c.newKey, c.value)
		} else if err := r.kv.Insert(c.newKey, c.value); err != nil {
			return 0, err
		}
		for i, e := range c.newIdx {
			switch {
			case string(e.key) != string(c.oldIdx[i].key):
				if err := r.writeEntries([]indexEntry{e}); err != nil {
					return 0, err
				}
			case string(e.value) != string(c.oldIdx[i].value):
				r.kv.Put(e.key, e.value)
			}
		}
	}
	for _, c := range changes {
		if err := r.emitReturning(p.Returning, c.ret, sink); err != nil {
			return 0, err
		}
	}
	return int64(len(changes)), nil
}

func (r *runner) runDelete(p *planner.Delete, sink RowSink) (int64, error) {
	var doomed [][]byte
	var n int64
	var src *planner.Scan
	if p.Source != nil {
		cp := *p.Source
		cp.KeysOnly = cp.Filter == nil && len(p.Table.Indexes) == 0 && p.Returning == nil
		src = &cp
	}
	var returned [][]types.Datum
	err := r.dmlSource(p.Table, src, p.Using, func(key []byte, row []types.Datum) error {
		n++
		if p.Returning != nil {
			returned = append(returned, row)
		}
		doomed = append(doomed, append([]byte(nil), key...))
		entries, err := indexEntries(p.Table, row, key)
		if err != nil {
			return err
		}
		for _, e := range entries {
			doomed = append(doomed, e.key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := r.lockRows(doomed); err != nil {
		return 0, err
	}
	for _, k := range doomed {
		r.kv.Delete(k)
	}
	for _, row := range returned {
		if err := r.emitReturning(p.Returning, row, sink); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Backfill writes the entries of index idx for every row of table t, in
// the transaction kv; it returns the number of rows indexed.
func Backfill(ctx context.Context, t *planner.Table, idx planner.Index, kv KV) (int64, error) {
	only := *t
	only.Indexes = []planner.Index{idx}
	r := &runner{ctx: ctx, kv: kv}
	var entries []indexEntry
	var n int64
	err := r.scan(newFullScan(&only), nil, func(key []byte, row []types.Datum) error {
		es, err := indexEntries(&only, row, append([]byte(nil), key...))
		if err != nil {
			return err
		}
		n++
		entries = append(entries, es...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, r.writeEntries(entries)
}

// DeleteSpan deletes every key in [start, end) in the transaction kv.
func DeleteSpan(ctx context.Context, kv KV, start, end []byte) error {
	var doomed [][]byte
	if err := kv.Scan(ctx, start, end, true, func(k, _ []byte) error {
		doomed = append(doomed, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range doomed {
		kv.Delete(k)
	}
	return nil
}

func newFullScan(t *planner.Table) *planner.Scan {
	start, end := keys.RowSpan(t.ID)
	return &planner.Scan{Table: t, Alias: t.Name, Access: planner.Access{Spans: []planner.Span{{Start: start, End: end}}, Full: true}}
}
