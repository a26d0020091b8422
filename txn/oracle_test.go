package txn

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestOracleUnique(t *testing.T) {
	tc := startCluster(t, 1)
	o := NewOracle(tc.meta)
	ctx := testCtx(t, 30*time.Second)

	type block struct{ first, n uint64 }
	const goroutines, calls = 24, 40
	var (
		mu     sync.Mutex
		blocks []block
		wg     sync.WaitGroup
	)
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			var mine []block
			last := uint64(0)
			for range calls {
				var b block
				var err error
				if rng.IntN(2) == 0 {
					b.n = 1
					b.first, err = o.Now(ctx)
				} else {
					b.n = uint64(rng.IntN(300))
					b.first, err = o.Reserve(ctx, uint32(b.n))
					b.n = max(b.n, 1) // Reserve(0) is Reserve(1)
				}
				if err != nil {
					errs <- err
					return
				}
				if b.first <= last {
					t.Errorf("goroutine %d: timestamp %d after %d: not increasing", g, b.first, last)
				}
				last = b.first + b.n - 1
				mine = append(mine, b)
			}
			mu.Lock()
			blocks = append(blocks, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(blocks) != goroutines*calls {
		t.Fatalf("%d blocks, want %d", len(blocks), goroutines*calls)
	}
	slices.SortFunc(blocks, func(a, b block) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	for i, b := range blocks {
		if b.first == 0 {
			t.Fatalf("zero timestamp")
		}
		if i > 0 {
			p := blocks[i-1]
			if p.first+p.n > b.first {
				t.Fatalf("blocks overlap: [%d,+%d) and [%d,+%d)", p.first, p.n, b.first, b.n)
			}
		}
	}
	// Timestamps taken afterwards are above all of them.
	ts, err := o.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l := blocks[len(blocks)-1]; ts < l.first+l.n {
		t.Fatalf("later timestamp %d inside an earlier block [%d,+%d)", ts, l.first, l.n)
	}
}

// TestOracleLargeReserves: concurrent reserves whose sum is above what one
// TSO request may carry are each served; only a single oversized request
// fails, without failing its neighbours.
func TestOracleLargeReserves(t *testing.T) {
	tc := startCluster(t, 1)
	o := NewOracle(tc.meta)
	ctx := testCtx(t, 30*time.Second)
	const big = 200_000 // two of them exceed one request's limit (2^18)
	type res struct {
		first, n uint64
		err      error
	}
	sizes := []uint32{big, big, big, 1, 1, 1 << 18, 1<<18 + 1, 5}
	out := make([]res, len(sizes))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, n := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f, err := o.Reserve(ctx, n)
			out[i] = res{f, uint64(n), err}
		}()
	}
	close(start)
	wg.Wait()
	var ok []res
	for i, r := range out {
		if sizes[i] > 1<<18 {
			if r.err == nil {
				t.Errorf("Reserve(%d) above the limit succeeded", sizes[i])
			}
			continue
		}
		if r.err != nil {
			t.Fatalf("Reserve(%d): %v", sizes[i], r.err)
		}
		ok = append(ok, r)
	}
	for i := range ok {
		for j := range i {
			a, b := ok[i], ok[j]
			if a.first < b.first+b.n && b.first < a.first+a.n {
				t.Fatalf("blocks overlap: [%d,+%d) and [%d,+%d)", a.first, a.n, b.first, b.n)
			}
		}
	}
}

func TestOracleCanceled(t *testing.T) {
	tc := startCluster(t, 1)
	o := NewOracle(tc.meta)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Now(ctx); err == nil {
		// The result may race the cancellation; a canceled caller must
		// not hang either way, and the oracle keeps working after.
		t.Log("Now with a canceled context returned a timestamp")
	}
	if _, err := o.Now(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Now after a canceled caller: %v", err)
	}
}
