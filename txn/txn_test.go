package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// rows scans table's row span in tx and returns "suffix=value" strings.
func rows(t *testing.T, ctx context.Context, tx *Txn, table uint32, from, to string) []string {
	t.Helper()
	p := keys.RowPrefix(table)
	start, end := tk(table, from), tk(table, to)
	if to == "" {
		end = keys.PrefixEnd(p)
	}
	var out []string
	var last []byte
	err := tx.Scan(ctx, start, end, false, func(k, v []byte) error {
		if last != nil && bytes.Compare(last, k) >= 0 {
			return fmt.Errorf("scan out of order: %q after %q", k, last)
		}
		last = bytes.Clone(k)
		if !bytes.HasPrefix(k, p) {
			return fmt.Errorf("scan returned %q outside the table", k)
		}
		out = append(out, fmt.Sprintf("%s=%s", k[len(p):], v))
		return nil
	})
	if err != nil {
		t.Fatalf("scan [%q, %q): %v", from, to, err)
	}
	return out
}

func mustBegin(t *testing.T, ctx context.Context, c *Client) *Txn {
	t.Helper()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	return tx
}

func mustGet(t *testing.T, ctx context.Context, tx *Txn, key []byte) (string, bool) {
	t.Helper()
	v, ok, err := tx.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return string(v), ok
}

