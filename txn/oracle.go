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
		var total uint32
		for _, w := range batch {
			total += w.n
		}
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		resp, err := o.meta.GetTimestamp(ctx, &api.GetTimestampRequest{Count: total})
		cancel()
		if err == nil && resp.Count < total {
			err = fmt.Errorf("tso: asked for %d timestamps, got %d", total, resp.Count)
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
}
