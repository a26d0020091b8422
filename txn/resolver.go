package txn

import (
	"context"
	"fmt"
	"time"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// maxLockWait bounds how long one request waits on live locks.
const maxLockWait = 30 * time.Second

// lockWaiter tracks one request's waiting on locks.
type lockWaiter struct {
	start   time.Time
	backoff time.Duration
	// waiter is the waiting transaction's start_ts (0 for a plain reader,
	// which never takes part in deadlocks: it waits only on prewrites).
	waiter uint64
	// reported is set once a wait was recorded in the wait-for graph.
	reported bool
	// limit bounds the wait (lock_timeout); 0 means maxLockWait.
	limit time.Duration
	// noWait fails at once when the holder is alive (FOR UPDATE NOWAIT).
	noWait bool
}

// resolveLock finds out what became of the transaction holding lock: a
// committed one is rolled forward, an aborted or expired one rolled back, a
// live one waited for (with backoff, bounded). The caller retries after.
func (c *Client) resolveLock(ctx context.Context, lock *api.LockInfo, lw *lockWaiter) error {
	if lw.start.IsZero() {
		lw.start = time.Now()
		lw.backoff = 2 * time.Millisecond
	}
	now, err := c.oracle.Now(ctx)
	if err != nil {
		return pgerr.Wrap(err, pgerr.SystemError, "resolving lock")
	}
	var st *api.CheckTxnStatusResponse
	err = c.withRange(ctx, lock.Primary, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, _ *api.RangeDescriptor) (*api.RangeError, error) {
		var err error
		st, err = sc.CheckTxnStatus(ctx, &api.CheckTxnStatusRequest{Ctx: rc, Primary: lock.Primary, LockTs: lock.StartTs, CurrentTs: now})
		if err != nil {
			return nil, err
		}
		return st.RangeError, nil
	})
	if err != nil {
		return pgerr.Wrap(err, pgerr.SystemError, "checking transaction status")
	}
	if st.Error != nil {
		return keyError(st.Error)
	}
	switch st.Status {
	case api.CheckTxnStatusResponse_COMMITTED:
		return c.resolveKeys(ctx, [][]byte{lock.Key}, lock.StartTs, st.CommitTs)
	case api.CheckTxnStatusResponse_ROLLED_BACK:
		return c.resolveKeys(ctx, [][]byte{lock.Key}, lock.StartTs, 0)
	}
	if lw.noWait {
		return pgerr.New(pgerr.LockNotAvailable, "could not obtain lock on row: it is locked by transaction %d", lock.StartTs)
	}
	if lw.waiter != 0 && lw.waiter != lock.StartTs {
		// Record the wait cluster-wide; a wait that closes a cycle makes
		// this transaction the deadlock's victim.
		dctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		resp, err := c.meta.DetectDeadlock(dctx, &api.DetectDeadlockRequest{WaiterTs: lw.waiter, HolderTs: lock.StartTs, Key: lock.Key})
		cancel()
		if err == nil {
			lw.reported = true
			if resp.Deadlock {
				lw.reported = false
				return pgerr.New(pgerr.DeadlockDetected, "deadlock detected").
					WithDetail("Transaction %d waits for transaction %d on key %q, which waits for this one (cycle %v).", lw.waiter, lock.StartTs, lock.Key, resp.Cycle)
			}
		}
	}
	limit := maxLockWait
	if lw.limit > 0 {
		limit = lw.limit
	}
	if time.Since(lw.start) > limit {
		if lw.limit > 0 {
			return pgerr.New(pgerr.LockNotAvailable, "canceling statement due to lock timeout").
				WithDetail("Key %q is held by transaction %d.", lock.Key, lock.StartTs)
		}
		return pgerr.New(pgerr.LockNotAvailable, "could not obtain lock on key %q: held by transaction %d", lock.Key, lock.StartTs)
	}
	t := time.NewTimer(lw.backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	if lw.backoff < 200*time.Millisecond {
		lw.backoff *= 2
	}
	return nil
}

// txnCommitted reports whether the transaction startTS committed, asking
// the shard of its primary key. A transaction that left no trace there is
// rolled back by the question, so it cannot commit afterwards. The retry
// budget bounds its retries (one attempt is always made).
func (c *Client) txnCommitted(ctx context.Context, primary []byte, startTS uint64, budget time.Duration) (bool, error) {
	now, err := c.oracle.Now(ctx)
	if err != nil {
		return false, err
	}
	var st *api.CheckTxnStatusResponse
	err = c.withRangeBudget(ctx, primary, true, budget, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, _ *api.RangeDescriptor) (*api.RangeError, error) {
		var err error
		st, err = sc.CheckTxnStatus(ctx, &api.CheckTxnStatusRequest{Ctx: rc, Primary: primary, LockTs: startTS, CurrentTs: now})
		if err != nil {
			return nil, err
		}
		return st.RangeError, nil
	})
	if err != nil {
		return false, err
	}
	if st.Error != nil {
		return false, keyError(st.Error)
	}
	switch st.Status {
	case api.CheckTxnStatusResponse_COMMITTED:
		return true, nil
	case api.CheckTxnStatusResponse_ROLLED_BACK:
		return false, nil
	}
	return false, fmt.Errorf("transaction %d still holds a lock on %q", startTS, primary)
}

// resolveKeys commits (commitTS > 0) or rolls back the locks of startTS on keys.
func (c *Client) resolveKeys(ctx context.Context, keys [][]byte, startTS, commitTS uint64) error {
	return c.runBatches(ctx, keys, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, idx []int) (*api.RangeError, error) {
		batch := make([][]byte, len(idx))
		for i, j := range idx {
			batch[i] = keys[j]
		}
		resp, err := sc.ResolveLock(ctx, &api.ResolveLockRequest{Ctx: rc, StartTs: startTS, CommitTs: commitTS, Keys: batch})
		if err != nil {
			return nil, err
		}
		if resp.Error != nil {
			return resp.RangeError, keyError(resp.Error)
		}
		return resp.RangeError, nil
	})
}

// commitAsync commits secondary keys in the background.
func (c *Client) commitAsync(keys [][]byte, startTS, commitTS uint64) {
	c.background(func(ctx context.Context) error { return c.resolveKeys(ctx, keys, startTS, commitTS) })
}

// rollbackAsync rolls back a failed transaction's keys in the background.
func (c *Client) rollbackAsync(keys [][]byte, startTS uint64) {
	c.background(func(ctx context.Context) error {
		return c.runBatches(ctx, keys, true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, idx []int) (*api.RangeError, error) {
			batch := make([][]byte, len(idx))
			for i, j := range idx {
				batch[i] = keys[j]
			}
			resp, err := sc.Rollback(ctx, &api.RollbackRequest{Ctx: rc, Keys: batch, StartTs: startTS})
			if err != nil {
				return nil, err
			}
			return resp.RangeError, nil
		})
	})
}

func (c *Client) background(f func(ctx context.Context) error) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		ctx, cancel := context.WithTimeout(c.bgCtx, 30*time.Second)
		defer cancel()
		if err := f(ctx); err != nil {
			c.logger.Warn("background transaction cleanup failed; readers will resolve the locks", "err", err)
		}
	}()
}

// doneWaiting removes a finished wait from the wait-for graph.
func (c *Client) doneWaiting(lw *lockWaiter) {
	if !lw.reported {
		return
	}
	lw.reported = false
	ctx, cancel := context.WithTimeout(c.bgCtx, rpcTimeout)
	defer cancel()
	c.meta.DetectDeadlock(ctx, &api.DetectDeadlockRequest{WaiterTs: lw.waiter})
}