func TestTxnBasics(t *testing.T) {
	tc := startCluster(t, 3)
	c := tc.client(t)
	ctx := testCtx(t, 40*time.Second)
	const tb = 100
	k := func(s string) []byte { return tk(tb, s) }
	// Ranges: [.., t100r) [t100r, h) [h, p) [p, ..): the three under the
	// table on three different shards.
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("h"), k("p"))
	tc.waitOwned(t, ds...)

	// Seed across all three ranges: 2PC.
	onePC, prewrites := tc.callCount("OnePC"), tc.callCount("Prewrite")
	seed := mustBegin(t, ctx, c)
	for _, s := range []string{"a", "d", "g", "n", "q", "x"} {
		seed.Put(k(s), []byte(strings.ToUpper(s)))
	}
	if err := seed.Commit(ctx); err != nil {
		t.Fatalf("seed commit: %v", err)
	}
	if got := tc.callCount("Prewrite") - prewrites; got != 3 {
		t.Errorf("seed over 3 ranges sent %d prewrites, want 3 (one per range)", got)
	}
	if tc.callCount("OnePC") != onePC {
		t.Errorf("seed over 3 ranges used 1PC")
	}
	committed := []string{"a=A", "d=D", "g=G", "n=N", "q=Q", "x=X"}

	old := mustBegin(t, ctx, c) // snapshot before the next commit
	if got := rows(t, ctx, old, tb, "", ""); !slices.Equal(got, committed) {
		t.Fatalf("after seed: %v, want %v", got, committed)
	}

	tx := mustBegin(t, ctx, c)
	tx.Put(k("b"), []byte("b1"))                            // new, before a committed key
	tx.Delete(k("d"))                                       // committed key deleted
	if err := tx.Insert(k("e"), []byte("e1")); err != nil { // new between committed keys
		t.Fatal(err)
	}
	tx.Put(k("g"), []byte("g2"))                            // overwrite committed
	tx.Delete(k("zz"))                                      // delete of a key that never existed
	tx.Put(k("o"), []byte("o1"))                            // new, in the middle range
	tx.Put(k("o"), []byte("o2"))                            // rewritten
	tx.Put(k("zzz"), []byte("z1"))                          // after every committed key
	tx.Delete(k("q"))                                       // the last committed key of a range
	if err := tx.Insert(k("q"), []byte("q2")); err != nil { // re-insert after own delete
		t.Fatalf("insert after own delete: %v", err)
	}
	tx.Delete(k("x"))
	if err := tx.Insert(k("e"), []byte("again")); err == nil {
		t.Fatalf("insert over own live write succeeded")
	} else if ke := (*KeyExistsError)(nil); !errors.As(err, &ke) || !bytes.Equal(ke.Key, k("e")) {
		t.Fatalf("insert over own live write: %v, want KeyExistsError", err)
	}

	for _, g := range []struct {
		key  string
		want string
		ok   bool
	}{
		{"a", "A", true}, {"b", "b1", true}, {"d", "", false}, {"e", "e1", true},
		{"g", "g2", true}, {"n", "N", true}, {"o", "o2", true}, {"q", "q2", true},
		{"x", "", false}, {"zz", "", false}, {"zzz", "z1", true}, {"c", "", false},
	} {
		if v, ok := mustGet(t, ctx, tx, k(g.key)); v != g.want || ok != g.ok {
			t.Errorf("own Get(%s) = %q,%v; want %q,%v", g.key, v, ok, g.want, g.ok)
		}
	}
	merged := []string{"a=A", "b=b1", "e=e1", "g=g2", "n=N", "o=o2", "q=q2", "zzz=z1"}
	for _, sc := range []struct {
		from, to string
		want     []string
	}{
		{"", "", merged},
		{"c", "p", []string{"e=e1", "g=g2", "n=N", "o=o2"}},
		{"d", "d\x00", nil},
		{"h", "h", nil},
		{"o", "q\x00", []string{"o=o2", "q=q2"}},
		{"p", "", []string{"q=q2", "zzz=z1"}},
	} {
		if got := rows(t, ctx, tx, tb, sc.from, sc.to); !slices.Equal(got, sc.want) {
			t.Errorf("own Scan [%q,%q) = %v, want %v", sc.from, sc.to, got, sc.want)
		}
	}
	// A keys-only scan sees the same keys.
	var ko int
	if err := tx.Scan(ctx, k(""), keys.PrefixEnd(keys.RowPrefix(tb)), true, func(_, _ []byte) error { ko++; return nil }); err != nil || ko != len(merged) {
		t.Errorf("keys-only scan: %d keys, err %v; want %d", ko, err, len(merged))
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Errorf("second Commit of a finished txn succeeded")
	}
	later := mustBegin(t, ctx, c)
	if got := rows(t, ctx, later, tb, "", ""); !slices.Equal(got, merged) {
		t.Errorf("later snapshot: %v, want %v", got, merged)
	}
	if v, ok := mustGet(t, ctx, later, k("o")); v != "o2" || !ok {
		t.Errorf("later Get(o) = %q,%v", v, ok)
	}
	// The snapshot taken before the commit still reads the old state.
	if got := rows(t, ctx, old, tb, "", ""); !slices.Equal(got, committed) {
		t.Errorf("earlier snapshot after commit: %v, want %v", got, committed)
	}
	if v, ok := mustGet(t, ctx, old, k("g")); v != "G" || !ok {
		t.Errorf("earlier snapshot Get(g) = %q,%v; want G", v, ok)
	}
	if _, ok := mustGet(t, ctx, old, k("b")); ok {
		t.Errorf("earlier snapshot sees b")
	}

	// Keys in one range: 1PC, no prewrite.
	onePC, prewrites = tc.callCount("OnePC"), tc.callCount("Prewrite")
	one := mustBegin(t, ctx, c)
	one.Put(k("i"), []byte("I"))
	one.Put(k("j"), []byte("J"))
	one.Delete(k("n"))
	if err := one.Commit(ctx); err != nil {
		t.Fatalf("1PC commit: %v", err)
	}
	if tc.callCount("OnePC") != onePC+1 || tc.callCount("Prewrite") != prewrites {
		t.Errorf("one-range commit: %d OnePC, %d Prewrite calls; want 1, 0",
			tc.callCount("OnePC")-onePC, tc.callCount("Prewrite")-prewrites)
	}
	after := mustBegin(t, ctx, c)
	if got, want := rows(t, ctx, after, tb, "h", "p"), []string{"i=I", "j=J", "o=o2"}; !slices.Equal(got, want) {
		t.Errorf("after 1PC: %v, want %v", got, want)
	}
	// An empty transaction commits trivially.
	if err := mustBegin(t, ctx, c).Commit(ctx); err != nil {
		t.Errorf("empty commit: %v", err)
	}
}

