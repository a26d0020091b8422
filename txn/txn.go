package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/btree"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/scanstat"
)

// KeyExistsError reports an INSERT of a key that already holds a live row.
type KeyExistsError struct {
	Key []byte
}

func (e *KeyExistsError) Error() string { return fmt.Sprintf("key %q already exists", e.Key) }

// ExistingKey returns the key that already exists.
func (e *KeyExistsError) ExistingKey() []byte { return e.Key }

// errConflict is the first-committer-wins failure of snapshot isolation.
func errConflict(key []byte, detail string) error {
	e := pgerr.New(pgerr.SerializationFailure, "could not serialize access due to concurrent update").WithDetail("%s", detail)
	e.Err = &ConflictKey{Key: key}
	return e
}

// ConflictKey is the cause of a serialization failure: the key that a
// concurrent transaction changed (the SQL layer names its table).
type ConflictKey struct{ Key []byte }

func (c *ConflictKey) Error() string { return fmt.Sprintf("conflict on key %q", c.Key) }

// Txn is one Percolator transaction: reads at StartTS, writes buffered
// until Commit.
type Txn struct {
	c       *Client
	StartTS uint64
	// ReadTS is the snapshot reads use: StartTS, or a fresh timestamp per
	// statement under READ COMMITTED.
	ReadTS uint64
	// Pessimistic makes LockKeys take locks (explicit transactions).
	Pessimistic bool
	// LockTimeout bounds each wait for a lock (lock_timeout); 0: the default bound.
	LockTimeout time.Duration
	writes      *btree.BTreeG[*api.Mutation]
	// bytes counts the keys and values buffered (an upper bound: rewrites
	// of a key count again).
	bytes int
	done  bool
	// begun is when StartTS was fetched: lock TTLs count from start_ts.
	begun time.Time

	// primary is the key every lock of the transaction names; set by the
	// first LockKeys, else chosen at commit.
	primary []byte
	// locked holds the keys under this transaction's pessimistic locks.
	locked map[string]bool
	// stopHeartbeat ends the primary's TTL heartbeat.
	stopHeartbeat context.CancelFunc
}

func mutLess(a, b *api.Mutation) bool { return bytes.Compare(a.Key, b.Key) < 0 }

// Begin starts a transaction reading at a fresh timestamp.
func (c *Client) Begin(ctx context.Context) (*Txn, error) {
	begun := time.Now()
	// Reserve start_ts and start_ts+1: a shard commits a 1PC transaction at
	// max(start_ts+1, maxReadTS+1, ...), i.e. at the timestamp after some
	// transaction's start_ts. Were that timestamp handed out as another
	// transaction's start_ts, that transaction would see the write in its
	// snapshot (commit_ts <= its start_ts) and yet fail with a write
	// conflict on it (a version at or above start_ts), typically the next
	// statement after a 1PC write. Keeping start_ts+1 out of circulation
	// makes 1PC commit timestamps distinct from every start_ts.
	ts, err := c.oracle.Reserve(ctx, 2)
	if err != nil {
		return nil, pgerr.Wrap(err, pgerr.SystemError, "starting transaction")
	}
	return &Txn{c: c, StartTS: ts, ReadTS: ts, writes: btree.NewG(16, mutLess), begun: begun}, nil
}

// Savepoint is a copy of a transaction's write buffer to go back to.
type Savepoint struct {
	writes *btree.BTreeG[*api.Mutation]
	locked map[string]bool
}

// Savepoint returns the buffer as it is now (copy on write, cheap) and the
// set of keys locked so far.
func (t *Txn) Savepoint() Savepoint {
	sp := Savepoint{writes: t.writes.Clone(), locked: make(map[string]bool, len(t.locked))}
	for k := range t.locked {
		sp.locked[k] = true
	}
	return sp
}

// RollbackTo restores the buffer of a savepoint (statement restarts use it
// too; they keep their locks).
func (t *Txn) RollbackTo(sp Savepoint) { t.writes = sp.writes.Clone() }

