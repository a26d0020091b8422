package txn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// TestSplitWhileRunning splits the range under running readers and writers:
// every operation must still succeed (the client refreshes its range cache
// on range errors and regroups batches) and no write may be lost.
func TestSplitWhileRunning(t *testing.T) {
	seed := testSeed(t)
	tc := startCluster(t, 2)
	c := tc.client(t)
	ctx := testCtx(t, 50*time.Second)
	const (
		tb      = 130
		nkeys   = 40
		writers = 3
	)
	k := func(i int) []byte { return tk(tb, fmt.Sprintf("k%03d", i)) }
	d := tc.split(t, keys.RowPrefix(tb))
	tc.waitOwned(t, d)
	seedTx := mustBegin(t, ctx, c)
	for i := range nkeys {
		seedTx.Put(k(i), []byte("0"))
	}
	if err := seedTx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d: %s", seed, fmt.Sprintf(format, args...))
	}

	var (
		stop                    atomic.Bool
		increments, txns, scans atomic.Int64
		conflicts               atomic.Int64
		wg                      sync.WaitGroup
	)
	// incr adds one to each key in one transaction, retrying conflicts.
	incr := func(ks ...[]byte) error {
		for {
			tx, err := c.Begin(ctx)
			if err != nil {
				return err
			}
			for _, key := range ks {
				v, ok, err := tx.Get(ctx, key)
				if err != nil {
					return fmt.Errorf("get %q: %w", key, err)
				}
				n, _ := strconv.Atoi(string(v))
				if !ok {
					return fmt.Errorf("key %q missing", key)
				}
				tx.Put(key, []byte(strconv.Itoa(n+1)))
			}
			err = tx.Commit(ctx)
			if pgerr.Code(err) == pgerr.SerializationFailure {
				conflicts.Add(1)
				continue
			}
			if err != nil {
				return fmt.Errorf("commit %q: %w", ks, err)
			}
			increments.Add(int64(len(ks)))
			txns.Add(1)
			return nil
		}
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for !stop.Load() {
				i := rng.IntN(nkeys)
				var err error
				switch rng.IntN(3) {
				case 0:
					err = incr(k(i))
				case 1: // two neighbours: one range before a split, maybe two after
					err = incr(k(i), k((i+1)%nkeys))
				default: // keys far apart: straddles the middle split
					err = incr(k(i/2), k(nkeys/2+i/2))
				}
				if err != nil {
					fail("writer %d: %v", w, err)
					stop.Store(true)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			tx, err := c.Begin(ctx)
			if err == nil {
				var n int
				err = tx.Scan(ctx, keys.RowPrefix(tb), keys.PrefixEnd(keys.RowPrefix(tb)), false, func(_, _ []byte) error { n++; return nil })
				if err == nil && n != nkeys {
					err = fmt.Errorf("scan saw %d keys, want %d", n, nkeys)
				}
			}
			if err != nil {
				fail("scanner: %v", err)
				stop.Store(true)
				return
			}
			scans.Add(1)
		}
	}()

	pause := func() { time.Sleep(300 * time.Millisecond) }
	pause()
	before := tc.lookup(t, k(0))
	tc.split(t, k(nkeys/2)) // the middle: data on both sides, stays on its shard
	pause()
	tc.split(t, k(nkeys/4))
	empty := tc.split(t, tk(tb, "l")) // after every key: empty, moves to the other shard
	tc.split(t, k(3*nkeys/4))
	pause()
	stop.Store(true)
	wg.Wait()
	t.Logf("%d transactions (%d increments, %d conflicts retried), %d scans; empty right half r%d on n%d (was n%d)",
		txns.Load(), increments.Load(), conflicts.Load(), scans.Load(), empty.RangeId, empty.Shard, before.Shard)
	if t.Failed() {
		return
	}
	if after := tc.lookup(t, k(0)); after.Generation <= before.Generation {
		t.Fatalf("range of k000 not split: generation %d -> %d", before.Generation, after.Generation)
	}
	if txns.Load() == 0 || scans.Load() == 0 {
		fail("no progress")
	}
	// Every increment is there exactly once.
	sum := 0
	r := mustBegin(t, ctx, c)
	for i := range nkeys {
		v, ok := mustGet(t, ctx, r, k(i))
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			fail("key %d: %q,%v", i, v, ok)
		}
		sum += n
	}
	if int64(sum) != increments.Load() {
		fail("sum of the counters %d, want %d increments", sum, increments.Load())
	}
}

