package shardmeta

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
)

// fakeShard answers PrepareSplit with configurable results over a real
// loopback gRPC listener.
type fakeShard struct {
	api.UnimplementedShardServer
	addr string

	mu         sync.Mutex
	rightEmpty bool
	maxReadTS  uint64
	notReady   int // answer NOT_READY this many more times
	calls      []*api.PrepareSplitRequest
}

func startFakeShard(t *testing.T) *fakeShard {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeShard{addr: lis.Addr().String()}
	gs := grpc.NewServer()
	api.RegisterShardServer(gs, fs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return fs
}

func (f *fakeShard) set(rightEmpty bool, maxReadTS uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rightEmpty, f.maxReadTS = rightEmpty, maxReadTS
}

func (f *fakeShard) lastCall() *api.PrepareSplitRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return nil
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeShard) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeShard) PrepareSplit(_ context.Context, req *api.PrepareSplitRequest) (*api.PrepareSplitResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if f.notReady > 0 {
		f.notReady--
		return &api.PrepareSplitResponse{RangeError: &api.RangeError{Kind: api.RangeError_NOT_READY, Message: "fenced"}}, nil
	}
	return &api.PrepareSplitResponse{RightEmpty: f.rightEmpty, MaxReadTs: f.maxReadTS}, nil
}

func registerShard(t *testing.T, env *testEnv, fs *fakeShard) uint64 {
	t.Helper()
	resp, err := env.cl.RegisterNode(testContext(t), &api.RegisterNodeRequest{Addr: fs.addr, Role: RoleShard})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Id
}

func wantRange(t *testing.T, got *api.RangeDescriptor, id uint64, start, end string, gen, shard uint64) {
	t.Helper()
	if got == nil || got.RangeId != id || string(got.StartKey) != start || string(got.EndKey) != end ||
		got.Generation != gen || got.Shard != shard {
		t.Fatalf("range = %v, want id=%d [%q, %q) gen=%d shard=%d", got, id, start, end, gen, shard)
	}
}

