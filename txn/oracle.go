package txn

import (
	"context"
	"fmt"
	"sync"

	"github.com/shardsql/shardsql/api"
)

// Oracle hands out timestamps from the metadata service's TSO, batching
// concurrent requests into one RPC.
type Oracle struct {
	meta api.MetaClient

	mu struct {
		sync.Mutex
		inFlight bool
		waiting  []tsoWaiter
	}
}

type tsoWaiter struct {
	n  uint32
	ch chan tsoResult
}

type tsoResult struct {
	first uint64
	err   error
}

// NewOracle returns an Oracle that asks meta.
func NewOracle(meta api.MetaClient) *Oracle { return &Oracle{meta: meta} }

// Now returns one fresh timestamp.
func (o *Oracle) Now(ctx context.Context) (uint64, error) { return o.Reserve(ctx, 1) }

// Reserve returns the first of n fresh consecutive timestamps.
func (o *Oracle) Reserve(ctx context.Context, n uint32) (uint64, error) {
	if n == 0 {
		n = 1
	}
	ch := make(chan tsoResult, 1)
	o.mu.Lock()
	o.mu.waiting = append(o.mu.waiting, tsoWaiter{n: n, ch: ch})
	if !o.mu.inFlight {
		o.mu.inFlight = true
		go o.fetchLoop()
	}
	o.mu.Unlock()
	select {
	case r := <-ch:
		return r.first, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// fetchLoop serves every waiter queued while the previous RPC ran with one
// RPC, until nobody waits.
func (o *Oracle) fetchLoop() {
	for {
		o.mu.Lock()
		batch := o.mu.waiting
		o.mu.waiting = nil
		if len(batch) == 0 {
			o.mu.inFlight = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		// One RPC may reserve at most maxTSOBatch timestamps (the metadata
		// service refuses more), and the sum of many uint32 counts may
		// overflow: serve the waiters in chunks below the limit, so that one
		// big Reserve neither fails nor is failed by its neighbours. A
		// single waiter above the limit goes alone and fails.
		for len(batch) > 0 {
			i, total := 0, uint64(0)
			for i < len(batch) && (i == 0 || total+uint64(batch[i].n) <= maxTSOBatch) {
				total += uint64(batch[i].n)
				i++
			}
			o.serve(batch[:i], total)
			batch = batch[i:]
		}
	}
}

// maxTSOBatch is the most timestamps one GetTimestamp may reserve
// (shardmeta.MaxTimestampCount, which txn may not import).
const maxTSOBatch = 1 << 18

// serve reserves total timestamps with one RPC and hands them out to batch.
func (o *Oracle) serve(batch []tsoWaiter, total uint64) {
	var resp *api.GetTimestampResponse
	err := error(nil)
	if total > maxTSOBatch {
		err = fmt.Errorf("tso: %d timestamps asked for at once, at most %d", total, maxTSOBatch)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		resp, err = o.meta.GetTimestamp(ctx, &api.GetTimestampRequest{Count: uint32(total)})
		cancel()
		if err == nil && uint64(resp.Count) < total {
			err = fmt.Errorf("tso: asked for %d timestamps, got %d", total, resp.Count)
		}
	}
	next := uint64(0)
	if err == nil {
		next = resp.Timestamp
	}
	for _, w := range batch {
		if err != nil {
			w.ch <- tsoResult{err: fmt.Errorf("getting a timestamp: %w", err)}
			continue
		}
		w.ch <- tsoResult{first: next}
		next += uint64(w.n)
	}
}
