package shardmeta

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/shardsql/shardsql/api"
)

func TestGetSafePoint(t *testing.T) {
	const ttl = 200 * time.Millisecond
	dir := t.TempDir()
	env, stop := startEnvManual(t, Config{Dir: dir, GCTTL: ttl})
	defer stop()
	ctx := testContext(t)
	cl := env.cl

	safePoint := func() uint64 {
		t.Helper()
		r, err := cl.GetSafePoint(ctx, &api.GetSafePointRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r.SafePoint
	}
	now := func() uint64 {
		t.Helper()
		r, err := cl.GetTimestamp(ctx, &api.GetTimestampRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Timestamp
	}
	register := func(role string, id uint64) uint64 {
		t.Helper()
		r, err := cl.RegisterNode(ctx, &api.RegisterNodeRequest{Id: id, Addr: "127.0.0.1:1", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return r.Id
	}
	heartbeat := func(id, oldest uint64) {
		t.Helper()
		if _, err := cl.Heartbeat(ctx, &api.HeartbeatRequest{Id: id, OldestActiveTs: oldest}); err != nil {
			t.Fatal(err)
		}
	}
	wantSP := func(what string, want uint64) {
		t.Helper()
		if got := safePoint(); got != want {
			t.Fatalf("%s: safe point %d, want %d", what, got, want)
		}
	}
	ttlMs := uint64(ttl.Milliseconds())

	// Right after the start: no safe point until the frontends had a
	// heartbeat interval to report.
	wantSP("just started", 0)
	env.srv.safePoints.mu.Lock()
	env.srv.safePoints.readyAt = time.Now()
	env.srv.safePoints.mu.Unlock()

	// No frontend: the TSO time minus the TTL, logical 0.
	before := now()
	sp := safePoint()
	after := now()
	phys, logical := SplitTimestamp(sp)
	if b, _ := SplitTimestamp(before); logical != 0 || phys < b-ttlMs {
		t.Fatalf("safe point %d (%d ms + %d) below %d ms - ttl", sp, phys, logical, b)
	}
	if a, _ := SplitTimestamp(after); phys > a-ttlMs {
		t.Fatalf("safe point %d ms above %d ms - ttl", phys, a)
	}

	// A frontend's open transaction holds the safe point back, however
	// old it gets.
	sqlA := register(RoleSQL, 0)
	hold := now()
	heartbeat(sqlA, hold)
	time.Sleep(ttl + 100*time.Millisecond)
	wantSP("held by frontend A", hold)

	// A shard server's report (its oldest unresolved lock) counts too: the
	// safe point holds at what it already handed out until the lock goes.
	shardN := register(RoleShard, 0)
	heartbeat(shardN, hold-1000)
	wantSP("held by a shard's lock", hold)
	heartbeat(shardN, 0)

	// A report below a safe point already handed out does not lower it.
	sqlB := register(RoleSQL, 0)
	heartbeat(sqlB, hold-5)
	wantSP("lower report of B", hold)
	heartbeat(sqlA, 0)
	wantSP("held by B only", hold)
	heartbeat(sqlB, 0)
	if got := safePoint(); got <= hold {
		t.Fatalf("safe point %d did not advance past %d once nothing was open", got, hold)
	}

	// A dead frontend's report stops counting.
	sqlC := register(RoleSQL, 0)
	hold = now()
	heartbeat(sqlC, hold)
	time.Sleep(ttl + 100*time.Millisecond)
	wantSP("held by frontend C", hold)
	got, err := env.srv.cli.Get(ctx, livenessKey(sqlC))
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("liveness of C: %v %+v", err, got)
	}
	if _, err := env.srv.cli.Revoke(ctx, clientv3.LeaseID(got.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	if sp = safePoint(); sp <= hold {
		t.Fatalf("safe point %d still held by dead frontend C at %d", sp, hold)
	}
	// Live again, with its transaction gone: nothing held.
	heartbeat(sqlC, 0)

	// A frontend that registers again (a restart) has no open transaction.
	hold = now()
	heartbeat(sqlA, hold)
	time.Sleep(ttl + 100*time.Millisecond)
	wantSP("held by frontend A again", hold)
	register(RoleSQL, sqlA)
	if sp = safePoint(); sp <= hold {
		t.Fatalf("safe point %d still held by re-registered frontend A at %d", sp, hold)
	}

	// After a restart: 0 for one heartbeat interval, then above the last
	// safe point handed out.
	stop()
	restarted := time.Now()
	env2 := startEnv(t, Config{Dir: dir, GCTTL: ttl})
	var sp2 uint64
	for {
		r, err := env2.cl.GetSafePoint(ctx, &api.GetSafePointRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if sp2 = r.SafePoint; sp2 != 0 {
			break
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatal("no safe point 10 s after a restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if wait := time.Since(restarted); wait < HeartbeatIntervalMs*time.Millisecond {
		t.Fatalf("safe point %d handed out %v after a restart", sp2, wait)
	}
	if sp2 <= sp {
		t.Fatalf("safe point after restart %d, not above %d", sp2, sp)
	}
}