// TestShardDown stops one shard server's gRPC: operations on its range fail
// within the retry budget instead of hanging; other ranges keep working.
func TestShardDown(t *testing.T) {
	tc := startCluster(t, 3)
	c := tc.client(t)
	c.RetryBudget = 2 * time.Second
	ctx := testCtx(t, 40*time.Second)
	const tb = 140
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("h"), k("p"))
	tc.waitOwned(t, ds...)
	if err := commitKVs(ctx, c, map[string][]byte{string(k("a")): []byte("A"), string(k("i")): []byte("I"), string(k("q")): []byte("Q")}); err != nil {
		t.Fatal(err)
	}
	r := mustBegin(t, ctx, c)
	if got := rows(t, ctx, r, tb, "", ""); len(got) != 3 { // settles the locks, warms the cache
		t.Fatalf("rows: %v", got)
	}
	down := tc.shardByNode(t, ds[1].Shard)
	down.stopGRPC()
	t.Logf("stopped n%d holding r%d [h, p)", ds[1].Shard, ds[1].RangeId)

	// Every operation runs at once (the failing ones each take the retry
	// budget); each must fail, or succeed, within its bound.
	type check struct {
		name    string
		wantErr bool
		op      func() error
	}
	fresh := func() *Txn { return mustBegin(t, ctx, c) }
	read := func(key, want string) func() error {
		return func() error {
			v, _, err := fresh().Get(ctx, k(key))
			if err == nil && string(v) != want {
				err = fmt.Errorf("read %q, want %q", v, want)
			}
			return err
		}
	}
	checks := []check{
		{"get", true, read("i", "I")},
		{"get on the left range", false, read("a", "A")},
		{"get on the right range", false, read("q", "Q")},
		{"scan of live ranges", false, func() error {
			_, err := scanAll(ctx, fresh(), k("p"), keys.PrefixEnd(keys.RowPrefix(tb)))
			return err
		}},
		{"scan across the stopped range", true, func() error {
			_, err := scanAll(ctx, fresh(), keys.RowPrefix(tb), keys.PrefixEnd(keys.RowPrefix(tb)))
			return err
		}},
		{"1PC commit", true, func() error { return commitKVs(ctx, c, map[string][]byte{string(k("j")): []byte("J")}) }},
		{"2PC commit", true, func() error {
			return commitKVs(ctx, c, map[string][]byte{string(k("b")): []byte("B"), string(k("j")): []byte("J")})
		}},
		{"1PC commit on a live range", false, func() error { return commitKVs(ctx, c, map[string][]byte{string(k("r")): []byte("R")}) }},
	}
	errs := make([]error, len(checks))
	took := make([]time.Duration, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			errs[i] = ch.op()
			took[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	for i, ch := range checks {
		err, el := errs[i], took[i]
		t.Logf("%s: %v after %v", ch.name, err, el)
		switch {
		case ch.wantErr && err == nil:
			t.Errorf("%s on the stopped shard succeeded", ch.name)
		case !ch.wantErr && err != nil:
			t.Errorf("%s on a live shard: %v", ch.name, err)
		case ch.wantErr && pgerr.Code(err) == pgerr.SerializationFailure:
			t.Errorf("%s: an unreachable shard reported as a serialization failure: %v", ch.name, err)
		}
		limit := time.Second
		if ch.wantErr {
			limit = c.RetryBudget + 2*time.Second
		}
		if el > limit {
			t.Errorf("%s took %v, want at most %v", ch.name, el, limit)
		}
	}
}

// TestOnePCLostResponse: a 1PC commit whose attempt fails after the shard
// may have applied it must report what really happened: success when it
// committed (not a write conflict against its own write, which makes the
// caller apply it twice), failure when it did not.
func TestOnePCLostResponse(t *testing.T) {
	tc := startCluster(t, 1)
	c := tc.client(t)
	c.RetryBudget = 500 * time.Millisecond
	ctx := testCtx(t, 30*time.Second)
	const tb = 150
	d := tc.split(t, keys.RowPrefix(tb))
	tc.waitOwned(t, d)
	injected := func(code codes.Code) error { return status.Error(code, "injected fault") }
	for _, tt := range []struct {
		name string
		// fault handles the n-th (from 0) OnePC call of the case's key.
		fault   func(n int, ctx context.Context, req any, h grpc.UnaryHandler) (any, error)
		wantErr bool
		want    string // the counter afterwards
	}{
		{"response lost after apply", func(n int, ctx context.Context, req any, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if n == 0 {
				return nil, injected(codes.Unavailable)
			}
			return resp, err
		}, false, "1"},
		{"deadline after apply", func(n int, ctx context.Context, req any, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if n == 0 {
				return nil, injected(codes.DeadlineExceeded)
			}
			return resp, err
		}, false, "1"},
		{"every response lost", func(n int, ctx context.Context, req any, h grpc.UnaryHandler) (any, error) {
			h(ctx, req)
			return nil, injected(codes.Unavailable)
		}, false, "1"},
		{"request dropped once", func(n int, ctx context.Context, req any, h grpc.UnaryHandler) (any, error) {
			if n == 0 {
				return nil, injected(codes.Unavailable)
			}
			return h(ctx, req)
		}, false, "1"},
		{"never delivered", func(n int, ctx context.Context, req any, h grpc.UnaryHandler) (any, error) {
			return nil, injected(codes.Unavailable)
		}, true, "0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := tk(tb, tt.name)
			if err := commitKVs(ctx, c, map[string][]byte{string(key): []byte("0")}); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int64
			tc.setHook(t, func(ctx context.Context, node uint64, method string, req any, h grpc.UnaryHandler) (any, error) {
				if r, ok := req.(*api.OnePCRequest); ok && string(r.Mutations[0].Key) == string(key) {
					return tt.fault(int(calls.Add(1)-1), ctx, req, h)
				}
				return h(ctx, req)
			})
			tx := mustBegin(t, ctx, c)
			v, _ := mustGet(t, ctx, tx, key)
			n, _ := strconv.Atoi(v)
			tx.Put(key, []byte(strconv.Itoa(n+1)))
			err := tx.Commit(ctx)
			t.Logf("commit: %v (%d OnePC calls)", err, calls.Load())
			if (err != nil) != tt.wantErr {
				t.Fatalf("commit: %v (code %s), want error %v", err, pgerr.Code(err), tt.wantErr)
			}
			tc.hook.Store(nil)
			if got, _ := mustGet(t, ctx, mustBegin(t, ctx, c), key); got != tt.want {
				t.Fatalf("counter %q after commit, want %q", got, tt.want)
			}
		})
	}
}