// RollbackToReleasing restores a savepoint and releases the pessimistic
// locks taken since (ROLLBACK TO SAVEPOINT), synchronously so that a later
// lock of the same key cannot race with the release.
func (t *Txn) RollbackToReleasing(ctx context.Context, sp Savepoint) error {
	t.RollbackTo(sp)
	var released [][]byte
	for k := range t.locked {
		if !sp.locked[k] {
			released = append(released, []byte(k))
		}
	}
	if len(released) == 0 {
		return nil
	}
	sort.Slice(released, func(i, j int) bool { return bytes.Compare(released[i], released[j]) < 0 })
	if t.primary != nil && !sp.locked[string(t.primary)] {
		// The primary is the first key locked, so every lock is newer than
		// the savepoint: all go, and the next lock picks a new primary.
		t.stopLocks()
		t.primary = nil
	}
	err := t.c.runBatches(ctx, released, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, idx []int) (*api.RangeError, error) {
		batch := make([][]byte, len(idx))
		for i, j := range idx {
			batch[i] = released[j]
		}
		resp, err := sc.Rollback(ctx, &api.RollbackRequest{Ctx: rc, Keys: batch, StartTs: t.StartTS, PessimisticOnly: true})
		if err != nil {
			return nil, err
		}
		if resp.Error != nil {
			return resp.RangeError, keyError(resp.Error)
		}
		return resp.RangeError, nil
	})
	for _, k := range released {
		delete(t.locked, string(k))
	}
	return err
}

// Writes returns the number of buffered writes.
func (t *Txn) Writes() int { return t.writes.Len() }

// Client returns the client the transaction runs on.
func (t *Txn) Client() *Client { return t.c }

// Size returns the bytes of writes buffered so far.
func (t *Txn) Size() int { return t.bytes }

// Put buffers a write of key.
func (t *Txn) Put(key, value []byte) {
	t.bytes += len(key) + len(value)
	op := api.Mutation_PUT
	if prev, ok := t.writes.Get(&api.Mutation{Key: key}); ok && prev.Op == api.Mutation_INSERT {
		op = api.Mutation_INSERT
	}
	t.writes.ReplaceOrInsert(&api.Mutation{Op: op, Key: key, Value: value})
}

// Insert buffers a write of key that must not hold a live row; it fails at
// once when this transaction already wrote a live row there, and at commit
// when another did.
func (t *Txn) Insert(key, value []byte) error {
	t.bytes += len(key) + len(value)
	op := api.Mutation_INSERT
	if prev, ok := t.writes.Get(&api.Mutation{Key: key}); ok {
		if prev.Op != api.Mutation_DELETE {
			return &KeyExistsError{Key: key}
		}
		op = api.Mutation_PUT
	}
	t.writes.ReplaceOrInsert(&api.Mutation{Op: op, Key: key, Value: value})
	return nil
}

// Delete buffers a deletion of key.
func (t *Txn) Delete(key []byte) {
	t.bytes += len(key)
	if prev, ok := t.writes.Get(&api.Mutation{Key: key}); ok && prev.Op == api.Mutation_INSERT {
		t.writes.Delete(prev)
		return
	}
	t.writes.ReplaceOrInsert(&api.Mutation{Op: api.Mutation_DELETE, Key: key})
}

// Get reads key at the transaction's snapshot, seeing its own writes.
func (t *Txn) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	if m, ok := t.writes.Get(&api.Mutation{Key: key}); ok {
		if m.Op == api.Mutation_DELETE {
			return nil, false, nil
		}
		return m.Value, true, nil
	}
	lw := lockWaiter{}
	for {
		var resp *api.GetResponse
		err := t.c.withRange(ctx, key, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, _ *api.RangeDescriptor) (*api.RangeError, error) {
			var err error
			resp, err = sc.Get(ctx, &api.GetRequest{Ctx: rc, Key: key, Ts: t.ReadTS})
			if err != nil {
				return nil, err
			}
			return resp.RangeError, nil
		})
		if err != nil {
			return nil, false, err
		}
		if resp.Error != nil {
			if resp.Error.Locked != nil {
				if err := t.c.resolveLock(ctx, resp.Error.Locked, &lw); err != nil {
					return nil, false, err
				}
				continue
			}
			return nil, false, keyError(resp.Error)
		}
		return resp.Value, resp.Found, nil
	}
}

