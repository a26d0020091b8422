package txn

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
)

// crashedTxn is a transaction prewritten directly on the shards by a
// coordinator that then "crashed": it holds locks on primary and the
// secondaries, with values new.
type crashedTxn struct {
	startTS uint64
	keys    [][]byte // keys[0] is the primary
}

func prewriteRaw(t *testing.T, ctx context.Context, tc *testCluster, c *Client, ttl time.Duration, value string, ks ...[]byte) *crashedTxn {
	t.Helper()
	start, err := c.Oracle().Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		sc, rc := tc.rawShard(t, k)
		resp, err := sc.Prewrite(ctx, &api.PrewriteRequest{
			Ctx:       rc,
			Mutations: []*api.Mutation{{Op: api.Mutation_PUT, Key: k, Value: []byte(value)}},
			Primary:   ks[0], StartTs: start, LockTtlMs: uint64(ttl / time.Millisecond),
		})
		if err != nil || resp.RangeError != nil || len(resp.Errors) > 0 {
			t.Fatalf("raw prewrite of %q: %v %v %v", k, err, resp.GetRangeError(), resp.GetErrors())
		}
	}
	return &crashedTxn{startTS: start, keys: ks}
}

// commitRaw commits the crashed transaction's keys ks (not necessarily all).
func (ct *crashedTxn) commitRaw(t *testing.T, ctx context.Context, tc *testCluster, commitTS uint64, ks ...[]byte) *api.KeyError {
	t.Helper()
	for _, k := range ks {
		sc, rc := tc.rawShard(t, k)
		resp, err := sc.Commit(ctx, &api.CommitRequest{Ctx: rc, Keys: [][]byte{k}, StartTs: ct.startTS, CommitTs: commitTS})
		if err != nil || resp.RangeError != nil {
			t.Fatalf("raw commit of %q: %v %v", k, err, resp.GetRangeError())
		}
		if resp.Error != nil {
			return resp.Error
		}
	}
	return nil
}

// assertNoLock checks with a raw read at a fresh timestamp that key holds no lock.
func assertNoLock(t *testing.T, ctx context.Context, tc *testCluster, c *Client, key []byte) {
	t.Helper()
	ts, err := c.Oracle().Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc, rc := tc.rawShard(t, key)
	resp, err := sc.Get(ctx, &api.GetRequest{Ctx: rc, Key: key, Ts: ts})
	if err != nil || resp.RangeError != nil {
		t.Fatalf("raw get of %q: %v %v", key, err, resp.GetRangeError())
	}
	if resp.Error != nil {
		t.Errorf("key %q still has a lock after resolution: %v", key, resp.Error)
	}
}

