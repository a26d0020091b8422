package shard

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/shardsql/shardsql/api"
)

// MVCC garbage collection.
//
// A GC at safe point SP keeps, for every user key, everything a read at a
// timestamp >= SP can see: all write records above SP, and the newest
// PUT/DELETE record at or below SP when it is a PUT (with its value). It
// removes every other write record at or below SP (older PUTs and DELETEs
// with their values, a newest DELETE, ROLLBACK and LOCK records) and never
// touches locks. Reads below SP would see an incomplete history, so from
// the moment a GC at SP starts they fail with "snapshot too old".

// Batching of GC deletions: a batch ends after gcBatchKeys user keys or
// once it holds gcBatchDeletes deletions (after the current key).
const (
	gcBatchKeys    = 256
	gcBatchDeletes = 4096
)

// GCStats counts what a GC removed.
type GCStats struct {
	// Writes is the number of write records removed, Values the number of
	// data records.
	Writes, Values int
}

// GCSafePoint returns the highest safe point a GC has started at: reads
// below it fail with a "snapshot too old" KeyError.
func (s *Store) GCSafePoint() uint64 { return s.gcSafePoint.Load() }

// checkSafePoint returns the "snapshot too old" KeyError for a read at ts
// below the GC safe point. Readers call it after taking their snapshot: GC
// raises the safe point before it deletes anything, so a snapshot that
// misses any deleted version is always caught.
func (s *Store) checkSafePoint(ts uint64) *api.KeyError {
	if sp := s.gcSafePoint.Load(); ts < sp {
		return &api.KeyError{Message: fmt.Sprintf("snapshot too old: read at %d is below the GC safe point %d", ts, sp)}
	}
	return nil
}

// raiseSafePoint persists safePoint as the GC safe point and publishes it
// to readers, unless an equal or higher one is already in force.
func (s *Store) raiseSafePoint(safePoint uint64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if safePoint <= s.gcSafePoint.Load() {
		return nil
	}
	b := s.db.NewBatch()
	if err := b.Set(metaKey(metaGCSafePoint), binary.BigEndian.AppendUint64(nil, safePoint), nil); err != nil {
		b.Close()
		return fmt.Errorf("shard store: gc: %w", err)
	}
	// Not synced: the WAL keeps order, so the record survives any crash
	// that a later GC deletion survives.
	if err := s.applyWith(b, pebble.NoSync); err != nil {
		return fmt.Errorf("shard store: gc: %w", err)
	}
	s.gcSafePoint.Store(safePoint)
	return nil
}