func TestInsertExisting(t *testing.T) {
	tc := startCluster(t, 2)
	c := tc.client(t)
	ctx := testCtx(t, 30*time.Second)
	const tb = 101
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("m"))
	tc.waitOwned(t, ds...)
	if err := commitKVs(ctx, c, map[string][]byte{string(k("a")): []byte("A"), string(k("z")): []byte("Z")}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		insert   string   // the key that exists
		others   []string // other new keys in the txn
		existKey string
	}{
		{"1PC", "a", nil, "a"},
		{"1PC with others", "a", []string{"b", "c"}, "a"},
		{"2PC primary", "a", []string{"n", "o"}, "a"},
		{"2PC secondary", "z", []string{"b", "c"}, "z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tx := mustBegin(t, ctx, c)
			for _, o := range tt.others {
				if err := tx.Insert(k(o), []byte("new")); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Insert(k(tt.insert), []byte("dup")); err != nil {
				t.Fatalf("buffered insert failed early: %v", err)
			}
			err := tx.Commit(ctx)
			var ke *KeyExistsError
			if !errors.As(err, &ke) || !bytes.Equal(ke.ExistingKey(), k(tt.existKey)) {
				t.Fatalf("commit: %v; want KeyExistsError on %q", err, k(tt.existKey))
			}
			// Nothing of the txn is visible.
			r := mustBegin(t, ctx, c)
			if got, want := rows(t, ctx, r, tb, "", ""), []string{"a=A", "z=Z"}; !slices.Equal(got, want) {
				t.Fatalf("after failed insert: %v, want %v", got, want)
			}
		})
	}
	// Insert of a deleted key succeeds; insert over a committed delete too.
	if err := commitKVs(ctx, c, map[string][]byte{string(k("a")): nil}); err != nil {
		t.Fatal(err)
	}
	tx := mustBegin(t, ctx, c)
	if err := tx.Insert(k("a"), []byte("A2")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Insert(k("q"), []byte("Q")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("insert over a deleted key: %v", err)
	}
}

func TestWriteConflict(t *testing.T) {
	tc := startCluster(t, 2)
	c := tc.client(t)
	ctx := testCtx(t, 30*time.Second)
	const tb = 102
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("m"))
	tc.waitOwned(t, ds...)
	for _, tt := range []struct {
		name   string
		first  []string // keys written by the first committer
		second []string // keys written by the second
	}{
		{"1PC vs 1PC", []string{"a"}, []string{"a"}},
		{"1PC vs 2PC", []string{"b"}, []string{"b", "x"}},
		{"2PC vs 1PC", []string{"c", "y"}, []string{"c"}},
		{"2PC vs 2PC secondary", []string{"d", "z"}, []string{"e", "z"}},
		{"delete vs put", []string{"-f"}, []string{"f"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t1 := mustBegin(t, ctx, c)
			t2 := mustBegin(t, ctx, c)
			apply := func(tx *Txn, ks []string, v string) {
				for _, s := range ks {
					if d, ok := strings.CutPrefix(s, "-"); ok {
						tx.Delete(k(d))
					} else {
						tx.Put(k(s), []byte(v))
					}
				}
			}
			// Both read what they write before either commits (the lost
			// update pattern): their snapshots then both predate the
			// first commit. (Blind writes need not conflict: a 1PC commit
			// may take a timestamp below a concurrent start_ts that has
			// not read the keys, which is still snapshot isolation.)
			for _, x := range []struct {
				tx *Txn
				ks []string
			}{{t1, tt.first}, {t2, tt.second}} {
				for _, s := range x.ks {
					mustGet(t, ctx, x.tx, k(strings.TrimPrefix(s, "-")))
				}
			}
			apply(t1, tt.first, "one")
			apply(t2, tt.second, "two")
			if err := t1.Commit(ctx); err != nil {
				t.Fatalf("first committer: %v", err)
			}
			err := t2.Commit(ctx)
			if code := pgerr.Code(err); code != pgerr.SerializationFailure {
				t.Fatalf("second committer: %v (code %s), want 40001", err, code)
			}
			// The first committer's writes are intact; nothing of the second.
			r := mustBegin(t, ctx, c)
			for _, s := range tt.second {
				v, _ := mustGet(t, ctx, r, k(s))
				if v == "two" {
					t.Errorf("loser's write of %s visible", s)
				}
			}
			for _, s := range tt.first {
				if strings.HasPrefix(s, "-") {
					continue
				}
				if v, ok := mustGet(t, ctx, r, k(s)); v != "one" || !ok {
					t.Errorf("winner's write of %s: %q,%v", s, v, ok)
				}
			}
			// A txn that starts after the winner commits does not conflict.
			t3 := mustBegin(t, ctx, c)
			apply(t3, tt.second, "three")
			if err := t3.Commit(ctx); err != nil {
				t.Fatalf("retry after the winner: %v", err)
			}
		})
	}
}

