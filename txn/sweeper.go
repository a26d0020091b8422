package txn

import (
	"context"
	"time"

	"github.com/shardsql/shardsql/api"
)

// logicalBits is the width of a hybrid timestamp's logical part.
const logicalBits = 18

// StartLockResolver resolves, every interval, the locks that transactions
// which started more than two lock TTLs ago left on any range: locks of
// coordinators that died and that no reader has met since. A live
// transaction keeps its primary's TTL fresh, so its locks are left alone.
// It runs until Close.
func (c *Client) StartLockResolver(interval time.Duration) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.bgCtx.Done():
				return
			case <-t.C:
			}
			if n, err := c.ResolveOldLocks(c.bgCtx); err != nil && c.bgCtx.Err() == nil {
				c.logger.Warn("background lock resolution failed", "err", err, "resolved", n)
			}
		}
	}()
}

// ResolveOldLocks makes one pass of the background lock resolver and
// returns how many locks it resolved.
func (c *Client) ResolveOldLocks(ctx context.Context) (int, error) {
	now, err := c.oracle.Now(ctx)
	if err != nil {
		return 0, err
	}
	age := uint64(2*c.LockTTL/time.Millisecond) << logicalBits
	if now <= age {
		return 0, nil
	}
	maxStart := now - age
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	ranges, err := c.meta.ScanRanges(rctx, &api.ScanRangesRequest{})
	cancel()
	if err != nil {
		return 0, err
	}
	resolved := 0
	for _, r := range ranges.Ranges {
		sc, _, err := c.shardClient(ctx, r.Shard)
		if err != nil {
			continue // an unreachable shard is retried on the next pass
		}
		rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		resp, err := sc.ScanLocks(rctx, &api.ScanLocksRequest{Ctx: &api.RangeContext{RangeId: r.RangeId, Generation: r.Generation}, MaxStartTs: maxStart})
		cancel()
		if err != nil || resp.RangeError != nil {
			continue
		}
		for _, l := range resp.Locks {
			// noWait: a transaction that is still alive is not waited for.
			lw := lockWaiter{noWait: true}
			if err := c.resolveLock(ctx, l, &lw); err == nil {
				resolved++
			}
		}
	}
	return resolved, nil
}
