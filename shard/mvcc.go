package shard

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/shardsql/shardsql/api"
)

// LogicalBits is the width of the logical part of a hybrid timestamp:
// ts = physical milliseconds << LogicalBits | logical counter.
const LogicalBits = 18

// PhysicalMs returns the physical milliseconds of the hybrid timestamp ts.
func PhysicalMs(ts uint64) uint64 { return ts >> LogicalBits }

// DefaultScanLimit is the number of pairs a scan returns when the request
// names no limit, and the most it returns in any case.
const DefaultScanLimit = 1024

// argError marks a malformed request (as opposed to a storage failure).
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func errArg(format string, args ...any) error {
	return &argError{msg: fmt.Sprintf(format, args...)}
}

// TxnStatus is the answer of CheckTxnStatus.
type TxnStatus struct {
	Status    api.CheckTxnStatusResponse_Status
	CommitTS  uint64 // when Status is COMMITTED
	LockTTLMs uint64 // when Status is LOCKED
}

// ---------------------------------------------------------------------------
// Store operations: reads on snapshots, writes under writeMu through apply.

// Get reads key at ts. It returns a KeyError when a lock of another
// transaction that may have committed below ts hides the value.
func (s *Store) Get(key []byte, ts uint64) (value []byte, found bool, kerr *api.KeyError, err error) {
	s.BumpMaxReadTS(ts)
	s.pending.wait([][]byte{key}, false, nil, nil)
	snap := s.db.NewSnapshot()
	defer snap.Close()
	if kerr := s.checkSafePoint(ts); kerr != nil {
		return nil, false, kerr, nil
	}
	return mvccGet(snap, key, ts)
}

// BatchGet reads keys at ts and returns the pairs found, in request order,
// or the first lock met.
func (s *Store) BatchGet(keys [][]byte, ts uint64) ([]*api.KeyValue, *api.KeyError, error) {
	s.BumpMaxReadTS(ts)
	s.pending.wait(keys, false, nil, nil)
	snap := s.db.NewSnapshot()
	defer snap.Close()
	if kerr := s.checkSafePoint(ts); kerr != nil {
		return nil, kerr, nil
	}
	var pairs []*api.KeyValue
	for _, k := range keys {
		v, found, kerr, err := mvccGet(snap, k, ts)
		if err != nil || kerr != nil {
			return nil, kerr, err
		}
		if found {
			pairs = append(pairs, &api.KeyValue{Key: append([]byte(nil), k...), Value: v})
		}
	}
	return pairs, nil, nil
}

// Scan reads the visible pairs of [start, end) (empty end = +inf) at ts in
// key order, at most limit of them (0 or more than DefaultScanLimit means
// DefaultScanLimit). resume is set to the next key holding a visible value
// when the limit cut the scan short.
func (s *Store) Scan(start, end []byte, ts uint64, limit int, keysOnly bool) (pairs []*api.KeyValue, resume []byte, kerr *api.KeyError, err error) {
	if limit <= 0 || limit > DefaultScanLimit {
		limit = DefaultScanLimit
	}
	s.BumpMaxReadTS(ts)
	if len(end) != 0 && bytes.Compare(start, end) >= 0 {
		return nil, nil, nil, nil
	}
	s.pending.wait(nil, true, start, end)
	snap := s.db.NewSnapshot()
	defer snap.Close()
	if kerr := s.checkSafePoint(ts); kerr != nil {
		return nil, nil, kerr, nil
	}
	return mvccScan(snap, start, end, ts, limit, keysOnly)
}

// Prewrite locks the keys of mutations for the transaction startTS (and
// stores the values of PUT and INSERT). Either every key is prewritten or
// none is, and then every failing key has a KeyError.
func (s *Store) Prewrite(muts []*api.Mutation, primary []byte, startTS, ttlMs uint64) ([]*api.KeyError, error) {
	if len(primary) == 0 {
		return nil, errArg("prewrite: empty primary")
	}
	if startTS == 0 {
		return nil, errArg("prewrite: zero start_ts")
	}
	return s.writeMulti(func(b *pebble.Batch) ([]*api.KeyError, error) {
		return mvccPrewrite(b, muts, primary, startTS, ttlMs)
	})
}

// Commit commits the locks of keys held by startTS at commitTS. Keys already
// committed by the transaction are fine; a rolled back (or never locked) key
// fails the whole request with KeyError.aborted.
func (s *Store) Commit(keys [][]byte, startTS, commitTS uint64) (*api.KeyError, error) {
	if commitTS <= startTS {
		return nil, errArg("commit: commit_ts %d not above start_ts %d", commitTS, startTS)
	}
	return s.writeOne(func(b *pebble.Batch) (*api.KeyError, error) {
		return mvccCommit(b, keys, startTS, commitTS)
	})
}

