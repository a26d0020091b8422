package shard

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardsql/shardsql/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeMeta is a small in-test metadata service: a TSO, a node registry and
// a range map with a watch.
type fakeMeta struct {
	api.UnimplementedMetaServer

	heartbeats atomic.Int64
	// safePoint is what GetSafePoint answers.
	safePoint atomic.Uint64

	mu         sync.Mutex
	ts         uint64
	nextID     uint64
	registered []uint64 // ids asked for by RegisterNode, in order
	ranges     map[uint64]*api.RangeDescriptor
	watchers   map[chan *api.RangeEvent]chan struct{} // event chan -> kill chan
}

func newFakeMeta(ranges ...*api.RangeDescriptor) *fakeMeta {
	m := &fakeMeta{
		ts:       uint64(time.Now().UnixMilli()) << LogicalBits,
		nextID:   1,
		ranges:   make(map[uint64]*api.RangeDescriptor),
		watchers: make(map[chan *api.RangeEvent]chan struct{}),
	}
	for _, d := range ranges {
		m.ranges[d.RangeId] = d
	}
	return m
}

func (m *fakeMeta) GetTimestamp(_ context.Context, req *api.GetTimestampRequest) (*api.GetTimestampResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := max(uint64(req.GetCount()), 1)
	first := m.ts + 1
	m.ts += n
	return &api.GetTimestampResponse{Timestamp: first, Count: uint32(n)}, nil
}

func (m *fakeMeta) now() uint64 {
	r, _ := m.GetTimestamp(context.Background(), &api.GetTimestampRequest{Count: 1})
	return r.Timestamp
}

func (m *fakeMeta) RegisterNode(_ context.Context, req *api.RegisterNodeRequest) (*api.RegisterNodeResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registered = append(m.registered, req.GetId())
	id := req.GetId()
	if id == 0 {
		id = m.nextID
		m.nextID++
	}
	return &api.RegisterNodeResponse{Id: id, HeartbeatIntervalMs: 20}, nil
}

func (m *fakeMeta) GetSafePoint(context.Context, *api.GetSafePointRequest) (*api.GetSafePointResponse, error) {
	return &api.GetSafePointResponse{SafePoint: m.safePoint.Load()}, nil
}

func (m *fakeMeta) Heartbeat(context.Context, *api.HeartbeatRequest) (*api.HeartbeatResponse, error) {
	m.heartbeats.Add(1)
	return &api.HeartbeatResponse{}, nil
}

func (m *fakeMeta) WatchRanges(_ *api.WatchRangesRequest, stream grpc.ServerStreamingServer[api.RangeEvent]) error {
	ch, kill := make(chan *api.RangeEvent, 16), make(chan struct{})
	m.mu.Lock()
	snap := &api.RangeEvent{Snapshot: true}
	for _, d := range m.ranges {
		snap.Upserts = append(snap.Upserts, proto.Clone(d).(*api.RangeDescriptor))
	}
	m.watchers[ch] = kill
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}()
	if err := stream.Send(snap); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case <-kill:
			return status.Error(codes.Unavailable, "watch broken by test")
		case ev := <-ch:
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}

// update changes the range map and tells the watchers.
func (m *fakeMeta) update(upserts []*api.RangeDescriptor, deleted ...uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range upserts {
		m.ranges[d.RangeId] = d
	}
	for _, id := range deleted {
		delete(m.ranges, id)
	}
	for ch := range m.watchers {
		ch <- &api.RangeEvent{Upserts: upserts, Deleted: deleted}
	}
}

// breakWatches fails every open watch stream.
func (m *fakeMeta) breakWatches() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch, kill := range m.watchers {
		close(kill)
		delete(m.watchers, ch)
	}
}