func TestLockResolution(t *testing.T) {
	tc := startCluster(t, 2)
	c := tc.client(t)
	ctx := testCtx(t, 40*time.Second)
	const tb = 110
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("m"))
	tc.waitOwned(t, ds...)
	const ttl = 300 * time.Millisecond

	read := map[string]func(t *testing.T, tx *Txn, key []byte) (string, bool){
		"get": func(t *testing.T, tx *Txn, key []byte) (string, bool) { return mustGet(t, ctx, tx, key) },
		"scan": func(t *testing.T, tx *Txn, key []byte) (string, bool) {
			// A scan over the whole table meets the lock in its range.
			var v string
			var found bool
			err := tx.Scan(ctx, keys.RowPrefix(tb), keys.PrefixEnd(keys.RowPrefix(tb)), false, func(kk, vv []byte) error {
				if string(kk) == string(key) {
					v, found = string(vv), true
				}
				return nil
			})
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			return v, found
		},
	}
	n := 0
	for _, how := range []string{"get", "scan"} {
		for _, secondary := range []bool{true, false} {
			n++
			pk, sk := k(string(rune('a'+n))), k(string(rune('n'+n)))
			target, other := sk, pk
			name := how + "/secondary"
			if !secondary {
				target, other = pk, sk
				name = how + "/primary"
			}
			if err := commitKVs(ctx, c, map[string][]byte{string(pk): []byte("old"), string(sk): []byte("old")}); err != nil {
				t.Fatal(err)
			}
			// Settle the seed: its secondary is committed asynchronously, and
			// a read resolves it if that has not happened yet.
			rows(t, ctx, mustBegin(t, ctx, c), tb, "", "")

			t.Run("rollback/"+name, func(t *testing.T) {
				before := mustBegin(t, ctx, c) // snapshot below the lock
				t0 := time.Now()
				ct := prewriteRaw(t, ctx, tc, c, ttl, "new", pk, sk)
				// A reader below the lock's start_ts is not blocked by it: it
				// never asks after the lock's transaction at all.
				checks := tc.callCount("CheckTxnStatus")
				if v, _ := read[how](t, before, target); v != "old" {
					t.Fatalf("reader below the lock read %q", v)
				}
				if n := tc.callCount("CheckTxnStatus") - checks; n != 0 {
					t.Fatalf("reader below the lock waited on it (%d status checks)", n)
				}
				r := mustBegin(t, ctx, c)
				v, ok := read[how](t, r, target)
				waited := time.Since(t0)
				if v != "old" || !ok {
					t.Fatalf("read through an expired lock: %q,%v; want old", v, ok)
				}
				if waited < ttl-10*time.Millisecond {
					t.Fatalf("reader rolled back a live lock: done %v after the prewrite, TTL %v", waited, ttl)
				}
				if v, _ := read[how](t, r, other); v != "old" {
					t.Fatalf("other key after rollback: %q", v)
				}
				assertNoLock(t, ctx, tc, c, pk)
				assertNoLock(t, ctx, tc, c, sk)
				// The crashed coordinator comes back: its commit must fail.
				cts, _ := c.Oracle().Now(ctx)
				if kerr := ct.commitRaw(t, ctx, tc, cts, pk); kerr == nil || kerr.Aborted == "" {
					t.Fatalf("late commit of a rolled back primary: %v, want aborted", kerr)
				}
			})

			t.Run("rollforward/"+name, func(t *testing.T) {
				ct := prewriteRaw(t, ctx, tc, c, ttl, "new", pk, sk)
				before := mustBegin(t, ctx, c) // above the lock, below the commit
				cts, err := c.Oracle().Now(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if kerr := ct.commitRaw(t, ctx, tc, cts, pk); kerr != nil {
					t.Fatalf("commit primary: %v", kerr)
				}
				r := mustBegin(t, ctx, c)
				if v, ok := read[how](t, r, sk); v != "new" || !ok {
					t.Fatalf("secondary after the primary committed: %q,%v; want new", v, ok)
				}
				if v, _ := read[how](t, r, pk); v != "new" {
					t.Fatalf("primary: %q", v)
				}
				assertNoLock(t, ctx, tc, c, sk)
				// A snapshot between the prewrite and the commit resolves
				// the lock too, and still reads the old value.
				if v, _ := read[how](t, before, target); v != "old" {
					t.Fatalf("snapshot below the commit read %q, want old", v)
				}
			})
		}
	}
}

// TestWriterMeetsOrphanedLock: a writer whose prewrite or 1PC meets the
// lock of a crashed transaction waits for its TTL, rolls it back and
// commits. The TTL is longer than one RPC attempt (rpcTimeout), so the
// wait must not be bounded by the attempt's deadline.
func TestWriterMeetsOrphanedLock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lock TTL above rpcTimeout")
	}
	tc := startCluster(t, 2)
	c := tc.client(t)
	ctx := testCtx(t, 40*time.Second)
	const tb = 111
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("m"))
	tc.waitOwned(t, ds...)
	ttl := rpcTimeout + 300*time.Millisecond

	// One orphaned transaction locks a and x; a 2PC writer (b, x) and a
	// 1PC writer (a) meet its locks at the same time.
	prewriteRaw(t, ctx, tc, c, ttl, "orphan", k("a"), k("x"))
	t0 := time.Now()
	errs := make(chan error, 2)
	go func() {
		errs <- commitKVs(ctx, c, map[string][]byte{string(k("b")): []byte("w2"), string(k("x")): []byte("w2")})
	}()
	go func() { errs <- commitKVs(ctx, c, map[string][]byte{string(k("a")): []byte("w1")}) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("writer meeting an orphaned lock: %v (after %v)", err, time.Since(t0))
		}
	}
	if el := time.Since(t0); el < ttl-100*time.Millisecond {
		t.Fatalf("writers finished after %v, before the lock's TTL %v", el, ttl)
	}
	r := mustBegin(t, ctx, c)
	if got, want := rows(t, ctx, r, tb, "", ""), []string{"a=w1", "b=w2", "x=w2"}; !slices.Equal(got, want) {
		t.Fatalf("after the writers: %v, want %v", got, want)
	}
}
