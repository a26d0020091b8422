package shard

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/google/btree"
	"github.com/shardsql/shardsql/api"
	"google.golang.org/protobuf/proto"
)

// DefaultFence is how long PrepareSplit fences a span when the request
// names no duration.
const DefaultFence = 10 * time.Second

// fence blocks reads and writes of [start, end) (empty end = +inf) until
// the range's generation moves on or the deadline passes.
type fence struct {
	start, end []byte
	until      time.Time
}

// rangeState is one owned range: its descriptor and active fences.
type rangeState struct {
	desc   *api.RangeDescriptor
	fences []fence
}

// rangeTable is the set of ranges this server owns, kept in memory from the
// metadata service's range watch.
//
// mu doubles as the barrier between data requests and PrepareSplit: a write
// holds mu.RLock from its range check until its batch is applied (a read
// until it has bumped maxReadTS), so once PrepareSplit holds mu.Lock and
// installs a fence, every write that passed the check before it is durable
// and every later one sees the fence.
type rangeTable struct {
	mu    sync.RWMutex
	byID  map[uint64]*rangeState
	byEnd *btree.BTreeG[*rangeState] // ordered by end key (empty = +inf), then id
	now   func() time.Time
}

func newRangeTable() *rangeTable {
	return &rangeTable{
		byID:  make(map[uint64]*rangeState),
		byEnd: btree.NewG(8, rangeLess),
		now:   time.Now,
	}
}

// compareEnd orders end keys with the empty key meaning +inf.
func compareEnd(a, b []byte) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	return bytes.Compare(a, b)
}

func rangeLess(a, b *rangeState) bool {
	if c := compareEnd(a.desc.GetEndKey(), b.desc.GetEndKey()); c != 0 {
		return c < 0
	}
	return a.desc.GetRangeId() < b.desc.GetRangeId()
}

// upsertLocked installs d (a descriptor naming this server). An older
// generation than the one held is ignored; a newer one drops the fences.
// It reports whether d was installed. mu must be held for writing.
func (t *rangeTable) upsertLocked(d *api.RangeDescriptor) bool {
	old := t.byID[d.GetRangeId()]
	st := &rangeState{desc: proto.Clone(d).(*api.RangeDescriptor)}
	if old != nil {
		if d.GetGeneration() < old.desc.GetGeneration() {
			return false
		}
		if d.GetGeneration() == old.desc.GetGeneration() {
			st.fences = t.liveFences(old.fences)
		}
		t.byEnd.Delete(old)
	}
	t.byID[d.GetRangeId()] = st
	t.byEnd.ReplaceOrInsert(st)
	return true
}

// dropLocked forgets range id (its data stays in the store).
func (t *rangeTable) dropLocked(id uint64) {
	if old, ok := t.byID[id]; ok {
		delete(t.byID, id)
		t.byEnd.Delete(old)
	}
}

func (t *rangeTable) liveFences(fs []fence) []fence {
	now := t.now()
	var out []fence
	for _, f := range fs {
		if now.Before(f.until) {
			out = append(out, f)
		}
	}
	return out
}

// apply applies a watch event: a snapshot replaces the owned set, an update
// upserts and deletes. Descriptors naming another shard leave the owned set.
// bump is called with the min_write_ts of every descriptor before it is
// installed.
func (t *rangeTable) apply(ev *api.RangeEvent, self uint64, bump func(uint64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ev.GetSnapshot() {
		keep := make(map[uint64]bool)
		for _, d := range ev.GetUpserts() {
			if d.GetShard() == self {
				keep[d.GetRangeId()] = true
			}
		}
		for id := range t.byID {
			if !keep[id] {
				t.dropLocked(id)
			}
		}
	}
	for _, d := range ev.GetUpserts() {
		if d.GetShard() != self {
			t.dropLocked(d.GetRangeId())
			continue
		}
		bump(d.GetMinWriteTs())
		t.upsertLocked(d)
	}
	for _, id := range ev.GetDeleted() {
		t.dropLocked(id)
	}
}

// list returns the owned descriptors in key order.
func (t *rangeTable) list() []*api.RangeDescriptor {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*api.RangeDescriptor, 0, t.byEnd.Len())
	t.byEnd.Ascend(func(st *rangeState) bool {
		out = append(out, proto.Clone(st.desc).(*api.RangeDescriptor))
		return true
	})
	return out
}