// TestLongTxnLocksOutliveLockTTL: a transaction whose body runs longer than
// LockTTL must still be able to commit while readers meet its locks.
func TestLongTxnLocksOutliveLockTTL(t *testing.T) {
	tc := startCluster(t, 2)
	c := tc.client(t)
	// (1 s, not less: under -race on a loaded two-core machine a heartbeat
	// can come late enough to let a shorter TTL lapse)
	c.LockTTL = time.Second
	ctx := testCtx(t, 30*time.Second)
	const tb = 103
	k := func(s string) []byte { return tk(tb, s) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), k("m"))
	tc.waitOwned(t, ds...)
	if err := commitKVs(ctx, c, map[string][]byte{string(k("a")): []byte("A0"), string(k("z")): []byte("Z0")}); err != nil {
		t.Fatal(err)
	}

	tx := mustBegin(t, ctx, c)
	time.Sleep(2 * c.LockTTL) // a long transaction body
	tx.Put(k("a"), []byte("A1"))
	tx.Put(k("z"), []byte("Z1"))

	// Hold the primary's commit back until a reader has met the
	// secondary's lock and asked about the primary.
	checked := make(chan struct{}, 1)
	tc.setHook(t, func(ctx context.Context, node uint64, method string, req any, h grpc.UnaryHandler) (any, error) {
		switch method {
		case "/shardsql.api.Shard/CheckTxnStatus":
			defer func() {
				select {
				case checked <- struct{}{}:
				default:
				}
			}()
		case "/shardsql.api.Shard/Commit":
			select {
			case <-checked:
			case <-time.After(2 * time.Second):
			}
		}
		return h(ctx, req)
	})
	sc, rc := tc.rawShard(t, k("z"))
	readerDone := make(chan error, 1)
	go func() {
		// Wait until the secondary is locked, then read it through txn.
		for ctx.Err() == nil {
			r, err := c.Begin(ctx)
			if err != nil {
				readerDone <- err
				return
			}
			resp, err := sc.Get(ctx, &api.GetRequest{Ctx: rc, Key: k("z"), Ts: r.StartTS})
			if err != nil {
				readerDone <- err
				return
			}
			if resp.Error != nil && resp.Error.Locked != nil {
				_, _, err = r.Get(ctx, k("z"))
				readerDone <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
		readerDone <- ctx.Err()
	}()
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit of a long transaction: %v (its locks were counted as expired)", err)
	}
	if err := <-readerDone; err != nil {
		t.Fatalf("reader: %v", err)
	}
	r := mustBegin(t, ctx, c)
	if got, want := rows(t, ctx, r, tb, "", ""), []string{"a=A1", "z=Z1"}; !slices.Equal(got, want) {
		t.Fatalf("after commit: %v, want %v", got, want)
	}
}

// TestNoSpuriousConflictAfter1PC: a transaction that starts after a 1PC
// commit returned sees its write and may overwrite it without a conflict.
func TestNoSpuriousConflictAfter1PC(t *testing.T) {
	tc := startCluster(t, 1)
	c := tc.client(t)
	ctx := testCtx(t, 30*time.Second)
	const tb = 104
	key := tk(tb, "counter")
	for i := range 30 {
		tx := mustBegin(t, ctx, c)
		v, ok := mustGet(t, ctx, tx, key)
		if want := strconv.Itoa(i); i > 0 && (v != want || !ok) {
			t.Fatalf("iteration %d: read %q,%v; want %q", i, v, ok, want)
		}
		tx.Put(key, []byte(strconv.Itoa(i+1)))
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("iteration %d: read-modify-write right after the previous 1PC commit: %v", i, err)
		}
	}
}