// checkRangeMap verifies that the ranges tile the keyspace and that
// LookupRange agrees with ScanRanges for the start of each range and a key
// inside it.
func checkRangeMap(t *testing.T, env *testEnv) []*api.RangeDescriptor {
	t.Helper()
	ctx := testContext(t)
	sr, err := env.cl.ScanRanges(ctx, &api.ScanRangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var prevEnd []byte
	for i, r := range sr.Ranges {
		if !bytes.Equal(r.StartKey, prevEnd) {
			t.Fatalf("range %d starts at %q, previous ended at %q", r.RangeId, r.StartKey, prevEnd)
		}
		if i == len(sr.Ranges)-1 && len(r.EndKey) != 0 {
			t.Fatalf("last range ends at %q", r.EndKey)
		}
		prevEnd = r.EndKey
		for _, k := range [][]byte{r.StartKey, append(bytes.Clone(r.StartKey), 0)} {
			lr, err := env.cl.LookupRange(ctx, &api.LookupRangeRequest{Key: k})
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(lr.Range, r) {
				t.Fatalf("lookup %q = %v, scan has %v", k, lr.Range, r)
			}
		}
	}
	return sr.Ranges
}

func TestSplitRange(t *testing.T) {
	env := startEnv(t, Config{SplitFenceMs: 1234})
	ctx := testContext(t)
	a, b := startFakeShard(t), startFakeShard(t)
	idA := registerShard(t, env, a)
	idB := registerShard(t, env, b)

	watch, err := env.cl.WatchRanges(ctx, &api.WatchRangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Snapshot || len(ev.Upserts) != 1 {
		t.Fatalf("snapshot %+v", ev)
	}
	wantRange(t, ev.Upserts[0], 1, "", "", 1, idA)

	// Empty right half: moves to the least-loaded live shard (B holds none).
	a.set(true, 41)
	sp, err := env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("m")})
	if err != nil {
		t.Fatal(err)
	}
	wantRange(t, sp.Left, 1, "", "m", 2, idA)
	wantRange(t, sp.Right, 2, "m", "", 2, idB)
	if sp.Right.MinWriteTs != 42 {
		t.Fatalf("right min_write_ts %d, want 42", sp.Right.MinWriteTs)
	}
	call := a.lastCall()
	if call == nil || call.Ctx.RangeId != 1 || call.Ctx.Generation != 1 || string(call.SplitKey) != "m" || call.FenceMs != 1234 {
		t.Fatalf("prepare split request %v", call)
	}
	ev, err = watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Snapshot || len(ev.Upserts) != 2 || !proto.Equal(ev.Upserts[0], sp.Left) || !proto.Equal(ev.Upserts[1], sp.Right) {
		t.Fatalf("watch event %+v", ev)
	}

	// Splitting where a range already starts changes nothing.
	calls := a.callCount()
	noop, err := env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("m")})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(noop.Left, sp.Left) || !proto.Equal(noop.Right, sp.Right) || a.callCount() != calls {
		t.Fatalf("no-op split %+v", noop)
	}

	// Non-empty right half: stays on the same shard, behind the reads served.
	a.set(false, 99)
	sp, err = env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	wantRange(t, sp.Left, 1, "", "c", 3, idA)
	wantRange(t, sp.Right, 3, "c", "m", 3, idA)
	if sp.Right.MinWriteTs != 100 {
		t.Fatalf("right min_write_ts %d, want 100", sp.Right.MinWriteTs)
	}
	ev, err = watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Upserts) != 2 || ev.Upserts[0].RangeId != 1 || ev.Upserts[1].RangeId != 3 {
		t.Fatalf("watch event %+v", ev)
	}

	// B holds one range, A two: an empty half of a range on A goes to B.
	a.set(true, 7)
	sp, err = env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("f")})
	if err != nil {
		t.Fatal(err)
	}
	wantRange(t, sp.Right, 4, "f", "m", 4, idB)
	if ev, err = watch.Recv(); err != nil {
		t.Fatal(err)
	}
	if len(ev.Upserts) != 2 || !proto.Equal(ev.Upserts[1], sp.Right) {
		t.Fatalf("watch event %+v", ev)
	}

	ranges := checkRangeMap(t, env)
	if len(ranges) != 4 {
		t.Fatalf("ranges %v", ranges)
	}
	sr, err := env.cl.ScanRanges(ctx, &api.ScanRangesRequest{StartKey: []byte("d"), EndKey: []byte("n")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, r := range sr.Ranges {
		ids = append(ids, r.RangeId)
	}
	if len(ids) != 3 || ids[0] != 3 || ids[1] != 4 || ids[2] != 2 {
		t.Fatalf("scan [d, n) gave ranges %v, want [3 4 2]", ids)
	}
	sr, err = env.cl.ScanRanges(ctx, &api.ScanRangesRequest{StartKey: []byte("c"), EndKey: []byte("f")})
	if err != nil || len(sr.Ranges) != 1 || sr.Ranges[0].RangeId != 3 {
		t.Fatalf("scan [c, f): %v %v", err, sr)
	}
	_, err = env.cl.ScanRanges(ctx, &api.ScanRangesRequest{StartKey: []byte("z"), EndKey: []byte("a")})
	wantCode(t, err, codes.InvalidArgument)

	_, err = env.cl.SplitRange(ctx, &api.SplitRangeRequest{})
	wantCode(t, err, codes.InvalidArgument)

	// CreateTable puts the table on a range of its own.
	b.set(true, 5)
	ct, err := env.cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t")})
	if err != nil {
		t.Fatal(err)
	}
	start, end := keys.TableSpan(ct.Table.Id)
	lr, err := env.cl.LookupRange(ctx, &api.LookupRangeRequest{Key: append(bytes.Clone(start), 'r', 1)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lr.Range.StartKey, start) || !bytes.Equal(lr.Range.EndKey, end) {
		t.Fatalf("table range [%q, %q), want [%q, %q)", lr.Range.StartKey, lr.Range.EndKey, start, end)
	}
	checkRangeMap(t, env)
	// The watch saw both splits: at the table's start, then at its end.
	for _, k := range [][]byte{start, end} {
		if ev, err = watch.Recv(); err != nil {
			t.Fatal(err)
		}
		if len(ev.Upserts) != 2 || !bytes.Equal(ev.Upserts[1].StartKey, k) {
			t.Fatalf("watch event %+v, want a split at %q", ev, k)
		}
	}
}

func TestSplitRetriesAndFailure(t *testing.T) {
	env := startEnv(t, Config{})
	env.srv.splitRetryBudget = 400 * time.Millisecond
	ctx := testContext(t)
	a := startFakeShard(t)
	registerShard(t, env, a)

	// NOT_READY twice, then success.
	a.mu.Lock()
	a.notReady = 2
	a.rightEmpty = true
	a.mu.Unlock()
	if _, err := env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if n := a.callCount(); n != 3 {
		t.Fatalf("prepare split called %d times, want 3", n)
	}

	// Always NOT_READY: bounded, Unavailable.
	a.mu.Lock()
	a.notReady = 1 << 30
	a.mu.Unlock()
	start := time.Now()
	_, err := env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("p")})
	wantCode(t, err, codes.Unavailable)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("failing split took %v", d)
	}

	// A shard that is not listening: Unavailable with a clear message.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	if _, err := env.cl.RegisterNode(ctx, &api.RegisterNodeRequest{Id: 1, Addr: dead, Role: RoleShard}); err != nil {
		t.Fatal(err)
	}
	_, err = env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("b")})
	wantCode(t, err, codes.Unavailable)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "prepare split") || !strings.Contains(msg, dead) {
		t.Fatalf("message %q", msg)
	}

	// The range map is untouched by the failed splits.
	if rs := checkRangeMap(t, env); len(rs) != 2 {
		t.Fatalf("ranges %v", rs)
	}
}