// Rollback removes the locks and values of startTS on keys and leaves ROLLBACK
// records so that a late prewrite of the transaction fails.
func (s *Store) Rollback(keys [][]byte, startTS uint64) (*api.KeyError, error) {
	return s.writeOne(func(b *pebble.Batch) (*api.KeyError, error) {
		return mvccRollback(b, keys, startTS)
	})
}

// RollbackPessimistic removes only the pessimistic (LOCK op) locks of
// startTS on keys and leaves no ROLLBACK record, so the transaction may take
// or write them again. It is idempotent.
func (s *Store) RollbackPessimistic(keys [][]byte, startTS uint64) error {
	_, err := s.writeOne(func(b *pebble.Batch) (*api.KeyError, error) {
		return nil, mvccRollbackPessimistic(b, keys, startTS)
	})
	return err
}

// AcquireLocks takes pessimistic locks (op LOCK, no value) of the
// transaction startTS on keys for a statement that read at forUpdateTS: a
// key locked by another transaction, committed after forUpdateTS, or where
// this transaction was rolled back fails. Either every key is locked or
// none is, and then every failing key has a KeyError. Re-acquiring our own
// lock is fine.
func (s *Store) AcquireLocks(keys [][]byte, primary []byte, startTS, forUpdateTS, ttlMs uint64) ([]*api.KeyError, error) {
	switch {
	case len(primary) == 0:
		return nil, errArg("acquire locks: empty primary")
	case startTS == 0:
		return nil, errArg("acquire locks: zero start_ts")
	case forUpdateTS < startTS:
		return nil, errArg("acquire locks: for_update_ts %d below start_ts %d", forUpdateTS, startTS)
	}
	return s.writeMulti(func(b *pebble.Batch) ([]*api.KeyError, error) {
		return mvccAcquireLocks(b, keys, primary, startTS, forUpdateTS, ttlMs)
	})
}

// TxnHeartbeat raises the TTL of the transaction's primary lock to at least
// ttlMs and returns the TTL in force. A transaction whose primary lock is
// gone gets a KeyError: aborted when it was rolled back (or left no trace),
// a message when it committed.
func (s *Store) TxnHeartbeat(primary []byte, startTS, ttlMs uint64) (uint64, *api.KeyError, error) {
	if len(primary) == 0 {
		return 0, nil, errArg("heartbeat: empty primary")
	}
	if startTS == 0 {
		return 0, nil, errArg("heartbeat: zero start_ts")
	}
	var ttl uint64
	kerr, err := s.writeOne(func(b *pebble.Batch) (*api.KeyError, error) {
		var (
			kerr *api.KeyError
			err  error
		)
		ttl, kerr, err = mvccTxnHeartbeat(b, primary, startTS, ttlMs)
		return kerr, err
	})
	if err != nil || kerr != nil {
		return 0, kerr, err
	}
	return ttl, nil, nil
}

// ResolveLock commits (commitTS > 0) or rolls back (commitTS == 0) the
// locks of startTS on keys. It is idempotent.
func (s *Store) ResolveLock(startTS, commitTS uint64, keys [][]byte) (*api.KeyError, error) {
	if commitTS == 0 {
		return s.Rollback(keys, startTS)
	}
	return s.Commit(keys, startTS, commitTS)
}

// CheckTxnStatus decides the fate of the transaction lockTS from its primary
// key: a live lock is LOCKED; a lock whose TTL expired by currentTS is rolled
// back; without a lock the write records tell, and a transaction that left no
// trace is rolled back (a ROLLBACK record stops a late prewrite).
func (s *Store) CheckTxnStatus(primary []byte, lockTS, currentTS uint64) (TxnStatus, error) {
	var st TxnStatus
	_, err := s.writeOne(func(b *pebble.Batch) (*api.KeyError, error) {
		var err error
		st, err = mvccCheckTxnStatus(b, primary, lockTS, currentTS)
		return nil, err
	})
	return st, err
}

