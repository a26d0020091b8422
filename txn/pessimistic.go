package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// LockConflictError says a key to lock was committed after the statement's
// snapshot: under READ COMMITTED the statement re-reads at a newer
// timestamp and tries again; under REPEATABLE READ it is a serialization
// failure.
type LockConflictError struct {
	Key      []byte
	CommitTS uint64
}

func (e *LockConflictError) Error() string {
	return fmt.Sprintf("key %q was changed at %d by a concurrent transaction", e.Key, e.CommitTS)
}

// LockKeys takes pessimistic locks on keys as of forUpdateTS (the timestamp
// the statement read them at), waiting for other transactions' locks. It
// returns a *LockConflictError when a key changed after forUpdateTS. A
// transaction that is not Pessimistic takes no locks.
func (t *Txn) LockKeys(ctx context.Context, keys [][]byte, forUpdateTS uint64, noWait bool) error {
	if !t.Pessimistic || len(keys) == 0 {
		return nil
	}
	if t.locked == nil {
		t.locked = map[string]bool{}
	}
	var todo [][]byte
	seen := map[string]bool{}
	for _, k := range keys {
		if !t.locked[string(k)] && !seen[string(k)] {
			seen[string(k)] = true
			todo = append(todo, k)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	sort.Slice(todo, func(i, j int) bool { return bytes.Compare(todo[i], todo[j]) < 0 })
	if t.primary == nil {
		t.primary = todo[0]
	}
	ttl := uint64((t.c.LockTTL + time.Since(t.begun)) / time.Millisecond)
	var mu sync.Mutex
	var conflict *LockConflictError
	var otherErr error
	err := t.c.runBatches(ctx, todo, true, func(actx context.Context, sc api.ShardClient, rc *api.RangeContext, idx []int) (*api.RangeError, error) {
		batch := make([][]byte, len(idx))
		for i, j := range idx {
			batch[i] = todo[j]
		}
		lw := lockWaiter{waiter: t.StartTS, limit: t.LockTimeout, noWait: noWait}
		defer t.c.doneWaiting(&lw)
		for attempt := 0; ; attempt++ {
			rctx, cancel := actx, context.CancelFunc(func() {})
			if attempt > 0 {
				rctx, cancel = context.WithTimeout(ctx, rpcTimeout)
			}
			resp, err := sc.AcquireLocks(rctx, &api.AcquireLocksRequest{
				Ctx: rc, Keys: batch, Primary: t.primary, StartTs: t.StartTS, ForUpdateTs: forUpdateTS, LockTtlMs: ttl,
			})
			cancel()
			if err != nil || resp.RangeError != nil {
				return resp.GetRangeError(), err
			}
			var lock *api.LockInfo
			for _, e := range resp.Errors {
				switch {
				case e == nil:
				case e.Locked != nil:
					if lock == nil {
						lock = e.Locked
					}
				case e.Conflict != nil:
					mu.Lock()
					if conflict == nil || e.Conflict.ConflictCommitTs > conflict.CommitTS {
						conflict = &LockConflictError{Key: e.Conflict.Key, CommitTS: e.Conflict.ConflictCommitTs}
					}
					mu.Unlock()
				default:
					mu.Lock()
					if otherErr == nil {
						otherErr = keyError(e)
					}
					mu.Unlock()
				}
			}
			if conflict == nil && otherErr == nil && lock != nil {
				if err := t.c.resolveLock(ctx, lock, &lw); err != nil {
					return nil, err
				}
				continue
			}
			if len(resp.Errors) == 0 {
				mu.Lock()
				for _, k := range batch {
					t.locked[string(k)] = true
				}
				mu.Unlock()
			}
			return nil, nil
		}
	})
	if err == nil && otherErr != nil {
		err = otherErr
	}
	if err == nil && conflict != nil {
		err = conflict
	}
	if len(t.locked) > 0 && t.stopHeartbeat == nil {
		t.startHeartbeat()
	}
	return err
}

// startHeartbeat keeps the primary's lock alive while the transaction is
// open, so readers and writers that meet its locks wait instead of rolling
// it back.
func (t *Txn) startHeartbeat() {
	ctx, cancel := context.WithCancel(t.c.bgCtx)
	t.stopHeartbeat = cancel
	primary, start, begun := t.primary, t.StartTS, t.begun
	interval := t.c.LockTTL / 3
	t.c.bg.Add(1)
	go func() {
		defer t.c.bg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ttl := uint64((t.c.LockTTL + time.Since(begun)) / time.Millisecond)
			err := t.c.withRange(ctx, primary, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, _ *api.RangeDescriptor) (*api.RangeError, error) {
				resp, err := sc.TxnHeartbeat(ctx, &api.TxnHeartbeatRequest{Ctx: rc, Primary: primary, StartTs: start, TtlMs: ttl})
				if err != nil {
					return nil, err
				}
				if resp.Error != nil {
					return nil, keyError(resp.Error)
				}
				return resp.RangeError, nil
			})
			if err != nil && ctx.Err() == nil {
				t.c.logger.Warn("transaction heartbeat failed", "start_ts", start, "err", err)
				if errors.Is(err, context.Canceled) {
					return
				}
			}
		}
	}()
}

// IsLockConflict reports whether err is a *LockConflictError.
func IsLockConflict(err error) bool {
	var lc *LockConflictError
	return errors.As(err, &lc)
}

// serializationFailure turns a lock conflict into the error REPEATABLE READ reports.
func serializationFailure(err error) error {
	var lc *LockConflictError
	if errors.As(err, &lc) {
		return errConflict(lc.Key, err.Error())
	}
	return pgerr.New(pgerr.SerializationFailure, "could not serialize access due to concurrent update").WithDetail("%s", err.Error())
}

// SerializationFailure converts a lock conflict into SQLSTATE 40001.
func SerializationFailure(err error) error { return serializationFailure(err) }

// LocksRows reports whether the transaction takes row locks (exec.Locker).
func (t *Txn) LocksRows() bool { return t.Pessimistic }

// LockRows locks keys as of the statement's snapshot (exec.Locker).
func (t *Txn) LockRows(ctx context.Context, keys [][]byte, noWait bool) error {
	return t.LockKeys(ctx, keys, t.ReadTS, noWait)
}