// keyError turns a shard's KeyError into an error for the caller.
func keyError(e *api.KeyError) error {
	// A shard's message for a read below the GC safe point starts so.
	const snapshotTooOld = "snapshot too old"
	switch {
	case e.Conflict != nil:
		return errConflict(e.Conflict.Key, fmt.Sprintf("key %q was written at %d after this transaction's snapshot %d", e.Conflict.Key, e.Conflict.ConflictCommitTs, e.Conflict.StartTs))
	case e.AlreadyExists != nil:
		return &KeyExistsError{Key: e.AlreadyExists}
	case e.Aborted != "":
		return pgerr.New(pgerr.SerializationFailure, "could not serialize access: transaction was aborted: %s", e.Aborted)
	case e.Locked != nil:
		return pgerr.New(pgerr.LockNotAvailable, "key %q is locked", e.Locked.Key)
	case len(e.Message) >= len(snapshotTooOld) && e.Message[:len(snapshotTooOld)] == snapshotTooOld:
		return pgerr.New(pgerr.SnapshotTooOld, "%s", e.Message) // snapshot_too_old
	}
	return pgerr.New(pgerr.Internal, "shard error: %s", e.Message)
}

// maxParallelScans bounds the ranges one scan reads at once.
const maxParallelScans = 16

type scanBatch struct {
	pairs    []*api.KeyValue
	partials [][]byte
	err      error
}

// Scan calls fn for every live key in [start, end) in key order at the
// transaction's snapshot, merged with its own writes. Ranges are read in
// parallel; an empty end means the end of the keyspace.
func (t *Txn) Scan(ctx context.Context, start, end []byte, keysOnly bool, fn func(key, value []byte) error) error {
	return t.scan(ctx, start, end, &scanOpts{keysOnly: keysOnly}, fn)
}

// ScanProgram is Scan with work pushed down to the shard servers: each
// range runs program (an encoding the executor owns) over its rows. Rows
// the program returns come to fn merged with the transaction's own writes
// in key order; partial results (a partial aggregation) come to partial.
// opts.Limit, when positive, bounds the rows one request returns; with
// opts.Unordered results arrive as ranges produce them (the transaction
// must have no writes in the span). stats, when set, is called after every
// request.
func (t *Txn) ScanProgram(ctx context.Context, start, end []byte, program []byte, opts scanstat.Options, fn func(key, value []byte) error, partial func(b []byte) error, stats func(scanstat.Stat)) error {
	return t.scan(ctx, start, end, &scanOpts{program: program, limit: opts.Limit, unordered: opts.Unordered, partial: partial, stats: stats}, fn)
}

// HasWritesIn reports whether the transaction has buffered writes in
// [start, end) (empty end: to the end of the keyspace).
func (t *Txn) HasWritesIn(start, end []byte) bool {
	found := false
	t.writes.AscendGreaterOrEqual(&api.Mutation{Key: start}, func(m *api.Mutation) bool {
		found = len(end) == 0 || bytes.Compare(m.Key, end) < 0
		return false
	})
	return found
}

type scanOpts struct {
	keysOnly  bool
	unordered bool
	program   []byte
	limit     int
	partial   func([]byte) error
	stats     func(scanstat.Stat)
}

