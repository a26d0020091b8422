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

// BenchmarkMVCCScan measures scanning 100,000 rows of about 100 bytes (one
// version each, flushed to sstables as a loaded table would be) in the
// server's batches of 1,024; ns/op is per row.
func BenchmarkMVCCScan(b *testing.B) {
	s, err := OpenStore(b.TempDir(), false, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100000
	pad := make([]byte, 90)
	ts := uint64(1)
	for lo := 0; lo < n; lo += 5000 {
		muts := make([]*api.Mutation, 0, 5000)
		for i := lo; i < lo+5000; i++ {
			muts = append(muts, &api.Mutation{Key: fmt.Appendf(nil, "/t/1/r/%07d", i), Value: append(fmt.Appendf(nil, "v%d", i), pad...)})
		}
		cts, kerrs, err := s.OnePC(muts, ts, 0)
		if err != nil || kerrs != nil {
			b.Fatal(kerrs, err)
		}
		ts = cts + 1
	}
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for rows < b.N {
		var cur []byte
		for {
			pairs, resume, kerr, err := s.Scan(cur, nil, ts, DefaultScanLimit, false)
			if err != nil || kerr != nil {
				b.Fatal(kerr, err)
			}
			rows += len(pairs)
			if resume == nil || rows >= b.N {
				break
			}
			cur = resume
		}
	}
}
