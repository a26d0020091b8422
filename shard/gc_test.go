package shard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/shardsql/shardsql/api"
)

// countRecords counts the store's records by kind (L, W, D).
func countRecords(t *testing.T, s *Store) map[byte]int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := map[byte]int{}
	for valid := it.First(); valid; valid = it.Next() {
		n[it.Key()[0]]++
	}
	return n
}

// TestGCBatches collects more keys than one batch holds, in a sub-span.
func TestGCBatches(t *testing.T) {
	s, err := OpenStore("", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const keys, versions = 700, 3
	ts := uint64(100)
	for v := range versions {
		muts := make([]*api.Mutation, keys)
		for i := range muts {
			muts[i] = &api.Mutation{Op: api.Mutation_PUT, Key: fmt.Appendf(nil, "k%04d", i), Value: fmt.Appendf(nil, "v%d", v)}
		}
		if _, kerrs, err := s.OnePC(muts, ts, 0); err != nil || kerrs != nil {
			t.Fatal(kerrs, err)
		}
		ts += 10
	}
	// [k0100, k0600): 500 keys lose two versions each.
	st, err := s.GC(context.Background(), []byte("k0100"), []byte("k0600"), ts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Writes != 1000 || st.Values != 1000 {
		t.Fatalf("gc stats %+v, want 1000 writes and values", st)
	}
	n := countRecords(t, s)
	if want := keys*versions - 1000; n[prefixWrite] != want || n[prefixData] != want {
		t.Fatalf("records after gc %v, want %d W and D", n, want)
	}
	pairs, _, kerr, err := s.Scan(nil, nil, ts, 0, false)
	if err != nil || kerr != nil || len(pairs) != keys {
		t.Fatalf("scan after gc: %d pairs, %v %v", len(pairs), kerr, err)
	}
	for _, p := range pairs {
		if string(p.Value) != "v2" {
			t.Fatalf("%s = %s, want v2", p.Key, p.Value)
		}
	}
	// A cancelled GC stops (after raising the safe point).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GC(ctx, nil, nil, ts+1); err == nil {
		t.Fatal("gc with a cancelled context succeeded")
	}
	if s.GCSafePoint() != ts+1 {
		t.Fatalf("safe point %d, want %d", s.GCSafePoint(), ts+1)
	}
}

// TestGCLoop shows a started server's GC loop applying the metadata
// service's safe point to every owned range, reads below it failing, and
// the safe point surviving a restart.
func TestGCLoop(t *testing.T) {
	dir := t.TempDir()
	m := newFakeMeta(desc(1, "", "m", 1, 1), desc(2, "m", "", 1, 1))
	meta := startMeta(t, m)
	n := startNodeCfg(t, meta, dir, func(c *Config) { c.GCInterval = 50 * time.Millisecond })
	c, bg := n.client, context.Background()

	// Three versions of a key in each range, and a lock.
	var firstCommit uint64
	for _, k := range []struct {
		key string
		rc  *api.RangeContext
	}{{"b", rc(1, 1)}, {"x", rc(2, 1)}} {
		for v := range 3 {
			cts := put(t, c, m, k.rc, k.key, fmt.Sprint(v))
			if firstCommit == 0 {
				firstCommit = cts
			}
		}
	}
	lockTS := m.now()
	pw, err := c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(1, 1), StartTs: lockTS, Primary: []byte("l"), LockTtlMs: 60000,
		Mutations: []*api.Mutation{{Key: []byte("l"), Value: []byte("locked")}}})
	if err != nil || pw.RangeError != nil || len(pw.Errors) > 0 {
		t.Fatalf("prewrite: %v %v", pw, err)
	}
	if got := countRecords(t, n.srv.Store()); got[prefixWrite] != 6 || got[prefixData] != 7 || got[prefixLock] != 1 {
		t.Fatalf("records before gc: %v", got)
	}
	// No safe point yet: nothing happens.
	time.Sleep(150 * time.Millisecond)
	if n.srv.GCSafePoint() != 0 || n.srv.Store().GCSafePoint() != 0 {
		t.Fatalf("gc ran without a safe point")
	}

	sp := m.now()
	m.safePoint.Store(sp)
	waitFor(t, "gc pass", func() bool { return n.srv.GCSafePoint() == sp })
	if got := countRecords(t, n.srv.Store()); got[prefixWrite] != 2 || got[prefixData] != 3 || got[prefixLock] != 1 {
		t.Fatalf("records after gc: %v", got)
	}
	g, err := c.Get(bg, &api.GetRequest{Ctx: rc(2, 1), Key: []byte("x"), Ts: sp})
	if err != nil || g.Error != nil || string(g.Value) != "2" {
		t.Fatalf("get at the safe point: %v %v", g, err)
	}
	g, err = c.Get(bg, &api.GetRequest{Ctx: rc(1, 1), Key: []byte("l"), Ts: m.now()})
	if err != nil || g.Error.GetLocked() == nil {
		t.Fatalf("lock after gc: %v %v", g, err)
	}
	g, err = c.Get(bg, &api.GetRequest{Ctx: rc(1, 1), Key: []byte("b"), Ts: firstCommit})
	if err != nil || !strings.HasPrefix(g.GetError().GetMessage(), "snapshot too old: read at") {
		t.Fatalf("get below the safe point: %v %v", g, err)
	}
	sc, err := c.Scan(bg, &api.ScanRequest{Ctx: rc(2, 1), Ts: sp - 1})
	if err != nil || !strings.Contains(sc.GetError().GetMessage(), fmt.Sprintf("below the GC safe point %d", sp)) {
		t.Fatalf("scan below the safe point: %v %v", sc, err)
	}

	// The safe point persists across a restart.
	if err := n.srv.Close(); err != nil {
		t.Fatal(err)
	}
	n2 := startNode(t, meta, dir)
	if got := n2.srv.Store().GCSafePoint(); got != sp {
		t.Fatalf("store safe point after restart %d, want %d", got, sp)
	}
	bg2, err := n2.client.BatchGet(bg, &api.BatchGetRequest{Ctx: rc(1, 1), Keys: [][]byte{[]byte("b")}, Ts: sp - 1})
	if err != nil || !strings.HasPrefix(bg2.GetError().GetMessage(), "snapshot too old") {
		t.Fatalf("batch get below the safe point after restart: %v %v", bg2, err)
	}
}

