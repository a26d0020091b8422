package txn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/shard"
	"github.com/shardsql/shardsql/shardmeta"
	metaclient "github.com/shardsql/shardsql/shardmeta/client"
)

// The tests in this package run against a real cluster in the test process:
// a shardmeta server on an in-memory etcd and shard servers on in-memory
// Pebble, each behind a real gRPC server on a loopback port, wired like
// cmd/shardsql does it.

// testLogger discards logs unless TXN_TEST_LOG is set (then: stderr, debug).
func testLogger() *slog.Logger {
	if os.Getenv("TXN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// shardHook intercepts the unary RPCs of a shard server: it may delay or
// fail a call, or call handler and change its outcome.
type shardHook func(ctx context.Context, node uint64, method string, req any, handler grpc.UnaryHandler) (any, error)

type testShard struct {
	srv  *shard.Server
	gs   *grpc.Server
	mc   *metaclient.Client
	addr string
	once sync.Once
}

// stopGRPC stops the shard's gRPC server (the server itself keeps running
// and heartbeating, so meta still sees it live: "unreachable", not "gone").
func (s *testShard) stopGRPC() { s.once.Do(s.gs.Stop) }

type testCluster struct {
	ctx    context.Context // lives until the cluster is torn down
	meta   *metaclient.Client
	shards []*testShard

	hook  atomic.Pointer[shardHook]
	mu    sync.Mutex
	calls map[string]int // shard RPC method -> calls served
}

// startCluster starts a metadata service and n shard servers; everything is
// torn down by t.Cleanup.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tc := &testCluster{ctx: ctx, calls: map[string]int{}}
	logger := testLogger()
	var stops []func()
	t.Cleanup(func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		cancel()
	})

	// Metadata service.
	metaSrv, err := shardmeta.Start(ctx, shardmeta.Config{InMemory: true, Logger: logger})
	if err != nil {
		t.Fatalf("starting meta: %v", err)
	}
	mlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		metaSrv.Close()
		t.Fatalf("listen: %v", err)
	}
	mgs := grpc.NewServer()
	api.RegisterMetaServer(mgs, metaSrv)
	go mgs.Serve(mlis)
	stops = append(stops, func() { mgs.Stop(); metaSrv.Close() })

	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	defer dcancel()
	tc.meta, err = metaclient.Dial(dctx, mlis.Addr().String())
	if err != nil {
		t.Fatalf("dialing meta: %v", err)
	}
	stops = append(stops, func() { tc.meta.Close() })

	// Shard servers. Their stops run before meta's (reverse order): stop
	// gRPC, close the server, close its meta client.
	for range n {
		ts := &testShard{}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		ts.addr = lis.Addr().String()
		if ts.mc, err = metaclient.Dial(dctx, mlis.Addr().String()); err != nil {
			lis.Close()
			t.Fatalf("dialing meta: %v", err)
		}
		ts.srv, err = shard.Open(dctx, shard.Config{InMemory: true, Meta: ts.mc, Addr: ts.addr, Logger: logger})
		if err != nil {
			lis.Close()
			ts.mc.Close()
			t.Fatalf("opening shard: %v", err)
		}
		ts.gs = grpc.NewServer(grpc.UnaryInterceptor(tc.intercept(ts)))
		api.RegisterShardServer(ts.gs, ts.srv)
		go ts.gs.Serve(lis)
		stops = append(stops, func() { ts.stopGRPC(); ts.srv.Close(); ts.mc.Close() })
		if err := ts.srv.Start(ctx); err != nil {
			t.Fatalf("starting shard: %v", err)
		}
		tc.shards = append(tc.shards, ts)
	}
	return tc
}

func (tc *testCluster) intercept(ts *testShard) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		tc.mu.Lock()
		tc.calls[info.FullMethod]++
		tc.mu.Unlock()
		if h := tc.hook.Load(); h != nil {
			return (*h)(ctx, ts.srv.NodeID(), info.FullMethod, req, handler)
		}
		return handler(ctx, req)
	}
}

// setHook installs h on every shard server until the test ends.
func (tc *testCluster) setHook(t *testing.T, h shardHook) {
	tc.hook.Store(&h)
	t.Cleanup(func() { tc.hook.Store(nil) })
}