func rangeError(kind api.RangeError_Kind, cur *api.RangeDescriptor, format string, args ...any) *api.RangeError {
	e := &api.RangeError{Kind: kind, Message: fmt.Sprintf(format, args...)}
	if cur != nil {
		e.Current = proto.Clone(cur).(*api.RangeDescriptor)
	}
	return e
}

// contains reports whether key lies in [d.start, d.end).
func contains(d *api.RangeDescriptor, key []byte) bool {
	return bytes.Compare(key, d.GetStartKey()) >= 0 && compareEnd(key, d.GetEndKey()) < 0
}

// span is a key span [start, end), empty end = +inf.
type span struct{ start, end []byte }

// checkLocked validates a request's range context, keys and optional span
// (nil = none; an empty bound means the range's bound) and returns the
// range's descriptor. mu must be held (either
// way).
func (t *rangeTable) checkLocked(rc *api.RangeContext, keys [][]byte, sp *span) (*api.RangeDescriptor, *api.RangeError) {
	if rc == nil {
		return nil, rangeError(api.RangeError_NOT_FOUND, nil, "request without range context")
	}
	st, ok := t.byID[rc.GetRangeId()]
	if !ok {
		return nil, rangeError(api.RangeError_NOT_FOUND, nil, "range %d not held here", rc.GetRangeId())
	}
	d := st.desc
	switch {
	case rc.GetGeneration() < d.GetGeneration():
		return nil, rangeError(api.RangeError_STALE_GENERATION, d, "range %d: generation %d is stale, current %d",
			d.GetRangeId(), rc.GetGeneration(), d.GetGeneration())
	case rc.GetGeneration() > d.GetGeneration():
		return nil, rangeError(api.RangeError_NOT_READY, d, "range %d: generation %d not known yet (have %d)",
			d.GetRangeId(), rc.GetGeneration(), d.GetGeneration())
	}
	for _, k := range keys {
		if !contains(d, k) {
			return nil, rangeError(api.RangeError_KEY_OUT_OF_RANGE, d, "key %q outside range %d", k, d.GetRangeId())
		}
	}
	if sp != nil {
		// An empty start or end stands for the range's own bound.
		eff := *sp
		if len(eff.start) == 0 {
			eff.start = d.GetStartKey()
		}
		if len(eff.end) == 0 {
			eff.end = d.GetEndKey()
		}
		sp = &eff
		if bytes.Compare(sp.start, d.GetStartKey()) < 0 || compareEnd(sp.end, d.GetEndKey()) > 0 {
			return nil, rangeError(api.RangeError_KEY_OUT_OF_RANGE, d, "span [%q, %q) outside range %d", sp.start, sp.end, d.GetRangeId())
		}
	}
	if len(st.fences) > 0 {
		now := t.now()
		for _, f := range st.fences {
			if !now.Before(f.until) {
				continue
			}
			for _, k := range keys {
				if bytes.Compare(k, f.start) >= 0 && compareEnd(k, f.end) < 0 {
					return nil, rangeError(api.RangeError_NOT_READY, d, "key %q is fenced by a split of range %d", k, d.GetRangeId())
				}
			}
			if sp != nil && (len(f.end) == 0 || bytes.Compare(sp.start, f.end) < 0) && compareEnd(f.start, sp.end) < 0 {
				return nil, rangeError(api.RangeError_NOT_READY, d, "span is fenced by a split of range %d", d.GetRangeId())
			}
		}
	}
	return d, nil
}

// fenceSplit validates a PrepareSplit and fences [splitKey, end) of the
// range for dur. It takes mu for writing, which waits for in-flight writes.
func (t *rangeTable) fenceSplit(rc *api.RangeContext, splitKey []byte, dur time.Duration) (*api.RangeDescriptor, *api.RangeError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, rerr := t.checkLocked(rc, nil, nil)
	if rerr != nil {
		return nil, rerr
	}
	if bytes.Compare(splitKey, d.GetStartKey()) <= 0 || compareEnd(splitKey, d.GetEndKey()) >= 0 {
		return nil, rangeError(api.RangeError_KEY_OUT_OF_RANGE, d, "split key %q not strictly inside range %d", splitKey, d.GetRangeId())
	}
	st := t.byID[rc.GetRangeId()]
	fs := t.liveFences(st.fences)
	f := fence{start: bytes.Clone(splitKey), end: bytes.Clone(d.GetEndKey()), until: t.now().Add(dur)}
	replaced := false
	for i := range fs {
		if bytes.Equal(fs[i].start, f.start) {
			fs[i], replaced = f, true
		}
	}
	if !replaced {
		fs = append(fs, f)
	}
	st.fences = fs
	return d, nil
}
