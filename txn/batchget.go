package txn

import (
	"bytes"
	"context"
	"sort"
	"sync"

	"github.com/shardsql/shardsql/api"
)

// maxParallelGets bounds the ranges one BatchGet reads at once.
const maxParallelGets = 16

// BatchGet reads keys at the transaction's snapshot, seeing its own
// writes, with one request per range (ranges in parallel). It returns the
// values of the keys that hold a live row, by key.
func (t *Txn) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	var rest [][]byte
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		if m, ok := t.writes.Get(&api.Mutation{Key: k}); ok {
			if m.Op != api.Mutation_DELETE {
				out[string(k)] = m.Value
			}
			continue
		}
		rest = append(rest, k)
	}
	if len(rest) == 0 {
		return out, nil
	}
	sort.Slice(rest, func(i, j int) bool { return bytes.Compare(rest[i], rest[j]) < 0 })
	// Group the keys by the ranges the cache knows; each group is read
	// (and regrouped after a split) on its own.
	end := append(append([]byte(nil), rest[len(rest)-1]...), 0)
	ranges, err := t.c.RangesFor(ctx, rest[0], end)
	if err != nil {
		return nil, err
	}
	var groups [][][]byte
	i := 0
	for _, d := range ranges {
		j := i
		for j < len(rest) && (len(d.EndKey) == 0 || bytes.Compare(rest[j], d.EndKey) < 0) {
			j++
		}
		if j > i {
			groups = append(groups, rest[i:j])
		}
		i = j
	}
	if i < len(rest) {
		groups = append(groups, rest[i:])
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelGets)
	errs := make([]error, len(groups))
	for gi, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func(gi int, g [][]byte) {
			defer wg.Done()
			defer func() { <-sem }()
			errs[gi] = t.batchGetSorted(ctx, g, func(k, v []byte) {
				mu.Lock()
				out[string(k)] = v
				mu.Unlock()
			})
		}(gi, g)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchGetSorted reads sorted keys range by range, resolving locks.
func (t *Txn) batchGetSorted(ctx context.Context, keys [][]byte, found func(k, v []byte)) error {
	lw := lockWaiter{}
	for len(keys) > 0 {
		var resp *api.BatchGetResponse
		var n int
		err := t.c.withRange(ctx, keys[0], true, func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, d *api.RangeDescriptor) (*api.RangeError, error) {
			n = 0
			for n < len(keys) && (len(d.EndKey) == 0 || bytes.Compare(keys[n], d.EndKey) < 0) {
				n++
			}
			var err error
			resp, err = sc.BatchGet(ctx, &api.BatchGetRequest{Ctx: rc, Keys: keys[:n], Ts: t.ReadTS})
			if err != nil {
				return nil, err
			}
			return resp.RangeError, nil
		})
		if err != nil {
			return err
		}
		if resp.Error != nil {
			if resp.Error.Locked != nil {
				if err := t.c.resolveLock(ctx, resp.Error.Locked, &lw); err != nil {
					return err
				}
				continue
			}
			return keyError(resp.Error)
		}
		for _, kv := range resp.Pairs {
			found(kv.Key, kv.Value)
		}
		keys = keys[n:]
	}
	return nil
}
