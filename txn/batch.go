package txn

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/shardsql/shardsql/api"
)

// errRegroup says a batch no longer fits in one range and must be split again.
var errRegroup = errors.New("batch spans more than one range")

// contains reports whether key lies in the range.
func contains(d *api.RangeDescriptor, key []byte) bool {
	return bytes.Compare(key, d.StartKey) >= 0 && (len(d.EndKey) == 0 || bytes.Compare(key, d.EndKey) < 0)
}

// batchCall runs one batch (indexes into the caller's sorted keys) against one range.
type batchCall func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, idx []int) (*api.RangeError, error)

// runBatches splits sorted keys by range and runs call for every batch in
// parallel, splitting a batch again when the range map changed under it.
func (c *Client) runBatches(ctx context.Context, keys [][]byte, idempotent bool, call batchCall) error {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	return c.runIdx(ctx, keys, idx, idempotent, call)
}

func (c *Client) runIdx(ctx context.Context, keys [][]byte, idx []int, idempotent bool, call batchCall) error {
	groups, err := c.group(ctx, keys, idx)
	if err != nil {
		return err
	}
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for gi, g := range groups {
		run := func() {
			err := c.withRange(ctx, keys[g[0]], idempotent, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, d *api.RangeDescriptor) (*api.RangeError, error) {
				if !contains(d, keys[g[len(g)-1]]) {
					return nil, errRegroup
				}
				return call(ctx, sc, rc, g)
			})
			if errors.Is(err, errRegroup) {
				err = c.runIdx(ctx, keys, g, idempotent, call)
			}
			errs[gi] = err
		}
		if len(groups) == 1 {
			run()
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// maxBatchKeys bounds the keys of one batched request (a large
// transaction's prewrite of one range becomes several requests in
// parallel, each well below the gRPC message limit).
const maxBatchKeys = 1024

// group splits sorted key indexes into runs that fall in one cached range
// (at most maxBatchKeys each).
func (c *Client) group(ctx context.Context, keys [][]byte, idx []int) ([][]int, error) {
	var out [][]int
	for i := 0; i < len(idx); {
		d, err := c.locate(ctx, keys[idx[i]])
		if err != nil {
			return nil, err
		}
		j := i + 1
		for j < len(idx) && j-i < maxBatchKeys && contains(d, keys[idx[j]]) {
			j++
		}
		out = append(out, idx[i:j])
		i = j
	}
	return out, nil
}