func (t *Txn) scan(ctx context.Context, start, end []byte, o *scanOpts, fn func(key, value []byte) error) error {
	ranges, err := t.c.RangesFor(ctx, start, end)
	if err != nil {
		return pgerr.Wrap(err, pgerr.SystemError, "routing scan")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([]chan scanBatch, len(ranges))
	for i := range parts {
		parts[i] = make(chan scanBatch, 4)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	sem := make(chan struct{}, maxParallelScans)
	wg.Add(1)
	go func() { // launches the parts in order so the earliest always runs
		defer wg.Done()
		for i, r := range ranges {
			s, e := clampSpan(start, end, r)
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				for _, ch := range parts[i:] {
					close(ch)
				}
				return
			}
			wg.Add(1)
			go func(ch chan scanBatch) {
				defer wg.Done()
				defer func() { <-sem }()
				defer close(ch)
				t.scanSpan(ctx, s, e, o, ch)
			}(parts[i])
		}
	}()

	// The buffered writes inside the span, merged in key order.
	var own []*api.Mutation
	t.writes.AscendGreaterOrEqual(&api.Mutation{Key: start}, func(m *api.Mutation) bool {
		if len(end) != 0 && bytes.Compare(m.Key, end) >= 0 {
			return false
		}
		own = append(own, m)
		return true
	})
	emitOwn := func(upto []byte) error {
		for len(own) > 0 && (upto == nil || bytes.Compare(own[0].Key, upto) < 0) {
			m := own[0]
			own = own[1:]
			if m.Op != api.Mutation_DELETE {
				if err := fn(m.Key, m.Value); err != nil {
					return err
				}
			}
		}
		return nil
	}
	consume := parts
	if o.unordered && len(own) == 0 {
		// Fan the ranges in as they produce, so none waits for another.
		shared := make(chan scanBatch, 8)
		var fw sync.WaitGroup
		for _, ch := range parts {
			fw.Add(1)
			go func(ch chan scanBatch) {
				defer fw.Done()
				for b := range ch {
					select {
					case shared <- b:
					case <-ctx.Done():
						for range ch {
						}
						return
					}
				}
			}(ch)
		}
		go func() {
			fw.Wait()
			close(shared)
		}()
		consume = []chan scanBatch{shared}
	}
	for _, ch := range consume {
		for b := range ch {
			if b.err != nil {
				return b.err
			}
			for _, p := range b.partials {
				if err := o.partial(p); err != nil {
					return err
				}
			}
			for _, kv := range b.pairs {
				if err := emitOwn(kv.Key); err != nil {
					return err
				}
				if len(own) > 0 && bytes.Equal(own[0].Key, kv.Key) {
					continue // our own write replaces it; emitted below
				}
				if err := fn(kv.Key, kv.Value); err != nil {
					return err
				}
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return emitOwn(nil)
}

func clampSpan(start, end []byte, r *api.RangeDescriptor) (s, e []byte) {
	s, e = start, end
	if bytes.Compare(r.StartKey, s) > 0 {
		s = r.StartKey
	}
	if len(r.EndKey) != 0 && (len(e) == 0 || bytes.Compare(r.EndKey, e) < 0) {
		e = r.EndKey
	}
	return s, e
}

// scanSpan reads [s, e) batch by batch, following splits and resolving locks.
func (t *Txn) scanSpan(ctx context.Context, s, e []byte, o *scanOpts, out chan<- scanBatch) {
	send := func(b scanBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	cur := s
	lw := lockWaiter{}
	for {
		var resp *api.ScanResponse
		var next []byte
		err := t.c.withRange(ctx, cur, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, d *api.RangeDescriptor) (*api.RangeError, error) {
			reqEnd := e
			next = nil
			if len(d.EndKey) != 0 && (len(e) == 0 || bytes.Compare(d.EndKey, e) < 0) {
				reqEnd, next = d.EndKey, d.EndKey
			}
			var err error
			limit := uint32(1024)
			if o.limit > 0 && o.limit < 1024 {
				limit = uint32(o.limit)
			}
			resp, err = sc.Scan(ctx, &api.ScanRequest{Ctx: rc, StartKey: cur, EndKey: reqEnd, Ts: t.ReadTS, Limit: limit, KeysOnly: o.keysOnly, Program: o.program})
			if err != nil {
				return nil, err
			}
			if o.stats != nil && resp.RangeError == nil && resp.Stats != nil {
				st := resp.Stats
				o.stats(scanstat.Stat{RangeID: d.RangeId, Shard: d.Shard, KeysRead: st.KeysRead, RowsReturned: st.RowsReturned, BytesReturned: st.BytesReturned, Micros: st.DurationUs})
			}
			return resp.RangeError, nil
		})
		if err != nil {
			send(scanBatch{err: err})
			return
		}
		if resp.Error != nil {
			if resp.Error.Locked != nil {
				if err := t.c.resolveLock(ctx, resp.Error.Locked, &lw); err != nil {
					send(scanBatch{err: err})
					return
				}
				continue
			}
			send(scanBatch{err: keyError(resp.Error)})
			return
		}
		if resp.SqlErrorCode != "" {
			send(scanBatch{err: pgerr.New(resp.SqlErrorCode, "%s", resp.SqlErrorMessage)})
			return
		}
		if (len(resp.Pairs) > 0 || len(resp.Partials) > 0) && !send(scanBatch{pairs: resp.Pairs, partials: resp.Partials}) {
			return
		}
		switch {
		case len(resp.ResumeKey) != 0:
			cur = resp.ResumeKey
		case next != nil:
			cur = next
		default:
			return
		}
	}
}

// Mutations returns the buffered writes in key order.
func (t *Txn) mutations() []*api.Mutation {
	out := make([]*api.Mutation, 0, t.writes.Len())
	t.writes.Ascend(func(m *api.Mutation) bool {
		out = append(out, m)
		return true
	})
	return out
}

// Rollback abandons the transaction: buffered writes are dropped and its
// pessimistic locks released (in the background).
func (t *Txn) Rollback() {
	if t.done {
		return
	}
	t.done = true
	t.writes.Clear(false)
	t.stopLocks()
	if len(t.locked) > 0 {
		t.c.rollbackAsync(t.lockedKeys(), t.StartTS)
	}
}

func (t *Txn) stopLocks() {
	if t.stopHeartbeat != nil {
		t.stopHeartbeat()
		t.stopHeartbeat = nil
	}
}

func (t *Txn) lockedKeys() [][]byte {
	keys := make([][]byte, 0, len(t.locked))
	for k := range t.locked {
		keys = append(keys, []byte(k))
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	return keys
}

// Commit writes the buffered mutations atomically: one round (1PC) when they
// all fall in one range, else Percolator two-phase commit.
func (t *Txn) Commit(ctx context.Context) error {
	if t.done {
		return errors.New("transaction already finished")
	}
	t.done = true
	defer t.stopLocks()
	// Locked keys the transaction did not write are committed as LOCK
	// mutations, which releases them.
	for k := range t.locked {
		if _, ok := t.writes.Get(&api.Mutation{Key: []byte(k)}); !ok {
			t.writes.ReplaceOrInsert(&api.Mutation{Op: api.Mutation_LOCK, Key: []byte(k)})
		}
	}
	muts := t.mutations()
	if len(muts) == 0 {
		return nil
	}
	keys := make([][]byte, len(muts))
	for i, m := range muts {
		keys[i] = m.Key
	}
	// With pessimistic locks held, 1PC still works when every key is in
	// one range: the shard takes over our own locks (without a conflict
	// check for them) and commits in one step.
	groups, err := t.c.group(ctx, keys, seq(len(keys)))
	if err != nil {
		return pgerr.Wrap(err, pgerr.SystemError, "routing commit")
	}
	if len(groups) == 1 {
		err := t.onePC(ctx, muts)
		if !errors.Is(err, errRegroup) {
			if err != nil && len(t.locked) > 0 && !isUnknownOutcome(err) {
				// The one round did not apply: release our pessimistic
				// locks now rather than leave writers to wait out their TTL.
				t.c.rollbackAsync(keys, t.StartTS)
			}
			return err
		}
	}
	return t.twoPC(ctx, muts, keys)
}

// isUnknownOutcome reports an error after which the commit may or may not
// have applied (08007).
func isUnknownOutcome(err error) bool { return pgerr.Code(err) == "08007" }

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func (t *Txn) onePC(ctx context.Context, muts []*api.Mutation) error {
	lw := lockWaiter{waiter: t.StartTS, limit: t.LockTimeout}
	defer t.c.doneWaiting(&lw)
	// maybeApplied is set when an attempt failed in a way that does not
	// prove the shard did not apply it (the connection broke, or the
	// deadline passed, after the request may have been sent). A retry of
	// an applied OnePC meets the transaction's own write records and
	// reports a write conflict, so such outcomes are settled by asking the
	// shard what became of the transaction instead of trusting them:
	// reporting 40001 for a committed transaction makes the caller apply
	// it twice.
	maybeApplied := false
	start := time.Now()
	for {
		var resp *api.OnePCResponse
		err := t.c.withRange(ctx, muts[0].Key, false, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, d *api.RangeDescriptor) (*api.RangeError, error) {
			if !contains(d, muts[len(muts)-1].Key) {
				return nil, errRegroup
			}
			var err error
			resp, err = sc.OnePC(ctx, &api.OnePCRequest{Ctx: rc, Mutations: muts, StartTs: t.StartTS})
			if err != nil {
				if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
					maybeApplied = true
				}
				return nil, err
			}
			return resp.RangeError, nil
		})
		var kerr error
		if err == nil {
			var lock *api.LockInfo
			lock, kerr = firstKeyError(resp.Errors)
			if lock != nil {
				if err := t.c.resolveLock(ctx, lock, &lw); err != nil {
					return err
				}
				continue
			}
			if kerr == nil {
				return nil
			}
		}
		if !maybeApplied {
			if errors.Is(err, errRegroup) {
				return errRegroup
			}
			if err != nil {
				return commitRPCError(err)
			}
			return kerr
		}
		// Settle the outcome on the first key: committed, or rolled back
		// now (which also fences a late delivery of the earlier attempt).
		// It shares the commit's retry budget: an unreachable shard fails
		// the commit (as unknown) within about one budget, not two.
		committed, serr := t.c.txnCommitted(ctx, muts[0].Key, t.StartTS, t.c.RetryBudget-time.Since(start))
		switch {
		case serr != nil:
			return pgerr.Wrap(serr, "08007", "transaction resolution unknown")
		case committed:
			return nil
		case errors.Is(err, errRegroup):
			// Not committed, and now rolled back: 2PC cannot go on with
			// this start_ts. Nothing was written, so the caller may retry.
			return pgerr.New(pgerr.SerializationFailure, "could not serialize access: transaction was aborted while its range changed")
		case errors.Is(err, errAmbiguous):
			// No longer ambiguous: it did not commit.
			return pgerr.Wrap(err, pgerr.SystemError, "commit failed; the transaction was rolled back")
		case err != nil:
			return commitRPCError(err)
		}
		return kerr
	}
}

// firstKeyError returns a lock to resolve, or the first other key error.
func firstKeyError(errs []*api.KeyError) (*api.LockInfo, error) {
	var other error
	for _, e := range errs {
		if e == nil {
			continue
		}
		if e.Locked != nil {
			return e.Locked, nil
		}
		if other == nil {
			other = keyError(e)
		}
	}
	return nil, other
}

func commitRPCError(err error) error {
	if errors.Is(err, errAmbiguous) {
		return pgerr.Wrap(err, "08007", "transaction resolution unknown")
	}
	var pe *pgerr.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return pgerr.Wrap(err, pgerr.QueryCanceled, "canceling statement")
	}
	return pgerr.Wrap(err, pgerr.SystemError, "commit failed")
}

func (t *Txn) twoPC(ctx context.Context, muts []*api.Mutation, keys [][]byte) error {
	primary := keys[0]
	if t.primary != nil {
		primary = t.primary
	}
	// A shard counts a lock's TTL from the transaction's start_ts, not from
	// the prewrite: add the time the transaction has run so far, or the
	// locks of a transaction that ran longer than LockTTL are expired the
	// moment they are written and any reader rolls them back.
	ttl := uint64((t.c.LockTTL + time.Since(t.begun)) / time.Millisecond)
	// Phase one: prewrite every key, batched per range, in parallel.
	var mu sync.Mutex
	var firstErr error
	txnCtx := ctx
	err := t.c.runBatches(ctx, keys, true, func(actx context.Context, sc api.ShardClient, rc *api.RangeContext, idx []int) (*api.RangeError, error) {
		batch := make([]*api.Mutation, len(idx))
		for i, j := range idx {
			batch[i] = muts[j]
		}
		lw := lockWaiter{waiter: t.StartTS, limit: t.LockTimeout}
		defer t.c.doneWaiting(&lw)
		for attempt := 0; ; attempt++ {
			// actx bounds one RPC attempt (rpcTimeout). Waiting for a lock
			// may take longer than that (up to the holder's TTL, bounded by
			// maxLockWait), so the wait runs under the transaction's
			// context and the prewrite after it gets a fresh attempt
			// deadline.
			rctx, cancel := actx, context.CancelFunc(func() {})
			if attempt > 0 {
				rctx, cancel = context.WithTimeout(txnCtx, rpcTimeout)
			}
			resp, err := sc.Prewrite(rctx, &api.PrewriteRequest{Ctx: rc, Mutations: batch, Primary: primary, StartTs: t.StartTS, LockTtlMs: ttl})
			cancel()
			if err != nil || resp.RangeError != nil {
				return resp.GetRangeError(), err
			}
			lock, kerr := firstKeyError(resp.Errors)
			if lock != nil {
				if err := t.c.resolveLock(txnCtx, lock, &lw); err != nil {
					return nil, err
				}
				continue
			}
			if kerr != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = kerr
				}
				mu.Unlock()
			}
			return nil, nil
		}
	})
	if err == nil {
		err = firstErr
	}
	if err != nil {
		t.c.rollbackAsync(keys, t.StartTS)
		if pe := (*pgerr.Error)(nil); errors.As(err, &pe) {
			return err
		}
		var ke *KeyExistsError
		if errors.As(err, &ke) {
			return ke
		}
		return pgerr.Wrap(err, pgerr.SystemError, "prewrite failed")
	}
	if fault != faultNone {
		t.maybeCrash(ctx, faultAfterPrewrite, keys)
	}
	commitTS, err := t.c.oracle.Now(ctx)
	if err != nil {
		t.c.rollbackAsync(keys, t.StartTS)
		return pgerr.Wrap(err, pgerr.SystemError, "getting commit timestamp")
	}
	// The commit point: the primary's write record.
	var cresp *api.CommitResponse
	err = t.c.withRange(ctx, primary, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, _ *api.RangeDescriptor) (*api.RangeError, error) {
		var err error
		cresp, err = sc.Commit(ctx, &api.CommitRequest{Ctx: rc, Keys: [][]byte{primary}, StartTs: t.StartTS, CommitTs: commitTS})
		if err != nil {
			return nil, err
		}
		return cresp.RangeError, nil
	})
	if err != nil {
		return pgerr.Wrap(err, "08007", "transaction resolution unknown: committing the primary key failed")
	}
	if cresp.Error != nil {
		t.c.rollbackAsync(keys, t.StartTS)
		return keyError(cresp.Error)
	}
	if fault != faultNone {
		t.maybeCrash(ctx, faultAfterPrimaryCommit, keys)
	}
	// Secondaries are committed in the background; readers that meet their
	// locks first roll them forward from the primary.
	var secondaries [][]byte
	for _, k := range keys {
		if !bytes.Equal(k, primary) {
			secondaries = append(secondaries, k)
		}
	}
	if len(secondaries) > 0 {
		t.c.commitAsync(secondaries, t.StartTS, commitTS)
	}
	return nil
}