// OnePC prewrites and commits mutations in one step, without locks, at
// commit_ts = max(startTS+1, MaxReadTS()+1, minWriteTS), which it returns.
func (s *Store) OnePC(muts []*api.Mutation, startTS, minWriteTS uint64) (uint64, []*api.KeyError, error) {
	if startTS == 0 {
		return 0, nil, errArg("onepc: zero start_ts")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	// Publish the keys before choosing commit_ts: a reader bumps maxReadTS
	// first and then waits for pending keys, so either we see its read
	// timestamp or it sees our keys and reads after our apply.
	keys := make([][]byte, len(muts))
	for i, m := range muts {
		keys[i] = m.GetKey()
	}
	done := s.pending.add(keys)
	defer done()
	commitTS := max(startTS+1, s.MaxReadTS()+1, minWriteTS)

	b := s.db.NewIndexedBatch()
	kerrs, err := mvccOnePC(b, muts, startTS, commitTS)
	if err != nil || len(kerrs) > 0 {
		b.Close()
		return 0, kerrs, err
	}
	if err := s.apply(b); err != nil {
		return 0, nil, err
	}
	return commitTS, nil, nil
}

// SpanEmpty reports whether no lock, write or data record at all has a user
// key in [start, end) (empty end = +inf).
func (s *Store) SpanEmpty(start, end []byte) (bool, error) {
	if len(end) != 0 && bytes.Compare(start, end) >= 0 {
		return true, nil
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	for _, p := range []byte{prefixLock, prefixWrite, prefixData} {
		lo, hi := spanBounds(p, start, end)
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return false, fmt.Errorf("span empty: %w", err)
		}
		any := it.First()
		err = errors.Join(it.Error(), it.Close())
		if err != nil {
			return false, fmt.Errorf("span empty: %w", err)
		}
		if any {
			return false, nil
		}
	}
	return true, nil
}

// writeMulti runs fn on a fresh indexed batch under writeMu and applies the
// batch unless fn reported key errors.
func (s *Store) writeMulti(fn func(b *pebble.Batch) ([]*api.KeyError, error)) ([]*api.KeyError, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	b := s.db.NewIndexedBatch()
	kerrs, err := fn(b)
	if err != nil || len(kerrs) > 0 {
		b.Close()
		return kerrs, err
	}
	return nil, s.apply(b)
}

func (s *Store) writeOne(fn func(b *pebble.Batch) (*api.KeyError, error)) (*api.KeyError, error) {
	kerrs, err := s.writeMulti(func(b *pebble.Batch) ([]*api.KeyError, error) {
		kerr, err := fn(b)
		if kerr != nil {
			return []*api.KeyError{kerr}, err
		}
		return nil, err
	})
	if len(kerrs) > 0 {
		return kerrs[0], err
	}
	return nil, err
}

// ---------------------------------------------------------------------------
// MVCC logic over a Pebble reader (snapshot) or indexed batch.

// getLock returns the lock on key, or nil.
func getLock(r pebble.Reader, key []byte) (*lockRecord, error) {
	v, closer, err := r.Get(lockKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	defer closer.Close()
	l, err := decodeLock(v)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	return l, nil
}

// getValue returns the value written by startTS on key.
func getValue(r pebble.Reader, key []byte, startTS uint64) ([]byte, error) {
	v, closer, err := r.Get(dataKey(key, startTS))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("key %q: data of start_ts %d missing", key, startTS)
	}
	if err != nil {
		return nil, fmt.Errorf("read data: %w", err)
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}

// forEachWrite calls fn for the write records of key with commit_ts <=
// fromTS, newest first, until fn returns false.
func forEachWrite(r pebble.Reader, key []byte, fromTS uint64, fn func(commitTS uint64, w writeRecord) bool) error {
	prefix := versionPrefix(prefixWrite, key)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixSuccessor(prefix)})
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	var ferr error
	for valid := it.SeekGE(appendUint64Desc(prefix, fromTS)); valid; valid = it.Next() {
		k := it.Key()
		commitTS := decodeUint64Desc(k[len(k)-tsLen:])
		w, err := decodeWrite(it.Value())
		if err != nil {
			ferr = fmt.Errorf("key %q@%d: %w", key, commitTS, err)
			break
		}
		if !fn(commitTS, w) {
			break
		}
	}
	if err := errors.Join(ferr, it.Error(), it.Close()); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// txnWrite finds the write record left on key by the transaction startTS:
// its commit record, or its ROLLBACK (possibly folded into another
// transaction's commit record as overlappedRollback, then reported with kind
// ROLLBACK).
func txnWrite(r pebble.Reader, key []byte, startTS uint64) (commitTS uint64, w writeRecord, found bool, err error) {
	err = forEachWrite(r, key, math.MaxUint64, func(cts uint64, rec writeRecord) bool {
		if cts < startTS {
			return false
		}
		if rec.startTS == startTS {
			commitTS, w, found = cts, rec, true
			return false
		}
		if cts == startTS && rec.overlappedRollback {
			commitTS, w, found = cts, writeRecord{kind: writeRollback, startTS: startTS}, true
			return false
		}
		return true
	})
	return commitTS, w, found, err
}

func lockedError(key []byte, l *lockRecord) *api.KeyError {
	return &api.KeyError{Locked: l.info(key)}
}

func abortedError(key []byte, startTS uint64) *api.KeyError {
	return &api.KeyError{Aborted: fmt.Sprintf("txn %d rolled back on key %q", startTS, key)}
}

// mvccGet reads key at ts.
func mvccGet(r pebble.Reader, key []byte, ts uint64) (value []byte, found bool, kerr *api.KeyError, err error) {
	l, err := getLock(r, key)
	if err != nil {
		return nil, false, nil, err
	}
	if l != nil && l.startTS <= ts && l.op != api.Mutation_LOCK {
		return nil, false, lockedError(key, l), nil
	}
	var hit writeRecord
	err = forEachWrite(r, key, ts, func(_ uint64, w writeRecord) bool {
		if w.kind == writePut || w.kind == writeDelete {
			hit = w
			return false
		}
		return true // ROLLBACK, LOCK: look further back
	})
	if err != nil || hit.kind != writePut {
		return nil, false, nil, err
	}
	value, err = getValue(r, key, hit.startTS)
	if err != nil {
		return nil, false, nil, err
	}
	return value, true, nil, nil
}

// mvccScan reads the visible pairs of [start, end) at ts.
func mvccScan(r pebble.Reader, start, end []byte, ts uint64, limit int, keysOnly bool) (pairs []*api.KeyValue, resume []byte, kerr *api.KeyError, err error) {
	lo, hi := spanBounds(prefixWrite, start, end)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("scan: %w", err)
	}
	var (
		ferr error
		buf  []byte
		// dit reads the values: one forward iterator over the data
		// records of the span, instead of a point Get per row (which
		// would open sstable iterators for every key).
		dit *pebble.Iterator
	)
	defer func() {
		if dit != nil {
			dit.Close()
		}
	}()
	valid := it.First()
	for valid {
		k := it.Key()
		prefix, commitTS, err := splitVersionKey(k)
		if err != nil {
			ferr = err
			break
		}
		if commitTS > ts {
			// Skip the versions newer than ts with one seek.
			buf = appendUint64Desc(append(buf[:0], prefix...), ts)
			valid = it.SeekGE(buf)
			continue
		}
		w, err := decodeWrite(it.Value())
		if err != nil {
			ferr = fmt.Errorf("scan: %w", err)
			break
		}
		if w.kind == writeRollback || w.kind == writeLock {
			valid = it.Next()
			continue
		}
		if w.kind == writePut {
			userKey, err := userKeyOf(prefix)
			if err != nil {
				ferr = fmt.Errorf("scan: %w", err)
				break
			}
			if len(pairs) == limit {
				resume = userKey
				break
			}
			kv := &api.KeyValue{Key: userKey}
			if !keysOnly {
				if dit == nil {
					dlo, dhi := spanBounds(prefixData, start, end)
					if dit, err = r.NewIter(&pebble.IterOptions{LowerBound: dlo, UpperBound: dhi}); err != nil {
						ferr = fmt.Errorf("scan values: %w", err)
						break
					}
				}
				dk := dataKey(userKey, w.startTS)
				// Rows usually have one version: the value is then the
				// next data record, and Next is cheaper than a seek.
				found := dit.Valid() && dit.Next() && bytes.Equal(dit.Key(), dk)
				if !found && (!dit.SeekGE(dk) || !bytes.Equal(dit.Key(), dk)) {
					ferr = errors.Join(dit.Error(), fmt.Errorf("key %q: data of start_ts %d missing", userKey, w.startTS))
					break
				}
				kv.Value = append([]byte(nil), dit.Value()...)
			}
			pairs = append(pairs, kv)
		}
		// Skip the older versions of this key: usually there are none and
		// the next record is the next key's; else one seek.
		buf = append(buf[:0], prefix...)
		if valid = it.Next(); valid && bytes.HasPrefix(it.Key(), buf) {
			valid = it.SeekGE(prefixSuccessor(buf))
		}
	}
	if err := errors.Join(ferr, it.Error(), it.Close()); err != nil {
		return nil, nil, nil, fmt.Errorf("scan: %w", err)
	}

	// Locks matter only in the part of the span this batch covers.
	lockEnd := end
	if resume != nil {
		lockEnd = resume
	}
	kerr, err = firstLock(r, start, lockEnd, ts)
	if err != nil || kerr != nil {
		return nil, nil, kerr, err
	}
	return pairs, resume, nil, nil
}

