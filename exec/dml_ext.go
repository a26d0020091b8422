package exec

import (
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// ReturnsRows reports whether running p sends result rows: a SELECT, or
// DML with RETURNING.
func ReturnsRows(p planner.Plan) bool {
	if _, ok := p.(*planner.Select); ok {
		return true
	}
	_, ok := planner.ReturningCols(p)
	return ok
}

func returningColumns(outs []planner.Output) []Column {
	cols := make([]Column, len(outs))
	for i, o := range outs {
		cols[i] = Column{Name: o.Name, Type: o.E.Type()}
	}
	return cols
}

// emitReturning sends the RETURNING row computed over row (nothing when
// the statement has no RETURNING).
func (r *runner) emitReturning(outs []planner.Output, row []types.Datum, sink RowSink) error {
	if outs == nil {
		return nil
	}
	out := make([]types.Datum, len(outs))
	for i, o := range outs {
		v, err := r.eval(o.E, &env{row: row})
		if err != nil {
			return err
		}
		out[i] = v
	}
	if sink == nil {
		return nil
	}
	return sink(out)
}

// dmlSource calls fn with the key and row of each target row an UPDATE or
// DELETE changes: from the scan src, or from the join rel (the target's
// columns first), where a target row joined to several rows is passed
// once, with the first of them (PostgreSQL: an arbitrary one).
func (r *runner) dmlSource(t *planner.Table, src *planner.Scan, rel planner.Rel, fn func(key []byte, row []types.Datum) error) error {
	if rel == nil {
		return r.scan(src, nil, fn)
	}
	seen := map[string]bool{}
	pk := make([]types.Datum, len(t.PK))
	return r.run(rel, nil, func(row []types.Datum) error {
		for i, o := range t.PK {
			pk[i] = row[o]
		}
		key, err := rowenc.EncodeRowKey(t.ID, pk, t.PKDesc)
		if err != nil {
			return err
		}
		if seen[string(key)] {
			return nil
		}
		seen[string(key)] = true
		return fn(key, append([]types.Datum(nil), row...))
	})
}

// errSecondUpdate is PostgreSQL's error when one INSERT ... ON CONFLICT DO
// UPDATE would change a row twice.
func errSecondUpdate() error {
	return pgerr.New(pgerr.CardinalityViolation, "ON CONFLICT DO UPDATE command cannot affect row a second time").
		WithHint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
}

// runUpsert writes the proposed rows of INSERT ... ON CONFLICT one by one:
// a row that conflicts with an arbiter key is skipped (DO NOTHING) or
// changes the existing row (DO UPDATE); the others are inserted. In a
// row-locking transaction the arbiter keys are locked before they are
// read, so concurrent upserts of one key queue behind each other (a key
// changed after the statement's snapshot makes the caller re-run the
// statement on a newer one).
func (r *runner) runUpsert(p *planner.Insert, rows [][]types.Datum, sink RowSink) (int64, error) {
	t, oc := p.Table, p.OnConflict
	// touched holds the row keys this statement inserted or updated.
	touched := map[string]bool{}
	type proposed struct {
		pendingRow
		arbiters [][]byte
	}
	props := make([]proposed, len(rows))
	var allArbiters [][]byte
	for i, row := range rows {
		key, value, err := encodeRow(t, row)
		if err != nil {
			return 0, err
		}
		entries, err := indexEntries(t, row, key)
		if err != nil {
			return 0, err
		}
		pr := proposed{pendingRow: pendingRow{key: key, value: value, entries: entries}}
		for _, a := range oc.Arbiters {
			if a == planner.PKArbiter {
				pr.arbiters = append(pr.arbiters, key)
			} else if entries[a].unique {
				pr.arbiters = append(pr.arbiters, entries[a].key)
			}
		}
		allArbiters = append(allArbiters, pr.arbiters...)
		props[i] = pr
	}
	// Lock every arbiter key at once (in key order), before reading any.
	if err := r.lockRows(allArbiters); err != nil {
		return 0, err
	}
	var n int64
	for i, row := range rows {
		if err := r.tick(); err != nil {
			return 0, err
		}
		key, value, entries, arbiters := props[i].key, props[i].value, props[i].entries, props[i].arbiters
		existingKey, existing, err := r.findConflict(t, arbiters, key)
		if err != nil {
			return 0, err
		}
		if existingKey == nil {
			if err := r.checkRow(t, row); err != nil {
				return 0, err
			}
			w := pendingRow{key: key, value: value, entries: entries}
			if err := r.checkUnique([]pendingRow{w}); err != nil {
				return 0, err
			}
			if err := r.kv.Insert(key, value); err != nil {
				return 0, err
			}
			if err := r.writeEntries(entries); err != nil {
				return 0, err
			}
			touched[string(key)] = true
			n++
			if err := r.emitReturning(p.Returning, row, sink); err != nil {
				return 0, err
			}
			continue
		}
		if !oc.DoUpdate {
			continue
		}
		if touched[string(existingKey)] {
			return 0, errSecondUpdate()
		}
		en := &env{row: append(append([]types.Datum(nil), existing...), row...)}
		if oc.Where != nil {
			v, err := r.eval(oc.Where, en)
			if err != nil {
				return 0, err
			}
			if !truth(v) {
				continue
			}
		}
		next := append([]types.Datum(nil), existing...)
		for _, s := range oc.Sets {
			v, err := r.eval(s.E, en)
			if err != nil {
				return 0, err
			}
			if next[s.Ord], err = types.Cast(v, t.Columns[s.Ord].Type); err != nil {
				return 0, err
			}
		}
		if err := r.checkRow(t, next); err != nil {
			return 0, err
		}
		newKey, err := r.replaceRow(t, existingKey, existing, next)
		if err != nil {
			return 0, err
		}
		touched[string(newKey)] = true
		n++
		if err := r.emitReturning(p.Returning, next, sink); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// findConflict returns the key and row of the live row that holds one of
// the arbiter keys (a row key, or a unique index entry naming its row), or
// a nil key when none does.
func (r *runner) findConflict(t *planner.Table, arbiters [][]byte, rowKey []byte) ([]byte, []types.Datum, error) {
	for _, a := range arbiters {
		v, found, err := r.kv.Get(r.ctx, a)
		if err != nil {
			return nil, nil, err
		}
		if !found {
			continue
		}
		key := a
		if string(a) != string(rowKey) {
			// A unique index entry: its value is the row key.
			key = append([]byte(nil), v...)
			if err := r.lockRows([][]byte{key}); err != nil {
				return nil, nil, err
			}
			if v, found, err = r.kv.Get(r.ctx, key); err != nil {
				return nil, nil, err
			}
			if !found {
				return nil, nil, pgerr.New(pgerr.Internal, "unique index entry of table %q names a missing row", t.Name)
			}
		}
		row, err := newRowDecoder(t).decode(key, v, false)
		if err != nil {
			return nil, nil, err
		}
		return append([]byte(nil), key...), row, nil
	}
	return nil, nil, nil
}

// replaceRow writes next in place of the row old stored at oldKey (its key
// and index entries may move) and returns next's key.
func (r *runner) replaceRow(t *planner.Table, oldKey []byte, old, next []types.Datum) ([]byte, error) {
	newKey, value, err := encodeRow(t, next)
	if err != nil {
		return nil, err
	}
	oldIdx, err := indexEntries(t, old, oldKey)
	if err != nil {
		return nil, err
	}
	newIdx, err := indexEntries(t, next, newKey)
	if err != nil {
		return nil, err
	}
	if string(newKey) != string(oldKey) {
		if err := r.lockRows([][]byte{newKey}); err != nil {
			return nil, err
		}
		r.kv.Delete(oldKey)
		if err := r.kv.Insert(newKey, value); err != nil {
			return nil, err
		}
	} else {
		r.kv.Put(newKey, value)
	}
	for i, e := range oldIdx {
		if string(e.key) != string(newIdx[i].key) {
			r.kv.Delete(e.key)
		}
	}
	for i, e := range newIdx {
		switch {
		case string(e.key) != string(oldIdx[i].key):
			if err := r.writeEntries([]indexEntry{e}); err != nil {
				return nil, err
			}
		case string(e.value) != string(oldIdx[i].value):
			r.kv.Put(e.key, e.value)
		}
	}
	return newKey, nil
}

// truncateBatch is how many keys TRUNCATE collects before deleting them.
const truncateBatch = 1024

// runTruncate deletes every row and index entry of the tables, through the
// transaction (so it commits or rolls back with it).
func (r *runner) runTruncate(p *planner.Truncate) error {
	for _, t := range p.Tables {
		start := keys.TablePrefix(t.ID)
		end := keys.PrefixEnd(start)
		var batch [][]byte
		flush := func() error {
			if err := r.lockRows(batch); err != nil {
				return err
			}
			for _, k := range batch {
				r.kv.Delete(k)
			}
			batch = batch[:0]
			return nil
		}
		// Collect first: the scan must not see its own deletions mid-way.
		var all [][]byte
		err := r.kv.Scan(r.ctx, start, end, true, func(k, _ []byte) error {
			if err := r.tick(); err != nil {
				return err
			}
			all = append(all, append([]byte(nil), k...))
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range all {
			batch = append(batch, k)
			if len(batch) >= truncateBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}
