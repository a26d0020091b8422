package txn

import (
	"bytes"
	"sync"

	"github.com/google/btree"
	"github.com/shardsql/shardsql/api"
)

// rangeCache caches range descriptors in a btree keyed by range end.
type rangeCache struct {
	mu   sync.RWMutex
	tree *btree.BTreeG[*api.RangeDescriptor]
}

// endLess orders descriptors by end key, an empty end (end of keyspace) last.
func endLess(a, b *api.RangeDescriptor) bool {
	switch {
	case len(a.EndKey) == 0:
		return false
	case len(b.EndKey) == 0:
		return true
	}
	return bytes.Compare(a.EndKey, b.EndKey) < 0
}

func newRangeCache() *rangeCache {
	return &rangeCache{tree: btree.NewG(16, endLess)}
}

// lookup returns the cached range holding key, or nil.
func (c *rangeCache) lookup(key []byte) *api.RangeDescriptor {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var found *api.RangeDescriptor
	// The first range whose end is greater than key.
	pivot := &api.RangeDescriptor{EndKey: append(append([]byte{}, key...), 0)}
	c.tree.AscendGreaterOrEqual(pivot, func(d *api.RangeDescriptor) bool {
		found = d
		return false
	})
	if found == nil || bytes.Compare(found.StartKey, key) > 0 {
		return nil
	}
	return found
}

// insert adds d, evicting every cached range that overlaps it.
func (c *rangeCache) insert(d *api.RangeDescriptor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var stale []*api.RangeDescriptor
	pivot := &api.RangeDescriptor{EndKey: append(append([]byte{}, d.StartKey...), 0)}
	c.tree.AscendGreaterOrEqual(pivot, func(o *api.RangeDescriptor) bool {
		if len(d.EndKey) != 0 && bytes.Compare(o.StartKey, d.EndKey) >= 0 {
			return false
		}
		stale = append(stale, o)
		return true
	})
	for _, o := range stale {
		// Never replace a newer view with an older one. Generations are
		// comparable across range ids: a split gives both halves the
		// parent's generation + 1 (and moves bump it), so a cached range
		// that overlaps d with a higher generation, whatever its id, was
		// derived from d's span after d was read (a LookupRange answered
		// before a split that lands after the split's right half was
		// cached). A wrongly kept descriptor costs one range error, after
		// which evict drops it.
		if o.Generation > d.Generation {
			return
		}
	}
	for _, o := range stale {
		c.tree.Delete(o)
	}
	c.tree.ReplaceOrInsert(d)
}

// evict drops the cached descriptor of range id if it is still d.
func (c *rangeCache) evict(d *api.RangeDescriptor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.tree.Get(d); ok && cur.RangeId == d.RangeId && cur.Generation == d.Generation {
		c.tree.Delete(d)
	}
}