func TestOldestLockTS(t *testing.T) {
	s, err := OpenStore("", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	oldest := func() uint64 {
		t.Helper()
		ts, err := s.OldestLockTS()
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	if got := oldest(); got != 0 {
		t.Fatalf("empty store: %d", got)
	}
	for _, w := range []struct {
		key   string
		start uint64
	}{{"b", 20}, {"a", 10}, {"c", 30}} {
		errs, err := s.Prewrite([]*api.Mutation{{Op: api.Mutation_PUT, Key: []byte(w.key), Value: []byte("v")}}, []byte(w.key), w.start, 3000)
		if err != nil || len(errs) != 0 && errs[0] != nil {
			t.Fatalf("prewrite %s: %v %v", w.key, err, errs)
		}
	}
	if got := oldest(); got != 10 {
		t.Fatalf("oldest lock: %d, want 10", got)
	}
	if kerr, err := s.Commit([][]byte{[]byte("a")}, 10, 15); err != nil || kerr != nil {
		t.Fatalf("commit: %v %v", err, kerr)
	}
	if got := oldest(); got != 20 {
		t.Fatalf("after committing 10: %d, want 20", got)
	}
}

func TestScanLocks(t *testing.T) {
	s, err := OpenStore("", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, w := range []struct {
		key   string
		start uint64
	}{{"a", 10}, {"b", 20}, {"c", 30}, {"z", 5}} {
		errs, err := s.Prewrite([]*api.Mutation{{Op: api.Mutation_PUT, Key: []byte(w.key), Value: []byte("v")}}, []byte(w.key), w.start, 3000)
		if err != nil || len(errs) != 0 && errs[0] != nil {
			t.Fatalf("prewrite %s: %v %v", w.key, err, errs)
		}
	}
	locks, err := s.ScanLocks([]byte("a"), []byte("d"), 20, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range locks {
		got = append(got, fmt.Sprintf("%s@%d", l.Key, l.StartTs))
	}
	if strings.Join(got, ",") != "a@10,b@20" {
		t.Fatalf("locks in [a,d) started by 20: %v", got)
	}
	if locks, _ := s.ScanLocks(nil, nil, 100, 2); len(locks) != 2 {
		t.Fatalf("limit 2 gave %d", len(locks))
	}
}
