package exec

import (
	"context"
	"fmt"
	"strconv"

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

// Locker is implemented by a KV that locks the rows a statement is about to
// change (explicit transactions: pessimistic locks at statement time). A
// lock conflict error makes the caller re-run the statement on a newer
// snapshot (READ COMMITTED) or fail it (REPEATABLE READ).
type Locker interface {
	// LocksRows reports whether this transaction takes row locks.
	LocksRows() bool
	// LockRows locks keys; with noWait a lock held by another live
	// transaction fails at once (55P03) instead of being waited for.
	LockRows(ctx context.Context, keys [][]byte, noWait bool) error
}

// locking reports whether the statement runs in a row-locking transaction.
func (r *runner) locking() bool {
	l, ok := r.kv.(Locker)
	return ok && l.LocksRows()
}

// lockRows locks keys when the KV takes row locks.
func (r *runner) lockRows(keys [][]byte) error {
	if r.locking() && len(keys) > 0 {
		return r.kv.(Locker).LockRows(r.ctx, keys, false)
	}
	return nil
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
	if outs, ok := planner.ReturningCols(p); ok {
		return returningColumns(outs)
	}
	s, ok := p.(*planner.Select)
	if !ok {
		return nil
	}
	var out []Column
	for _, c := range s.Root.Cols() {
		if !c.Hidden {
			out = append(out, Column{Name: c.Name, Type: c.T})
		}
	}
	return out
}

// runner runs one statement: it holds the statement's caches.
type runner struct {
	ctx context.Context
	kv  KV
	ids RowIDs
	// subqueries caches the results of uncorrelated subqueries.
	subqueries map[int]*subResult
	// scans caches raw key-value reads of the statement's snapshot (a
	// statement reads before it writes, so they cannot go stale).
	scans map[string][]kvPair
	// inSubquery counts the subquery evaluations under way; scans inside
	// them go through the cache since they may run once per outer row.
	inSubquery int
	// ticks counts work done, to check for cancellation now and then.
	ticks int
	// lockScans are the scans of SELECT ... FOR UPDATE/SHARE; the keys of the
	// rows they pass are collected in lockKeys and locked at the end.
	lockScans map[*planner.Scan]bool
	lockKeys  [][]byte
	// skipLocked locks each row as the scan passes it, leaving out the
	// ones held by others (SKIP LOCKED).
	skipLocked bool
	// push holds what is pushed down to the shards for each scan.
	push map[*planner.Scan]*scanPush
	// an collects EXPLAIN ANALYZE's measurements (nil: not analysing).
	an *Analysis
	// memUsed estimates the bytes of rows the statement holds; memLimit
	// is its budget (see grow).
	memUsed, memLimit int64
	// params are the bound values of a prepared statement's parameters.
	params []types.Datum
	// accessCache holds the spans of scans that depend on parameters.
	accessCache map[*planner.Scan]planner.Access
	// newerValue is the value of the row a scan is visiting when it holds
	// columns of a newer descriptor (see carryNewer), else nil.
	newerValue []byte
	// newerByKey, while an UPDATE ... FROM reads its target rows, keeps
	// those values by row key.
	newerByKey map[string][]byte
	// corrIdx holds the hash indexes of correlated subqueries (nil: the
	// subquery does not have the shape; see decorrelate.go).
	corrIdx map[int]*corrIndex
}

// tick checks for cancellation every few thousand units of work.
func (r *runner) tick() error {
	r.ticks++
	if r.ticks&4095 == 0 {
		if err := r.ctx.Err(); err != nil {
			return pgerr.New(pgerr.QueryCanceled, "canceling statement due to user request")
		}
	}
	return nil
}

type kvPair struct{ key, value []byte }

// Run executes a SELECT, INSERT, UPDATE or DELETE plan and returns its
// command tag.
func Run(ctx context.Context, p planner.Plan, kv KV, ids RowIDs, sink RowSink) (string, error) {
	r := &runner{ctx: ctx, kv: kv, ids: ids, subqueries: map[int]*subResult{}, scans: map[string][]kvPair{},
		push: map[*planner.Scan]*scanPush{}, an: analysisFrom(ctx), params: paramsFrom(ctx)}
	switch p := p.(type) {
	case *planner.Select:
		var n int64
		if p.Lock != nil && r.locking() {
			r.lockScans, r.skipLocked = map[*planner.Scan]bool{}, p.Lock.SkipLocked
			for _, sc := range p.Lock.Scans {
				r.lockScans[sc] = true
			}
		}
		r.prepareSelect(p.Root)
		err := r.run(p.Root, nil, func(row []types.Datum) error {
			n++
			return sink(row)
		})
		if err == nil && len(r.lockKeys) > 0 {
			err = r.kv.(Locker).LockRows(r.ctx, r.lockKeys, p.Lock.NoWait)
		}
		return fmt.Sprintf("SELECT %d", n), err
	case *planner.Insert:
		n, err := r.runInsert(p, sink)
		return fmt.Sprintf("INSERT 0 %d", n), err
	case *planner.Update:
		n, err := r.runUpdate(p, sink)
		return fmt.Sprintf("UPDATE %d", n), err
	case *planner.Delete:
		n, err := r.runDelete(p, sink)
		return fmt.Sprintf("DELETE %d", n), err
	case *planner.Truncate:
		return "TRUNCATE TABLE", r.runTruncate(p)
	}
	return "", pgerr.New(pgerr.Internal, "exec cannot run %T", p)
}

// rowDecoder turns a table's keys and values into rows; it is built once
// per scan so the per-row work allocates only the row.
type rowDecoder struct {
	t       *planner.Table
	pkTypes []types.T
	// ordOf maps a column id to its ordinal (-1: dropped or unknown).
	ordOf []int
	// missing are the ordinals of columns with a value for rows that lack
	// them; next is the table's next column id, and newer is set when the
	// last row decoded holds a column of a newer descriptor (id >= next).
	missing []int
	next    uint32
	newer   bool
}

func newRowDecoder(t *planner.Table) *rowDecoder {
	d := &rowDecoder{t: t, pkTypes: t.PKTypes()}
	var maxID uint32
	for _, c := range t.Columns {
		maxID = max(maxID, c.ID)
	}
	d.ordOf = make([]int, maxID+1)
	for i := range d.ordOf {
		d.ordOf[i] = -1
	}
	for i, c := range t.Columns {
		d.ordOf[c.ID] = i
		if c.HasMissing {
			d.missing = append(d.missing, i)
		}
	}
	d.next = nextColumnID(t)
	return d
}

// decode builds a table row (every column, in order) from a key and value.
func (d *rowDecoder) decode(key, value []byte, keysOnly bool) ([]types.Datum, error) {
	t := d.t
	row := make([]types.Datum, len(t.Columns))
	for i := range row {
		row[i] = types.Null
	}
	pk, err := rowenc.DecodeRowKey(key, t.ID, d.pkTypes, t.PKDesc)
	if err != nil {
		return nil, err
	}
	for i, o := range t.PK {
		row[o] = pk[i]
	}
	if keysOnly {
		return row, nil
	}
	for _, o := range d.missing {
		row[o] = t.Columns[o].Missing
	}
	d.newer = false
	err = rowenc.DecodeRowValue(value, func(colID uint32, v types.Datum) {
		if int(colID) < len(d.ordOf) {
			if o := d.ordOf[colID]; o >= 0 {
				row[o] = v
			}
		}
		if colID >= d.next {
			d.newer = true
		}
	})
	return row, err
}

// readSpan returns the key-value pairs of a span, once per statement.
func (r *runner) readSpan(s *planner.Scan, sp planner.Span, pd Pushdown, prog []byte) ([]kvPair, error) {
	keysOnly := s.KeysOnly
	// The key is len(start), start, end, the flag and the program:
	// unambiguous, and no hex formatting on this path (it runs per outer
	// row of a subquery).
	ck := strconv.Itoa(len(sp.Start)) + ":" + string(sp.Start) + string(sp.End) + strconv.FormatBool(keysOnly) + string(prog)
	if kvs, ok := r.scans[ck]; ok {
		return kvs, nil
	}
	var kvs []kvPair
	collect := func(k, v []byte) error {
		kvs = append(kvs, kvPair{key: k, value: v})
		return nil
	}
	var err error
	if prog != nil {
		err = r.scanPushed(s, pd, sp, prog, collect)
	} else {
		err = r.kv.Scan(r.ctx, sp.Start, sp.End, keysOnly, collect)
	}
	if err != nil {
		return nil, err
	}
	r.scans[ck] = kvs
	return kvs, nil
}

// scan calls fn for every row of the table that the access reads and the
// filter admits, with the row's key.
func (r *runner) scan(s *planner.Scan, outer *env, fn func(key []byte, row []types.Datum) error) error {
	dec := newRowDecoder(s.Table)
	an := r.an.scan(s)
	visit := func(key, value []byte) error {
		if err := r.tick(); err != nil {
			return err
		}
		an.received(key, value)
		row, err := dec.decode(key, value, s.KeysOnly)
		if err != nil {
			return err
		}
		r.newerValue = nil
		if dec.newer {
			r.newerValue = value
			if r.newerByKey != nil {
				r.newerByKey[string(key)] = append([]byte(nil), value...)
			}
		}
		if s.Filter != nil {
			v, err := r.eval(s.Filter, &env{row: row, outer: outer})
			if err != nil {
				return err
			}
			if !truth(v) {
				return nil
			}
		}
		if r.lockScans[s] {
			k := append([]byte(nil), key...)
			if !r.skipLocked {
				r.lockKeys = append(r.lockKeys, k)
			} else if err := r.kv.(Locker).LockRows(r.ctx, [][]byte{k}, true); err != nil {
				// SKIP LOCKED: a row another transaction holds is left out.
				if pgerr.Code(err) == pgerr.LockNotAvailable {
					return nil
				}
				return err
			}
		}
		return fn(key, row)
	}
	acc := r.access(s)
	if acc.Point != nil {
		v, found, err := r.kv.Get(r.ctx, acc.Point)
		if err != nil || !found {
			return err
		}
		return visit(acc.Point, v)
	}
	pd := r.pushdown()
	for _, sp := range acc.Spans {
		prog := r.program(s, pd, sp)
		if r.inSubquery == 0 {
			// Top-level scans run once: stream them.
			var err error
			if prog != nil {
				err = r.scanPushed(s, pd, sp, prog, visit)
			} else {
				err = r.kv.Scan(r.ctx, sp.Start, sp.End, s.KeysOnly, visit)
			}
			if err != nil {
				return err
			}
			continue
		}
		kvs, err := r.readSpan(s, sp, pd, prog)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := visit(kv.key, kv.value); err != nil {
				return err
			}
		}
	}
	return nil
}