// firstLock returns a locked KeyError for the first lock in [start, end)
// that hides a possible write at or below ts.
func firstLock(r pebble.Reader, start, end []byte, ts uint64) (*api.KeyError, error) {
	lo, hi := spanBounds(prefixLock, start, end)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("scan locks: %w", err)
	}
	var (
		kerr *api.KeyError
		ferr error
	)
	for valid := it.First(); valid; valid = it.Next() {
		l, err := decodeLock(it.Value())
		if err != nil {
			ferr = err
			break
		}
		if l.startTS <= ts && l.op != api.Mutation_LOCK {
			key, err := userKeyOf(it.Key())
			if err != nil {
				ferr = err
				break
			}
			kerr = lockedError(key, l)
			break
		}
	}
	if err := errors.Join(ferr, it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("scan locks: %w", err)
	}
	return kerr, nil
}

// checkWrite applies the Percolator write checks for mutation m of the
// transaction startTS. own is this transaction's lock already on the key, if
// any: a prewrite lock means the key is already prewritten; a pessimistic
// (LOCK op) lock means the transaction has held the key since it acquired it
// at its for_update_ts, so no one can have committed there since and the
// write-conflict check is skipped (commits between start_ts and for_update_ts
// were read by the statement); INSERT's existence check still runs, over the
// newest committed row whatever its timestamp.
func checkWrite(r pebble.Reader, m *api.Mutation, startTS uint64) (own *lockRecord, kerr *api.KeyError, err error) {
	key := m.GetKey()
	l, err := getLock(r, key)
	if err != nil {
		return nil, nil, err
	}
	if l != nil {
		if l.startTS != startTS {
			return nil, lockedError(key, l), nil
		}
		if l.op == api.Mutation_LOCK && m.GetOp() == api.Mutation_INSERT {
			exists, err := newestIsPut(r, key)
			if err != nil {
				return nil, nil, err
			}
			if exists {
				return nil, alreadyExistsError(key), nil
			}
		}
		return l, nil, nil
	}
	var (
		conflict  *api.KeyError
		aborted   bool
		newestPut bool
	)
	err = forEachWrite(r, key, math.MaxUint64, func(cts uint64, w writeRecord) bool {
		if cts >= startTS {
			if (w.kind == writeRollback && w.startTS == startTS) || (cts == startTS && w.overlappedRollback) {
				aborted = true
				return false
			}
		}
		// A commit at exactly startTS (a 1PC timestamp chosen by a shard) is
		// visible to this transaction, so it is not a conflict.
		if cts > startTS {
			if conflict == nil {
				conflict = &api.KeyError{Conflict: &api.WriteConflict{
					Key:              append([]byte(nil), key...),
					StartTs:          startTS,
					ConflictStartTs:  w.startTS,
					ConflictCommitTs: cts,
				}}
			}
			return true // keep looking for our own ROLLBACK
		}
		if conflict != nil || m.GetOp() != api.Mutation_INSERT {
			return false
		}
		switch w.kind {
		case writePut:
			newestPut = true
			return false
		case writeDelete:
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return nil, nil, err
	case aborted:
		return nil, abortedError(key, startTS), nil
	case conflict != nil:
		return nil, conflict, nil
	case newestPut:
		return nil, alreadyExistsError(key), nil
	}
	return nil, nil, nil
}

func alreadyExistsError(key []byte) *api.KeyError {
	return &api.KeyError{AlreadyExists: append([]byte(nil), key...)}
}

// newestIsPut reports whether the newest committed row version of key (its
// newest PUT or DELETE record, at any timestamp) is a PUT.
func newestIsPut(r pebble.Reader, key []byte) (bool, error) {
	var put bool
	err := forEachWrite(r, key, math.MaxUint64, func(_ uint64, w writeRecord) bool {
		switch w.kind {
		case writePut:
			put = true
			return false
		case writeDelete:
			return false
		}
		return true // ROLLBACK, LOCK: look further back
	})
	return put, err
}

// mvccPrewrite checks every mutation, then (only if all pass) writes their
// locks and values into b. A key already prewritten by the transaction is
// left as it is; the transaction's pessimistic lock on a key becomes the
// prewrite lock (keeping the larger TTL, which a heartbeat may have raised).
func mvccPrewrite(b *pebble.Batch, muts []*api.Mutation, primary []byte, startTS, ttlMs uint64) ([]*api.KeyError, error) {
	var kerrs []*api.KeyError
	owns := make([]*lockRecord, len(muts))
	for i, m := range muts {
		if len(m.GetKey()) == 0 {
			return nil, errArg("prewrite: empty key")
		}
		own, kerr, err := checkWrite(b, m, startTS)
		if err != nil {
			return nil, err
		}
		if kerr != nil {
			kerrs = append(kerrs, kerr)
		}
		owns[i] = own
	}
	if len(kerrs) > 0 {
		return kerrs, nil
	}
	for i, m := range muts {
		l := lockRecord{primary: primary, startTS: startTS, ttlMs: ttlMs, op: m.GetOp()}
		if own := owns[i]; own != nil {
			if own.op != api.Mutation_LOCK {
				continue // already prewritten
			}
			l.ttlMs = max(l.ttlMs, own.ttlMs)
			l.forUpdateTS = own.forUpdateTS
		}
		if err := b.Set(lockKey(m.GetKey()), l.encode(), nil); err != nil {
			return nil, fmt.Errorf("prewrite: %w", err)
		}
		if hasValue(m.GetOp()) {
			if err := b.Set(dataKey(m.GetKey(), startTS), m.GetValue(), nil); err != nil {
				return nil, fmt.Errorf("prewrite: %w", err)
			}
		}
	}
	return nil, nil
}

// mvccAcquireLocks takes pessimistic locks of the transaction startTS on
// keys for a statement that read at forUpdateTS. Either every key is locked
// or none is, and then every failing key has a KeyError.
func mvccAcquireLocks(b *pebble.Batch, keys [][]byte, primary []byte, startTS, forUpdateTS, ttlMs uint64) ([]*api.KeyError, error) {
	type lockWrite struct {
		key []byte
		l   lockRecord
	}
	var (
		kerrs  []*api.KeyError
		writes []lockWrite
	)
	for _, key := range keys {
		if len(key) == 0 {
			return nil, errArg("acquire locks: empty key")
		}
		l, err := getLock(b, key)
		if err != nil {
			return nil, err
		}
		if l != nil {
			switch {
			case l.startTS != startTS:
				kerrs = append(kerrs, lockedError(key, l))
			case l.op == api.Mutation_LOCK:
				// Held since it was taken: nothing to check again.
				nl := *l
				nl.ttlMs = max(l.ttlMs, ttlMs)
				nl.forUpdateTS = max(l.forUpdateTS, forUpdateTS)
				writes = append(writes, lockWrite{key, nl})
			}
			// Our prewrite lock already holds the key.
			continue
		}
		kerr, err := checkAcquire(b, key, startTS, forUpdateTS)
		if err != nil {
			return nil, err
		}
		if kerr != nil {
			kerrs = append(kerrs, kerr)
			continue
		}
		writes = append(writes, lockWrite{key, lockRecord{
			primary: primary, startTS: startTS, ttlMs: ttlMs, op: api.Mutation_LOCK, forUpdateTS: forUpdateTS,
		}})
	}
	if len(kerrs) > 0 {
		return kerrs, nil
	}
	for _, w := range writes {
		if err := b.Set(lockKey(w.key), w.l.encode(), nil); err != nil {
			return nil, fmt.Errorf("acquire locks: %w", err)
		}
	}
	return nil, nil
}

// checkAcquire checks the write records of an unlocked key for a
// pessimistic lock of startTS at forUpdateTS: our own ROLLBACK means
// aborted, our own commit that the transaction is over, and a PUT, DELETE or
// LOCK record committed after forUpdateTS a conflict (the newest one is
// reported). Other transactions' ROLLBACK records are no conflict: nothing
// was written there.
func checkAcquire(r pebble.Reader, key []byte, startTS, forUpdateTS uint64) (*api.KeyError, error) {
	var (
		conflict  *api.KeyError
		aborted   bool
		committed bool
		commitTS  uint64
	)
	err := forEachWrite(r, key, math.MaxUint64, func(cts uint64, w writeRecord) bool {
		if cts < startTS {
			return false
		}
		if w.startTS == startTS {
			if w.kind == writeRollback {
				aborted = true
			} else {
				committed, commitTS = true, cts
			}
			return false
		}
		if cts == startTS && w.overlappedRollback {
			aborted = true
			return false
		}
		if cts > forUpdateTS && w.kind != writeRollback && conflict == nil {
			conflict = &api.KeyError{Conflict: &api.WriteConflict{
				Key:              append([]byte(nil), key...),
				StartTs:          startTS,
				ConflictStartTs:  w.startTS,
				ConflictCommitTs: cts,
			}}
		}
		return true // keep looking for our own record
	})
	switch {
	case err != nil:
		return nil, err
	case aborted:
		return abortedError(key, startTS), nil
	case committed:
		return &api.KeyError{Message: fmt.Sprintf("already committed: txn %d on key %q at %d", startTS, key, commitTS)}, nil
	}
	return conflict, nil
}

// putWrite writes the write record w of key at commitTS, folding it with a
// record of another transaction already at that timestamp (possible only
// between a ROLLBACK at some start_ts and a OnePC commit at the same number).
func putWrite(b *pebble.Batch, key []byte, commitTS uint64, w writeRecord) error {
	wk := writeKey(key, commitTS)
	v, closer, err := b.Get(wk)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("write record: %w", err)
	default:
		old, derr := decodeWrite(v)
		closer.Close()
		if derr != nil {
			return fmt.Errorf("key %q@%d: %w", key, commitTS, derr)
		}
		switch {
		case old.startTS == w.startTS && old.kind == w.kind:
			return nil // already there
		case w.kind == writeRollback && old.kind != writeRollback:
			// Keep the other transaction's commit; mark our rollback on it.
			old.overlappedRollback = true
			w = old
		case w.kind != writeRollback && old.kind == writeRollback && old.startTS == commitTS:
			w.overlappedRollback = true
		default:
			return fmt.Errorf("key %q: write record at %d of txn %d collides with txn %d", key, commitTS, w.startTS, old.startTS)
		}
	}
	if err := b.Set(wk, w.encode(), nil); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

// commitKey commits key's lock of startTS at commitTS.
func commitKey(b *pebble.Batch, key []byte, startTS, commitTS uint64) (*api.KeyError, error) {
	l, err := getLock(b, key)
	if err != nil {
		return nil, err
	}
	if l != nil && l.startTS == startTS {
		if err := putWrite(b, key, commitTS, writeRecord{kind: kindForOp(l.op), startTS: startTS}); err != nil {
			return nil, err
		}
		if err := b.Delete(lockKey(key), nil); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		return nil, nil
	}
	_, w, found, err := txnWrite(b, key, startTS)
	if err != nil {
		return nil, err
	}
	if found && w.kind != writeRollback {
		return nil, nil // already committed
	}
	return abortedError(key, startTS), nil
}

func mvccCommit(b *pebble.Batch, keys [][]byte, startTS, commitTS uint64) (*api.KeyError, error) {
	for _, k := range keys {
		if kerr, err := commitKey(b, k, startTS, commitTS); err != nil || kerr != nil {
			return kerr, err
		}
	}
	return nil, nil
}

// rollbackKey rolls back the transaction startTS on key: removes its lock and
// value and leaves a ROLLBACK record at startTS.
func rollbackKey(b *pebble.Batch, key []byte, startTS uint64) (*api.KeyError, error) {
	l, err := getLock(b, key)
	if err != nil {
		return nil, err
	}
	if l != nil && l.startTS == startTS {
		if err := b.Delete(lockKey(key), nil); err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
		if hasValue(l.op) {
			if err := b.Delete(dataKey(key, startTS), nil); err != nil {
				return nil, fmt.Errorf("rollback: %w", err)
			}
		}
	} else {
		commitTS, w, found, err := txnWrite(b, key, startTS)
		if err != nil {
			return nil, err
		}
		if found && w.kind != writeRollback {
			return &api.KeyError{Message: fmt.Sprintf("already committed: txn %d on key %q at %d", startTS, key, commitTS)}, nil
		}
		if found {
			return nil, nil // already rolled back
		}
	}
	return nil, putWrite(b, key, startTS, writeRecord{kind: writeRollback, startTS: startTS})
}

func mvccRollback(b *pebble.Batch, keys [][]byte, startTS uint64) (*api.KeyError, error) {
	for _, k := range keys {
		if kerr, err := rollbackKey(b, k, startTS); err != nil || kerr != nil {
			return kerr, err
		}
	}
	return nil, nil
}

// mvccRollbackPessimistic removes the pessimistic (LOCK op) locks of
// startTS on keys and nothing else: no ROLLBACK record, so the transaction
// may lock or write the keys again.
func mvccRollbackPessimistic(b *pebble.Batch, keys [][]byte, startTS uint64) error {
	for _, key := range keys {
		l, err := getLock(b, key)
		if err != nil {
			return err
		}
		if l == nil || l.startTS != startTS || l.op != api.Mutation_LOCK {
			continue
		}
		if err := b.Delete(lockKey(key), nil); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
	}
	return nil
}

// mvccTxnHeartbeat raises the TTL of the primary lock of startTS to at least
// ttlMs and returns the TTL now in force. Without that lock the transaction
// is over: committed (a message), or rolled back or gone (aborted).
func mvccTxnHeartbeat(b *pebble.Batch, primary []byte, startTS, ttlMs uint64) (uint64, *api.KeyError, error) {
	l, err := getLock(b, primary)
	if err != nil {
		return 0, nil, err
	}
	if l != nil && l.startTS == startTS {
		if ttlMs > l.ttlMs {
			l.ttlMs = ttlMs
			if err := b.Set(lockKey(primary), l.encode(), nil); err != nil {
				return 0, nil, fmt.Errorf("heartbeat: %w", err)
			}
		}
		return l.ttlMs, nil, nil
	}
	commitTS, w, found, err := txnWrite(b, primary, startTS)
	if err != nil {
		return 0, nil, err
	}
	if found && w.kind != writeRollback {
		return 0, &api.KeyError{Message: fmt.Sprintf("already committed: txn %d on key %q at %d", startTS, primary, commitTS)}, nil
	}
	return 0, abortedError(primary, startTS), nil
}

func mvccCheckTxnStatus(b *pebble.Batch, primary []byte, lockTS, currentTS uint64) (TxnStatus, error) {
	l, err := getLock(b, primary)
	if err != nil {
		return TxnStatus{}, err
	}
	if l != nil && l.startTS == lockTS {
		if PhysicalMs(currentTS) < PhysicalMs(lockTS)+l.ttlMs {
			return TxnStatus{Status: api.CheckTxnStatusResponse_LOCKED, LockTTLMs: l.ttlMs}, nil
		}
		if _, err := rollbackKey(b, primary, lockTS); err != nil {
			return TxnStatus{}, err
		}
		return TxnStatus{Status: api.CheckTxnStatusResponse_ROLLED_BACK}, nil
	}
	commitTS, w, found, err := txnWrite(b, primary, lockTS)
	if err != nil {
		return TxnStatus{}, err
	}
	switch {
	case found && w.kind != writeRollback:
		return TxnStatus{Status: api.CheckTxnStatusResponse_COMMITTED, CommitTS: commitTS}, nil
	case found:
		return TxnStatus{Status: api.CheckTxnStatusResponse_ROLLED_BACK}, nil
	}
	// No trace of the transaction: roll it back so a late prewrite fails.
	if err := putWrite(b, primary, lockTS, writeRecord{kind: writeRollback, startTS: lockTS}); err != nil {
		return TxnStatus{}, err
	}
	return TxnStatus{Status: api.CheckTxnStatusResponse_ROLLED_BACK}, nil
}

// mvccOnePC checks every mutation like a prewrite, then commits them all at
// commitTS without locks.
func mvccOnePC(b *pebble.Batch, muts []*api.Mutation, startTS, commitTS uint64) ([]*api.KeyError, error) {
	var kerrs []*api.KeyError
	for _, m := range muts {
		if len(m.GetKey()) == 0 {
			return nil, errArg("onepc: empty key")
		}
		_, kerr, err := checkWrite(b, m, startTS)
		if err != nil {
			return nil, err
		}
		if kerr != nil {
			kerrs = append(kerrs, kerr)
		}
	}
	if len(kerrs) > 0 {
		return kerrs, nil
	}
	for _, m := range muts {
		key := m.GetKey()
		// Drop a lock this transaction may hold on the key (a pessimistic lock).
		if err := b.Delete(lockKey(key), nil); err != nil {
			return nil, fmt.Errorf("onepc: %w", err)
		}
		if hasValue(m.GetOp()) {
			err := b.Set(dataKey(key, startTS), m.GetValue(), nil)
			if err != nil {
				return nil, fmt.Errorf("onepc: %w", err)
			}
		} else if err := b.Delete(dataKey(key, startTS), nil); err != nil {
			return nil, fmt.Errorf("onepc: %w", err)
		}
		// A duplicate key in the request rewrites the same W key: last wins.
		if err := b.Set(writeKey(key, commitTS), writeRecord{kind: kindForOp(m.GetOp()), startTS: startTS}.encode(), nil); err != nil {
			return nil, fmt.Errorf("onepc: %w", err)
		}
	}
	return nil, nil
}
