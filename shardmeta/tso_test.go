package shardmeta

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/shardsql/shardsql/api"
)

// span is a reservation [first, first+count).
type span struct{ first, count uint64 }

func checkDisjointIncreasing(t *testing.T, spans []span) {
	t.Helper()
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b span) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	for i := 1; i < len(s); i++ {
		if s[i].first < s[i-1].first+s[i-1].count {
			t.Fatalf("overlapping reservations: %+v and %+v", s[i-1], s[i])
		}
	}
}

func TestTSOConcurrentStrictlyIncreasing(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	const workers, calls = 4, 150
	var mu sync.Mutex
	var all []span
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev uint64
			var mine []span
			for i := range calls {
				count := uint32((i + w) % 4) // 0 means 1
				resp, err := env.cl.GetTimestamp(ctx, &api.GetTimestampRequest{Count: count})
				if err != nil {
					errs <- err
					return
				}
				want := max(count, 1)
				if resp.Count != want {
					t.Errorf("count = %d, want %d", resp.Count, want)
				}
				if resp.Timestamp <= prev {
					t.Errorf("worker %d: timestamp %d not above previous %d", w, resp.Timestamp, prev)
				}
				prev = resp.Timestamp + uint64(resp.Count) - 1
				mine = append(mine, span{resp.Timestamp, uint64(resp.Count)})
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkDisjointIncreasing(t, all)

	_, err := env.cl.GetTimestamp(ctx, &api.GetTimestampRequest{Count: MaxTimestampCount + 1})
	wantCode(t, err, codes.InvalidArgument)
}

func TestTSOAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testContext(t)
	var maxOld uint64
	for round := range 2 {
		env, stop := startEnvManual(t, Config{Dir: dir})
		for i := range 20 {
			count := uint32(1)
			if i%5 == 0 {
				count = 1000
			}
			resp, err := env.cl.GetTimestamp(ctx, &api.GetTimestampRequest{Count: count})
			if err != nil {
				stop()
				t.Fatal(err)
			}
			if resp.Timestamp <= maxOld {
				stop()
				t.Fatalf("round %d: timestamp %d not above every earlier one (max %d)", round, resp.Timestamp, maxOld)
			}
			maxOld = resp.Timestamp + uint64(resp.Count) - 1
		}
		// The persisted ceiling is above everything handed out.
		got, err := env.srv.cli.Get(ctx, keyTSOCeiling)
		if err != nil || len(got.Kvs) != 1 {
			stop()
			t.Fatalf("read ceiling: %v", err)
		}
		ceiling, _ := strconv.ParseUint(string(got.Kvs[0].Value), 10, 64)
		if phys, _ := SplitTimestamp(maxOld); phys >= ceiling {
			t.Errorf("handed out physical %d at or above the persisted ceiling %d", phys, ceiling)
		}
		stop()
	}
}

// TestTSOClockBackwardsAndOverflow drives the oracle with a fake clock: a
// restart with the clock an hour behind still starts above the stored
// ceiling, a frozen clock overflows the logical part into the physical one,
// and the ceiling is raised before it is reached.
func TestTSOClockBackwardsAndOverflow(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }

	o1 := &tso{cli: env.srv.cli, now: clock}
	if err := o1.load(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := o1.next(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Frozen clock: a full logical window forces physical+1.
	b, err := o1.next(ctx, MaxTimestampCount)
	if err != nil {
		t.Fatal(err)
	}
	c, err := o1.next(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(a < b && b+MaxTimestampCount-1 < c) {
		t.Fatalf("not increasing: a=%d b=%d (+%d) c=%d", a, b, MaxTimestampCount, c)
	}
	pb, _ := SplitTimestamp(b)
	pc, _ := SplitTimestamp(c)
	if pc <= pb {
		t.Fatalf("logical overflow did not advance physical: %d -> %d", pb, pc)
	}

	// Run past the ceiling with a frozen clock: reservations keep working.
	for range 20 {
		if _, err := o1.next(ctx, MaxTimestampCount); err != nil {
			t.Fatal(err)
		}
	}
	last, err := o1.next(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := SplitTimestamp(last); p >= o1.ceiling {
		t.Fatalf("physical %d at or above ceiling %d", p, o1.ceiling)
	}

	// "Restart" with the clock an hour behind.
	mu.Lock()
	now = now.Add(-time.Hour)
	mu.Unlock()
	o2 := &tso{cli: env.srv.cli, now: clock}
	if err := o2.load(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := o2.next(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d <= last {
		t.Fatalf("timestamp after restart %d not above %d", d, last)
	}

	// The old oracle's view of the ceiling is stale now: once it needs to
	// raise the ceiling it fails rather than race the new one.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if _, err := o1.next(ctx, 1); err == nil {
		t.Fatal("stale oracle raised the ceiling over a newer writer")
	}
}

func TestComposeSplitTimestamp(t *testing.T) {
	ts := ComposeTimestamp(12345, 77)
	if p, l := SplitTimestamp(ts); p != 12345 || l != 77 {
		t.Fatalf("split(compose(12345, 77)) = %d, %d", p, l)
	}
}