// TestBootstrapAlignsExistingTables: tables created before any shard get
// ranges of their own when the first shard registers.
func TestBootstrapAlignsExistingTables(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	for _, name := range []string{"x", "y"} {
		if _, err := env.cl.CreateTable(ctx, &api.CreateTableRequest{Table: table(name)}); err != nil {
			t.Fatal(err)
		}
	}
	id := registerShard(t, env, startFakeShard(t))
	rs := checkRangeMap(t, env)
	if len(rs) != 4 {
		t.Fatalf("ranges %v", rs)
	}
	s100, _ := keys.TableSpan(FirstTableID)
	s101, e101 := keys.TableSpan(FirstTableID + 1)
	wantRange(t, rs[0], 1, "", string(s100), 1, id)
	wantRange(t, rs[1], 2, string(s100), string(s101), 1, id)
	wantRange(t, rs[2], 3, string(s101), string(e101), 1, id)
	wantRange(t, rs[3], 4, string(e101), "", 1, id)

	// The range id counter continues after the bootstrap ranges.
	sp, err := env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Right.RangeId != 5 {
		t.Fatalf("new range id %d", sp.Right.RangeId)
	}
}

func TestConcurrentSplits(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	a := startFakeShard(t)
	a.set(false, 10)
	registerShard(t, env, a)
	splitKeys := []string{"b", "d", "f", "h", "j", "l", "n", "p"}
	var wg sync.WaitGroup
	for _, k := range splitKeys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := env.cl.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: []byte(k)}); err != nil {
				t.Errorf("split at %q: %v", k, err)
			}
		}()
	}
	wg.Wait()
	rs := checkRangeMap(t, env)
	if len(rs) != len(splitKeys)+1 {
		t.Fatalf("%d ranges after %d splits", len(rs), len(splitKeys))
	}
	seen := map[uint64]bool{}
	for _, r := range rs {
		if seen[r.RangeId] {
			t.Fatalf("duplicate range id %d", r.RangeId)
		}
		seen[r.RangeId] = true
	}
}