// callCount returns how many calls of the Shard method (e.g. "OnePC") the
// shard servers have served.
func (tc *testCluster) callCount(method string) int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.calls["/shardsql.api.Shard/"+method]
}

// shardByNode returns the test shard with the node id.
func (tc *testCluster) shardByNode(t *testing.T, node uint64) *testShard {
	t.Helper()
	for _, s := range tc.shards {
		if s.srv.NodeID() == node {
			return s
		}
	}
	t.Fatalf("no shard server n%d", node)
	return nil
}

// client returns a txn.Client on the cluster, closed at the end of the test.
func (tc *testCluster) client(t *testing.T) *Client {
	c := NewClient(tc.meta, testLogger())
	t.Cleanup(c.Close)
	return c
}

// split splits the range holding key at key and returns the right half.
func (tc *testCluster) split(t *testing.T, key []byte) *api.RangeDescriptor {
	t.Helper()
	ctx, cancel := context.WithTimeout(tc.ctx, 20*time.Second)
	defer cancel()
	resp, err := tc.meta.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: key})
	if err != nil {
		t.Fatalf("splitting at %q: %v", key, err)
	}
	return resp.Right
}

// lookup returns meta's descriptor of the range holding key.
func (tc *testCluster) lookup(t *testing.T, key []byte) *api.RangeDescriptor {
	t.Helper()
	ctx, cancel := context.WithTimeout(tc.ctx, 10*time.Second)
	defer cancel()
	resp, err := tc.meta.LookupRange(ctx, &api.LookupRangeRequest{Key: key})
	if err != nil {
		t.Fatalf("looking up %q: %v", key, err)
	}
	return resp.Range
}

// rawShard returns a direct Shard client to the server holding key's range
// and that range's context: the test talks to it like a coordinator would,
// without txn's routing.
func (tc *testCluster) rawShard(t *testing.T, key []byte) (api.ShardClient, *api.RangeContext) {
	t.Helper()
	d := tc.lookup(t, key)
	ts := tc.shardByNode(t, d.Shard)
	conn, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dialing %s: %v", ts.addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewShardClient(conn), &api.RangeContext{RangeId: d.RangeId, Generation: d.Generation}
}

// splitSpread splits at each key (in order) and checks that the resulting
// ranges holding the keys sit on pairwise different shard servers when
// distinct is set. It returns the descriptors of the ranges holding keys.
func (tc *testCluster) splitSpread(t *testing.T, distinct bool, splits ...[]byte) []*api.RangeDescriptor {
	t.Helper()
	var out []*api.RangeDescriptor
	seen := map[uint64]bool{}
	for _, k := range splits {
		tc.split(t, k)
	}
	for _, k := range splits {
		d := tc.lookup(t, k)
		if distinct && seen[d.Shard] {
			t.Fatalf("range at %q is on n%d like an earlier one; ranges: %v", k, d.Shard, out)
		}
		seen[d.Shard] = true
		out = append(out, d)
	}
	return out
}

// waitOwned waits until every range in ds is installed on its shard
// server, so later requests do not start with NOT_FOUND retries.
func (tc *testCluster) waitOwned(t *testing.T, ds ...*api.RangeDescriptor) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range ds {
		s := tc.shardByNode(t, d.Shard)
		for {
			found := false
			for _, r := range s.srv.Ranges() {
				if r.RangeId == d.RangeId && r.Generation >= d.Generation {
					found = true
				}
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("range r%d not installed on n%d", d.RangeId, d.Shard)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// tk returns a row key of table id with the suffix s.
func tk(table uint32, s string) []byte { return append(keys.RowPrefix(table), s...) }

// testCtx returns a context bounded by d that ends with the test.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// commitKVs commits key/value pairs in one transaction (nil value: delete).
func commitKVs(ctx context.Context, c *Client, kvs map[string][]byte) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	for k, v := range kvs {
		if v == nil {
			tx.Delete([]byte(k))
		} else {
			tx.Put([]byte(k), v)
		}
	}
	return tx.Commit(ctx)
}

// scanAll returns "k=v" pairs of [start, end) at a fresh snapshot of tx.
func scanAll(ctx context.Context, tx *Txn, start, end []byte) ([]string, error) {
	var out []string
	err := tx.Scan(ctx, start, end, false, func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%s=%s", k, v))
		return nil
	})
	return out, err
}