// serve starts a gRPC server on a loopback port and returns its address.
func serve(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	register(gs)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testNode is a started shard server reachable over gRPC.
type testNode struct {
	srv    *Server
	client api.ShardClient
}

func startMeta(t *testing.T, m *fakeMeta) api.MetaClient {
	addr := serve(t, func(gs *grpc.Server) { api.RegisterMetaServer(gs, m) })
	return api.NewMetaClient(dial(t, addr))
}

// startNode opens and starts a shard server (on disk when dir != "") and
// serves it on a loopback port.
func startNode(t *testing.T, meta api.MetaClient, dir string) *testNode {
	t.Helper()
	return startNodeCfg(t, meta, dir, nil)
}

// startNodeCfg is startNode with a hook to adjust the server's Config.
func startNodeCfg(t *testing.T, meta api.MetaClient, dir string, adjust func(*Config)) *testNode {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := Config{Dir: dir, InMemory: dir == "", Meta: meta, Addr: lis.Addr().String(), Logger: testLogger(t)}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	api.RegisterShardServer(gs, srv)
	go gs.Serve(lis)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			gs.Stop()
			if err := srv.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return &testNode{srv: srv, client: api.NewShardClient(dial(t, lis.Addr().String()))}
}

func rc(id, gen uint64) *api.RangeContext { return &api.RangeContext{RangeId: id, Generation: gen} }

func desc(id uint64, start, end string, gen, shard uint64) *api.RangeDescriptor {
	d := &api.RangeDescriptor{RangeId: id, Generation: gen, Shard: shard}
	if start != "" {
		d.StartKey = []byte(start)
	}
	if end != "" {
		d.EndKey = []byte(end)
	}
	return d
}

func wantRangeErr(t *testing.T, what string, got *api.RangeError, kind api.RangeError_Kind, wantCurrent bool) {
	t.Helper()
	if got.GetKind() != kind {
		t.Fatalf("%s: range error %v, want %v", what, got, kind)
	}
	if (got.GetCurrent() != nil) != wantCurrent {
		t.Fatalf("%s: current descriptor %v, want present=%v", what, got.GetCurrent(), wantCurrent)
	}
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// put writes key=value through prewrite + commit on range ctx.
func put(t *testing.T, c api.ShardClient, m *fakeMeta, ctx *api.RangeContext, key, value string) uint64 {
	t.Helper()
	bg := context.Background()
	start := m.now()
	pw, err := c.Prewrite(bg, &api.PrewriteRequest{Ctx: ctx, StartTs: start, Primary: []byte(key), LockTtlMs: 3000,
		Mutations: []*api.Mutation{{Op: api.Mutation_PUT, Key: []byte(key), Value: []byte(value)}}})
	if err != nil || pw.RangeError != nil || len(pw.Errors) > 0 {
		t.Fatalf("prewrite %s: %v %v", key, pw, err)
	}
	commitTS := m.now()
	cm, err := c.Commit(bg, &api.CommitRequest{Ctx: ctx, Keys: [][]byte{[]byte(key)}, StartTs: start, CommitTs: commitTS})
	if err != nil || cm.RangeError != nil || cm.Error != nil {
		t.Fatalf("commit %s: %v %v", key, cm, err)
	}
	return commitTS
}

func TestServiceRangeErrors(t *testing.T) {
	m := newFakeMeta(desc(1, "a", "m", 2, 1), desc(2, "m", "", 1, 7))
	meta := startMeta(t, m)
	n := startNode(t, meta, "")
	if n.srv.NodeID() != 1 {
		t.Fatalf("node id %d, want 1", n.srv.NodeID())
	}
	c, bg := n.client, context.Background()
	get := func(ctx *api.RangeContext, key string) *api.GetResponse {
		t.Helper()
		r, err := c.Get(bg, &api.GetRequest{Ctx: ctx, Key: []byte(key), Ts: m.now()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wantRangeErr(t, "range held by another shard", get(rc(2, 1), "n").RangeError, api.RangeError_NOT_FOUND, false)
	wantRangeErr(t, "unknown range", get(rc(99, 1), "b").RangeError, api.RangeError_NOT_FOUND, false)
	wantRangeErr(t, "no context", get(nil, "b").RangeError, api.RangeError_NOT_FOUND, false)
	r := get(rc(1, 1), "b")
	wantRangeErr(t, "old generation", r.RangeError, api.RangeError_STALE_GENERATION, true)
	if r.RangeError.Current.Generation != 2 || string(r.RangeError.Current.EndKey) != "m" {
		t.Fatalf("current = %v", r.RangeError.Current)
	}
	wantRangeErr(t, "future generation", get(rc(1, 3), "b").RangeError, api.RangeError_NOT_READY, true)
	wantRangeErr(t, "key above", get(rc(1, 2), "m").RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)
	wantRangeErr(t, "key below", get(rc(1, 2), "0").RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)

	pw, err := c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(1, 2), StartTs: m.now(), Primary: []byte("b"),
		Mutations: []*api.Mutation{{Key: []byte("b")}, {Key: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "prewrite key outside", pw.RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)

	sc, err := c.Scan(bg, &api.ScanRequest{Ctx: rc(1, 2), StartKey: []byte("b"), EndKey: []byte("z"), Ts: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "scan end outside", sc.RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)

	// Writes and reads inside the range.
	put(t, c, m, rc(1, 2), "b", "1")
	put(t, c, m, rc(1, 2), "c", "2")
	if r := get(rc(1, 2), "b"); r.RangeError != nil || r.Error != nil || !r.Found || string(r.Value) != "1" {
		t.Fatalf("get b = %v", r)
	}
	sc, err = c.Scan(bg, &api.ScanRequest{Ctx: rc(1, 2), Ts: m.now(), Limit: 1})
	if err != nil || sc.RangeError != nil || len(sc.Pairs) != 1 || string(sc.Pairs[0].Key) != "b" || string(sc.ResumeKey) != "c" {
		t.Fatalf("scan = %v, %v", sc, err)
	}
	bg2, err := c.BatchGet(bg, &api.BatchGetRequest{Ctx: rc(1, 2), Keys: [][]byte{[]byte("c"), []byte("z")}, Ts: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "batch get outside", bg2.RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)

	// Malformed requests are gRPC errors.
	if _, err := c.Commit(bg, &api.CommitRequest{Ctx: rc(1, 2), Keys: [][]byte{[]byte("b")}, StartTs: 10, CommitTs: 5}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("commit below start: %v", err)
	}

	// OnePC honours the range's min_write_ts, and installing the range
	// raised max_read_ts to it.
	floor := m.now() + 1<<30
	m.update([]*api.RangeDescriptor{{RangeId: 1, StartKey: []byte("a"), EndKey: []byte("m"), Generation: 2, Shard: 1, MinWriteTs: floor}})
	waitFor(t, "min_write_ts", func() bool { return n.srv.Ranges()[0].MinWriteTs == floor })
	if got := n.srv.Store().MaxReadTS(); got < floor {
		t.Fatalf("max_read_ts %d below installed min_write_ts %d", got, floor)
	}
	op, err := c.OnePC(bg, &api.OnePCRequest{Ctx: rc(1, 2), StartTs: m.now(),
		Mutations: []*api.Mutation{{Key: []byte("d"), Value: []byte("4")}}})
	if err != nil || op.RangeError != nil || len(op.Errors) > 0 || op.CommitTs < floor {
		t.Fatalf("onepc = %v, %v (floor %d)", op, err, floor)
	}

	// Heartbeats flow.
	waitFor(t, "heartbeats", func() bool { return m.heartbeats.Load() > 0 })

	// A range moved to another shard, or deleted, is no longer served.
	m.update([]*api.RangeDescriptor{desc(1, "a", "m", 3, 7)})
	waitFor(t, "range moved away", func() bool { return len(n.srv.Ranges()) == 0 })
	wantRangeErr(t, "moved range", get(rc(1, 3), "b").RangeError, api.RangeError_NOT_FOUND, false)
	m.update([]*api.RangeDescriptor{desc(1, "a", "m", 4, 1)})
	waitFor(t, "range back", func() bool { return len(n.srv.Ranges()) == 1 })
	if r := get(rc(1, 4), "c"); !r.Found || string(r.Value) != "2" {
		t.Fatalf("get c after move back = %v", r)
	}
	m.update(nil, 1)
	waitFor(t, "range deleted", func() bool { return len(n.srv.Ranges()) == 0 })
}

func TestPrepareSplit(t *testing.T) {
	m := newFakeMeta(desc(1, "", "", 1, 1))
	meta := startMeta(t, m)
	n := startNode(t, meta, "")
	c, bg := n.client, context.Background()

	put(t, c, m, rc(1, 1), "k", "v")

	split := func(ctx *api.RangeContext, key string, fenceMs uint64) *api.PrepareSplitResponse {
		t.Helper()
		r, err := c.PrepareSplit(bg, &api.PrepareSplitRequest{Ctx: ctx, SplitKey: []byte(key), FenceMs: fenceMs})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wantRangeErr(t, "split stale", split(rc(1, 0), "c", 0).RangeError, api.RangeError_STALE_GENERATION, true)
	wantRangeErr(t, "split at start", split(rc(1, 1), "", 0).RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)

	readTS := m.now()
	if r, err := c.Get(bg, &api.GetRequest{Ctx: rc(1, 1), Key: []byte("a"), Ts: readTS}); err != nil || r.RangeError != nil {
		t.Fatalf("get: %v %v", r, err)
	}
	r := split(rc(1, 1), "c", 0)
	if r.RangeError != nil || r.RightEmpty || r.MaxReadTs < readTS {
		t.Fatalf("split at c = %v (read at %d)", r, readTS)
	}

	// [c, +inf) is fenced for reads and writes; ["", c) is not.
	g, err := c.Get(bg, &api.GetRequest{Ctx: rc(1, 1), Key: []byte("k"), Ts: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "fenced get", g.RangeError, api.RangeError_NOT_READY, true)
	pw, err := c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(1, 1), StartTs: m.now(), Primary: []byte("d"),
		Mutations: []*api.Mutation{{Key: []byte("d"), Value: []byte("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "fenced prewrite", pw.RangeError, api.RangeError_NOT_READY, true)
	sc, err := c.Scan(bg, &api.ScanRequest{Ctx: rc(1, 1), Ts: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "fenced scan", sc.RangeError, api.RangeError_NOT_READY, true)
	if sc, err := c.Scan(bg, &api.ScanRequest{Ctx: rc(1, 1), EndKey: []byte("c"), Ts: m.now()}); err != nil || sc.RangeError != nil {
		t.Fatalf("scan left of fence: %v %v", sc, err)
	}
	put(t, c, m, rc(1, 1), "b", "1")

	// The split commits: left keeps id 1 with a new generation, right is new.
	m.update([]*api.RangeDescriptor{desc(1, "", "c", 2, 1), desc(3, "c", "", 1, 1)})
	waitFor(t, "split applied", func() bool { return len(n.srv.Ranges()) == 2 })
	g, err = c.Get(bg, &api.GetRequest{Ctx: rc(3, 1), Key: []byte("k"), Ts: m.now()})
	if err != nil || g.RangeError != nil || string(g.Value) != "v" {
		t.Fatalf("get k on right half: %v %v", g, err)
	}
	g, err = c.Get(bg, &api.GetRequest{Ctx: rc(1, 1), Key: []byte("b"), Ts: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "old generation after split", g.RangeError, api.RangeError_STALE_GENERATION, true)

	// An empty right half, and a fence that expires on its own.
	r = split(rc(3, 1), "x", 50)
	if r.RangeError != nil || !r.RightEmpty {
		t.Fatalf("split at x = %v", r)
	}
	g, err = c.Get(bg, &api.GetRequest{Ctx: rc(3, 1), Key: []byte("y"), Ts: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "fenced get", g.RangeError, api.RangeError_NOT_READY, true)
	time.Sleep(80 * time.Millisecond)
	g, err = c.Get(bg, &api.GetRequest{Ctx: rc(3, 1), Key: []byte("y"), Ts: m.now()})
	if err != nil || g.RangeError != nil || g.Found {
		t.Fatalf("get after fence expiry: %v %v", g, err)
	}
	// A lock alone makes a half non-empty.
	pw, err = c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(3, 1), StartTs: m.now(), Primary: []byte("y"),
		Mutations: []*api.Mutation{{Op: api.Mutation_LOCK, Key: []byte("y")}}})
	if err != nil || pw.RangeError != nil || len(pw.Errors) > 0 {
		t.Fatalf("lock y: %v %v", pw, err)
	}
	if r := split(rc(3, 1), "x", 50); r.RangeError != nil || r.RightEmpty {
		t.Fatalf("split at x with a lock = %v", r)
	}
}

func TestWatchReconnect(t *testing.T) {
	m := newFakeMeta(desc(1, "", "m", 1, 1))
	meta := startMeta(t, m)
	n := startNode(t, meta, "")
	m.breakWatches()
	// The change happens while no watch is open; the server's new watch
	// delivers it in its snapshot, which also drops range 1.
	m.mu.Lock()
	delete(m.ranges, 1)
	m.ranges[2] = desc(2, "m", "", 1, 1)
	m.mu.Unlock()
	waitFor(t, "resnapshot", func() bool {
		rs := n.srv.Ranges()
		return len(rs) == 1 && rs[0].RangeId == 2
	})
}

func TestDurability(t *testing.T) {
	dir := t.TempDir()
	m := newFakeMeta(desc(1, "", "", 1, 1))
	meta := startMeta(t, m)

	n := startNode(t, meta, dir)
	put(t, n.client, m, rc(1, 1), "k", "durable")
	// A lock survives too.
	pw, err := n.client.Prewrite(context.Background(), &api.PrewriteRequest{Ctx: rc(1, 1), StartTs: m.now(), Primary: []byte("l"),
		Mutations: []*api.Mutation{{Key: []byte("l"), Value: []byte("x")}}})
	if err != nil || pw.RangeError != nil || len(pw.Errors) > 0 {
		t.Fatalf("prewrite: %v %v", pw, err)
	}
	if err := n.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.client.Get(context.Background(), &api.GetRequest{Ctx: rc(1, 1), Key: []byte("k"), Ts: m.now()}); status.Code(err) != codes.Unavailable {
		t.Fatalf("get after close: %v", err)
	}

	beforeReopen := m.now()
	n2 := startNode(t, meta, dir)
	if n2.srv.NodeID() != 1 {
		t.Fatalf("node id after restart %d, want 1", n2.srv.NodeID())
	}
	m.mu.Lock()
	reg := append([]uint64(nil), m.registered...)
	m.mu.Unlock()
	if len(reg) != 2 || reg[0] != 0 || reg[1] != 1 {
		t.Fatalf("register requests %v, want [0 1]", reg)
	}
	if got := n2.srv.Store().MaxReadTS(); got <= beforeReopen {
		t.Fatalf("max_read_ts after restart %d, want above %d", got, beforeReopen)
	}
	g, err := n2.client.Get(context.Background(), &api.GetRequest{Ctx: rc(1, 1), Key: []byte("k"), Ts: m.now()})
	if err != nil || g.RangeError != nil || g.Error != nil || string(g.Value) != "durable" {
		t.Fatalf("get after restart: %v %v", g, err)
	}
	g, err = n2.client.Get(context.Background(), &api.GetRequest{Ctx: rc(1, 1), Key: []byte("l"), Ts: m.now()})
	if err != nil || g.Error.GetLocked() == nil {
		t.Fatalf("lock after restart: %v %v", g, err)
	}
}

func TestServicePessimistic(t *testing.T) {
	m := newFakeMeta(desc(1, "a", "m", 2, 1), desc(2, "m", "", 1, 7))
	meta := startMeta(t, m)
	n := startNode(t, meta, "")
	c, bg := n.client, context.Background()
	acquire := func(ctx *api.RangeContext, start, forUpdate uint64, keys ...string) *api.AcquireLocksResponse {
		t.Helper()
		req := &api.AcquireLocksRequest{Ctx: ctx, Primary: []byte("b"), StartTs: start, ForUpdateTs: forUpdate, LockTtlMs: 3000}
		for _, k := range keys {
			req.Keys = append(req.Keys, []byte(k))
		}
		r, err := c.AcquireLocks(bg, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	start := m.now()
	wantRangeErr(t, "acquire on another shard's range", acquire(rc(2, 1), start, start, "n").RangeError, api.RangeError_NOT_FOUND, false)
	wantRangeErr(t, "acquire unknown range", acquire(rc(99, 1), start, start, "b").RangeError, api.RangeError_NOT_FOUND, false)
	wantRangeErr(t, "acquire without context", acquire(nil, start, start, "b").RangeError, api.RangeError_NOT_FOUND, false)
	wantRangeErr(t, "acquire old generation", acquire(rc(1, 1), start, start, "b").RangeError, api.RangeError_STALE_GENERATION, true)
	wantRangeErr(t, "acquire future generation", acquire(rc(1, 3), start, start, "b").RangeError, api.RangeError_NOT_READY, true)
	wantRangeErr(t, "acquire key outside", acquire(rc(1, 2), start, start, "b", "x").RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)
	if _, err := c.AcquireLocks(bg, &api.AcquireLocksRequest{Ctx: rc(1, 2), Keys: [][]byte{[]byte("b")}, Primary: []byte("b"), StartTs: 10, ForUpdateTs: 5}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("for_update_ts below start_ts: %v", err)
	}
	// The failed requests took no lock: another transaction can write b.
	put(t, c, m, rc(1, 2), "b", "1")

	// A lock, then a heartbeat, a writer that waits, a reader that does not.
	start = m.now()
	if r := acquire(rc(1, 2), start, m.now(), "b", "c"); r.RangeError != nil || len(r.Errors) > 0 {
		t.Fatalf("acquire = %v", r)
	}
	hb, err := c.TxnHeartbeat(bg, &api.TxnHeartbeatRequest{Ctx: rc(1, 2), Primary: []byte("b"), StartTs: start, TtlMs: 9000})
	if err != nil || hb.RangeError != nil || hb.Error != nil || hb.LockTtlMs != 9000 {
		t.Fatalf("heartbeat = %v, %v", hb, err)
	}
	hb, err = c.TxnHeartbeat(bg, &api.TxnHeartbeatRequest{Ctx: rc(1, 2), Primary: []byte("x"), StartTs: start, TtlMs: 9000})
	if err != nil {
		t.Fatal(err)
	}
	wantRangeErr(t, "heartbeat key outside", hb.RangeError, api.RangeError_KEY_OUT_OF_RANGE, true)
	other := m.now()
	pw, err := c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(1, 2), StartTs: other, Primary: []byte("c"),
		Mutations: []*api.Mutation{{Key: []byte("c"), Value: []byte("2")}}})
	if err != nil || len(pw.Errors) != 1 || pw.Errors[0].GetLocked().GetOp() != api.Mutation_LOCK {
		t.Fatalf("prewrite over a pessimistic lock = %v, %v", pw, err)
	}
	if g, err := c.Get(bg, &api.GetRequest{Ctx: rc(1, 2), Key: []byte("b"), Ts: m.now()}); err != nil || g.Error != nil || string(g.Value) != "1" {
		t.Fatalf("get under a pessimistic lock = %v, %v", g, err)
	}

	// Releasing the pessimistic lock on c lets the other writer in.
	rb, err := c.Rollback(bg, &api.RollbackRequest{Ctx: rc(1, 2), Keys: [][]byte{[]byte("c")}, StartTs: start, PessimisticOnly: true})
	if err != nil || rb.RangeError != nil || rb.Error != nil {
		t.Fatalf("pessimistic rollback = %v, %v", rb, err)
	}
	pw, err = c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(1, 2), StartTs: other, Primary: []byte("c"),
		Mutations: []*api.Mutation{{Key: []byte("c"), Value: []byte("2")}}})
	if err != nil || pw.RangeError != nil || len(pw.Errors) > 0 {
		t.Fatalf("prewrite after release = %v, %v", pw, err)
	}

	// The holder writes b and commits.
	pw, err = c.Prewrite(bg, &api.PrewriteRequest{Ctx: rc(1, 2), StartTs: start, Primary: []byte("b"), LockTtlMs: 3000,
		Mutations: []*api.Mutation{{Key: []byte("b"), Value: []byte("3")}}})
	if err != nil || pw.RangeError != nil || len(pw.Errors) > 0 {
		t.Fatalf("prewrite over own lock = %v, %v", pw, err)
	}
	cm, err := c.Commit(bg, &api.CommitRequest{Ctx: rc(1, 2), Keys: [][]byte{[]byte("b")}, StartTs: start, CommitTs: m.now()})
	if err != nil || cm.RangeError != nil || cm.Error != nil {
		t.Fatalf("commit = %v, %v", cm, err)
	}
	if g, err := c.Get(bg, &api.GetRequest{Ctx: rc(1, 2), Key: []byte("b"), Ts: m.now()}); err != nil || g.Error != nil || string(g.Value) != "3" {
		t.Fatalf("get after commit = %v, %v", g, err)
	}
	hb, err = c.TxnHeartbeat(bg, &api.TxnHeartbeatRequest{Ctx: rc(1, 2), Primary: []byte("b"), StartTs: other, TtlMs: 9000})
	if err != nil || hb.Error.GetAborted() == "" {
		t.Fatalf("heartbeat without a lock = %v, %v", hb, err)
	}

	// A span fenced by a split in progress refuses locks.
	if r, err := c.PrepareSplit(bg, &api.PrepareSplitRequest{Ctx: rc(1, 2), SplitKey: []byte("k"), FenceMs: 5000}); err != nil || r.RangeError != nil {
		t.Fatalf("prepare split = %v, %v", r, err)
	}
	start = m.now()
	wantRangeErr(t, "acquire fenced", acquire(rc(1, 2), start, start, "l").RangeError, api.RangeError_NOT_READY, true)
	if r := acquire(rc(1, 2), start, start, "d"); r.RangeError != nil || len(r.Errors) > 0 {
		t.Fatalf("acquire left of the fence = %v", r)
	}
}
