package shard

import (
	"fmt"
	"testing"

	"github.com/shardsql/shardsql/api"
)

// BenchmarkMVCCGet measures a point read on an in-memory store holding 1000
// keys of 3 versions each, through the range check of one owned range.
func BenchmarkMVCCGet(b *testing.B) {
	s, err := OpenStore("", true, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "/t/1/r/%06d", i)
	}
	ts := uint64(1)
	for v := range 3 {
		muts := make([]*api.Mutation, n)
		for i, k := range keys {
			muts[i] = &api.Mutation{Key: k, Value: fmt.Appendf(nil, "value-%d-%d", i, v)}
		}
		cts, kerrs, err := s.OnePC(muts, ts, 0)
		if err != nil || kerrs != nil {
			b.Fatal(kerrs, err)
		}
		ts = cts + 1
	}
	rt := newRangeTable()
	rt.apply(&api.RangeEvent{Snapshot: true, Upserts: []*api.RangeDescriptor{{RangeId: 1, Generation: 1, Shard: 1}}}, 1, s.BumpMaxReadTS)
	rctx := &api.RangeContext{RangeId: 1, Generation: 1}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%n]
		rt.mu.RLock()
		_, rerr := rt.checkLocked(rctx, [][]byte{k}, nil)
		rt.mu.RUnlock()
		_, found, kerr, err := s.Get(k, ts)
		if rerr != nil || err != nil || kerr != nil || !found {
			b.Fatal(rerr, kerr, err)
		}
	}
}

// BenchmarkPrewriteCommit measures prewrite + commit of one key on an
// on-disk store, two synced WAL writes per iteration.
func BenchmarkPrewriteCommit(b *testing.B) {
	s, err := OpenStore(b.TempDir(), false, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := []byte("some-row-value-of-modest-size")
	ts := uint64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Appendf(nil, "/t/1/r/%06d", i%100)
		start, commit := ts, ts+1
		ts += 2
		kerrs, err := s.Prewrite([]*api.Mutation{{Key: key, Value: value}}, key, start, 3000)
		if err != nil || kerrs != nil {
			b.Fatal(kerrs, err)
		}
		kerr, err := s.Commit([][]byte{key}, start, commit)
		if err != nil || kerr != nil {
			b.Fatal(kerr, err)
		}
	}
}
