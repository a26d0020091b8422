package shardmeta

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"github.com/shardsql/shardsql/api"
)

func TestNodeRegistry(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	cl := env.cl

	// No shard yet: no range map.
	_, err := cl.LookupRange(ctx, &api.LookupRangeRequest{Key: []byte("k")})
	wantCode(t, err, codes.NotFound)

	sqlNode, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Addr: "127.0.0.1:5432", Role: RoleSQL})
	if err != nil {
		t.Fatal(err)
	}
	if sqlNode.Id != 1 || sqlNode.HeartbeatIntervalMs != HeartbeatIntervalMs {
		t.Fatalf("sql node: %+v", sqlNode)
	}
	// A SQL node does not bootstrap the range map.
	_, err = cl.LookupRange(ctx, &api.LookupRangeRequest{Key: []byte("k")})
	wantCode(t, err, codes.NotFound)

	shard, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Addr: "127.0.0.1:9001", Role: RoleShard})
	if err != nil {
		t.Fatal(err)
	}
	if shard.Id != 2 {
		t.Fatalf("shard node id %d", shard.Id)
	}
	lr, err := cl.LookupRange(ctx, &api.LookupRangeRequest{Key: []byte("anything")})
	if err != nil {
		t.Fatal(err)
	}
	if r := lr.Range; r.RangeId != 1 || len(r.StartKey) != 0 || len(r.EndKey) != 0 || r.Generation != 1 || r.Shard != shard.Id {
		t.Fatalf("bootstrap range %+v", r)
	}

	// Re-register keeps the id and updates the address.
	re, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Id: shard.Id, Addr: "127.0.0.1:9002", Role: RoleShard})
	if err != nil {
		t.Fatal(err)
	}
	if re.Id != shard.Id {
		t.Fatalf("re-register gave id %d, want %d", re.Id, shard.Id)
	}
	// A second shard does not bootstrap again.
	other, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Addr: "127.0.0.1:9003", Role: RoleShard})
	if err != nil {
		t.Fatal(err)
	}
	if other.Id != 3 {
		t.Fatalf("third node id %d", other.Id)
	}
	sr, err := cl.ScanRanges(ctx, &api.ScanRangesRequest{})
	if err != nil || len(sr.Ranges) != 1 {
		t.Fatalf("ranges after second shard: %v %+v", err, sr)
	}

	_, err = cl.RegisterNode(ctx, &api.RegisterNodeRequest{Addr: "x", Role: "frontend"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = cl.RegisterNode(ctx, &api.RegisterNodeRequest{Role: RoleShard})
	wantCode(t, err, codes.InvalidArgument)

	if _, err := cl.Heartbeat(ctx, &api.HeartbeatRequest{Id: shard.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.Heartbeat(ctx, &api.HeartbeatRequest{Id: 99})
	wantCode(t, err, codes.NotFound)

	ln, err := cl.ListNodes(ctx, &api.ListNodesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ln.Nodes) != 3 {
		t.Fatalf("nodes %+v", ln.Nodes)
	}
	for i, n := range ln.Nodes {
		if n.Id != uint64(i+1) || !n.Live {
			t.Fatalf("node %d: %+v", i, n)
		}
	}
	if n := ln.Nodes[1]; n.Addr != "127.0.0.1:9002" || n.Role != RoleShard {
		t.Fatalf("re-registered node %+v", n)
	}

	// The lease goes away (as if it expired): the node is not live until
	// its next heartbeat, which grants a new lease.
	got, err := env.srv.cli.Get(ctx, livenessKey(shard.Id))
	if err != nil || len(got.Kvs) != 1 || got.Kvs[0].Lease == 0 {
		t.Fatalf("liveness key: %v %+v", err, got)
	}
	if _, err := env.srv.cli.Revoke(ctx, clientv3.LeaseID(got.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	ln, err = cl.ListNodes(ctx, &api.ListNodesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ln.Nodes[1].Live {
		t.Fatal("node live after its lease was revoked")
	}
	if _, err := cl.Heartbeat(ctx, &api.HeartbeatRequest{Id: shard.Id}); err != nil {
		t.Fatal(err)
	}
	ln, err = cl.ListNodes(ctx, &api.ListNodesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !ln.Nodes[1].Live {
		t.Fatal("node not live after heartbeat")
	}

	// A restarting node whose id this registry never gave out is adopted,
	// and new ids move past it.
	adopted, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Id: 10, Addr: "127.0.0.1:9010", Role: RoleShard})
	if err != nil || adopted.Id != 10 {
		t.Fatalf("adopt: %v %+v", err, adopted)
	}
	fresh, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Addr: "127.0.0.1:9011", Role: RoleSQL})
	if err != nil || fresh.Id != 11 {
		t.Fatalf("fresh after adopt: %v %+v", err, fresh)
	}
}