// GC removes the versions of the user keys in [start, end) (empty end =
// +inf) that no read at or above safePoint can see (see the top of this
// file). It first raises the store's safe point to safePoint, then deletes
// in batches, each under the write mutex and through the apply path
// (unsynced). It stops early, with ctx's error, when ctx ends.
func (s *Store) GC(ctx context.Context, start, end []byte, safePoint uint64) (GCStats, error) {
	var st GCStats
	if safePoint == 0 {
		return st, nil
	}
	if err := s.raiseSafePoint(safePoint); err != nil {
		return st, err
	}
	if len(end) != 0 && bytes.Compare(start, end) >= 0 {
		return st, nil
	}
	lo, hi := spanBounds(prefixWrite, start, end)
	cursor := lo
	for cursor != nil {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		var err error
		cursor, err = s.gcBatch(cursor, hi, safePoint, &st)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// gcBatch collects one batch of garbage from the W records in [cursor, hi)
// and applies it. It returns where the next batch starts (nil: done).
func (s *Store) gcBatch(cursor, hi []byte, safePoint uint64, st *GCStats) (next []byte, err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// Every writer holds writeMu, so the live database is a stable view.
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: cursor, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("shard store: gc: %w", err)
	}
	b := s.db.NewBatch()
	var (
		deletes int
		values  int
		ferr    error
		seekBuf []byte
	)
	valid := it.First()
	for nkeys := 0; valid && nkeys < gcBatchKeys && deletes < gcBatchDeletes; nkeys++ {
		p, cts, err := splitVersionKey(it.Key())
		if err != nil {
			ferr = err
			break
		}
		prefix := append([]byte(nil), p...)
		if cts > safePoint {
			// Skip the versions above the safe point with one seek.
			seekBuf = appendUint64Desc(append(seekBuf[:0], prefix...), safePoint)
			if valid = it.SeekGE(seekBuf); !valid {
				break
			}
		}
		var n, nv int
		n, nv, valid, ferr = gcKey(it, b, prefix)
		deletes += n + nv
		values += nv
		if ferr != nil {
			break
		}
	}
	if valid && ferr == nil {
		next = append([]byte(nil), it.Key()...)
	}
	if err := errors.Join(ferr, it.Error(), it.Close()); err != nil {
		b.Close()
		return nil, fmt.Errorf("shard store: gc: %w", err)
	}
	if err := s.applyWith(b, pebble.NoSync); err != nil {
		return nil, err
	}
	st.Writes += deletes - values
	st.Values += values
	return next, nil
}

// gcKey deletes into b the garbage among the write records of one user key
// (W prefix prefix) from the iterator's position, which is the key's newest
// record at or below the safe point or already another key. It returns the
// write and data records deleted and leaves the iterator on the next key.
func gcKey(it *pebble.Iterator, b *pebble.Batch, prefix []byte) (writes, values int, valid bool, err error) {
	var dataPrefix []byte
	seenNewest := false
	for valid = it.Valid(); valid; valid = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+tsLen || !bytes.HasPrefix(k, prefix) {
			return writes, values, true, nil
		}
		w, err := decodeWrite(it.Value())
		if err != nil {
			return writes, values, valid, fmt.Errorf("%q: %w", k, err)
		}
		var dropValue bool
		switch {
		case w.kind == writeRollback || w.kind == writeLock:
		case !seenNewest:
			// The newest row version at or below the safe point: a PUT is
			// what reads at the safe point see; a DELETE shadows nothing.
			seenNewest = true
			if w.kind == writePut {
				continue
			}
		default:
			dropValue = w.kind == writePut
		}
		if err := b.Delete(k, nil); err != nil {
			return writes, values, valid, err
		}
		writes++
		if dropValue {
			if dataPrefix == nil {
				dataPrefix = append([]byte{prefixData}, prefix[1:]...)
			}
			if err := b.Delete(appendUint64Desc(dataPrefix[:len(dataPrefix):len(dataPrefix)], w.startTS), nil); err != nil {
				return writes, values, valid, err
			}
			values++
		}
	}
	return writes, values, false, nil
}

// OldestLockTS returns the smallest start_ts of any lock in the store (0
// when there is none). Shard servers report it with their heartbeats so
// the GC safe point never passes a transaction whose locks are still
// unresolved: were it to, the commit record of that transaction's primary
// could be collected, and a reader resolving a leftover secondary lock
// would find no trace of the commit and roll it back.
func (s *Store) OldestLockTS() (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLock}, UpperBound: []byte{prefixLock + 1}})
	if err != nil {
		return 0, err
	}
	var oldest uint64
	for it.First(); it.Valid(); it.Next() {
		l, err := decodeLock(it.Value())
		if err != nil {
			it.Close()
			return 0, err
		}
		if oldest == 0 || l.startTS < oldest {
			oldest = l.startTS
		}
	}
	return oldest, it.Close()
}

// ScanLocks returns up to limit locks with user keys in [start, end) whose
// transactions started at or before maxStartTS.
func (s *Store) ScanLocks(start, end []byte, maxStartTS uint64, limit int) ([]*api.LockInfo, error) {
	lo, hi := spanBounds(prefixLock, start, end)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	var out []*api.LockInfo
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		l, err := decodeLock(it.Value())
		if err != nil {
			it.Close()
			return nil, err
		}
		if l.startTS > maxStartTS {
			continue
		}
		key, err := userKeyOf(it.Key())
		if err != nil {
			it.Close()
			return nil, err
		}
		out = append(out, l.info(key))
	}
	return out, it.Close()
}
