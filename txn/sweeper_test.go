package txn

import (
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/keys"
)

// TestResolveOldLocks: a coordinator that died after prewriting (locks on
// two shards, no reader ever meets them) and one that died after committing
// its primary are both cleaned up by the background resolver once the locks
// are two TTLs old; a live transaction's locks are left alone.
func TestResolveOldLocks(t *testing.T) {
	tc := startCluster(t, 2)
	c := tc.client(t)
	c.LockTTL = 300 * time.Millisecond
	ctx := testCtx(t, 30*time.Second)
	const tb = 120
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("m"))
	tc.waitOwned(t, ds...)
	locks := func() int {
		n := 0
		for _, s := range tc.shards {
			ts, err := s.srv.Store().OldestLockTS()
			if err != nil {
				t.Fatal(err)
			}
			if ts != 0 {
				locks, err := s.srv.Store().ScanLocks(nil, nil, ^uint64(0), 1000)
				if err != nil {
					t.Fatal(err)
				}
				n += len(locks)
			}
		}
		return n
	}
	prewriteRaw(t, ctx, tc, c, c.LockTTL, "never", k("a"), k("x"))
	committed := prewriteRaw(t, ctx, tc, c, c.LockTTL, "yes", k("b"), k("y"))
	commitTS, err := c.Oracle().Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kerr := committed.commitRaw(t, ctx, tc, commitTS, k("b")); kerr != nil {
		t.Fatal(kerr)
	}
	if n := locks(); n != 3 {
		t.Fatalf("want 3 orphaned locks before resolution, found %d", n)
	}
	// Too young: nothing is resolved yet.
	if n, err := c.ResolveOldLocks(ctx); err != nil || n != 0 {
		t.Fatalf("young locks resolved: %d, %v", n, err)
	}
	time.Sleep(2*c.LockTTL + 100*time.Millisecond)
	n, err := c.ResolveOldLocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || locks() != 0 {
		t.Fatalf("resolved %d locks, %d left; want 3 and 0", n, locks())
	}
	tx := mustBegin(t, ctx, c)
	if _, ok := mustGet(t, ctx, tx, k("x")); ok {
		t.Fatal("the rolled-back transaction's secondary is visible")
	}
	if v, _ := mustGet(t, ctx, tx, k("y")); v != "yes" {
		t.Fatalf("the committed transaction's secondary reads %q, want yes", v)
	}

	// A live (heartbeating) transaction's pessimistic lock stays.
	live := mustBegin(t, ctx, c)
	live.Pessimistic = true
	if err := live.LockKeys(ctx, [][]byte{k("c")}, live.ReadTS, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2*c.LockTTL + 200*time.Millisecond)
	if _, err := c.ResolveOldLocks(ctx); err != nil {
		t.Fatal(err)
	}
	if locks() != 1 {
		t.Fatalf("a live transaction's lock was resolved")
	}
	if err := live.Commit(ctx); err != nil {
		t.Fatalf("the live transaction could not commit: %v", err)
	}
}
