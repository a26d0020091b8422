package shardmeta

import (
	"context"
	"sync"
	"time"

	"github.com/shardsql/shardsql/api"
)

// waitEdgeTTL is how long a recorded wait lasts unless the waiter renews it
// (waiters renew on every retry, well within this).
const waitEdgeTTL = 5 * time.Second

// waitGraph is the cluster-wide wait-for graph of transactions: every
// frontend reports the lock waits of its transactions here, so cycles that
// span shards and frontends are seen. It lives in memory on the metadata
// leader; after a restart waiters simply report again.
type waitGraph struct {
	mu    sync.Mutex
	edges map[uint64]waitEdge // waiter -> the transaction it waits for
	now   func() time.Time
}

type waitEdge struct {
	holder  uint64
	expires time.Time
}

func newWaitGraph() *waitGraph {
	return &waitGraph{edges: map[uint64]waitEdge{}, now: time.Now}
}

// wait records waiter -> holder and returns the cycle it closes, if any
// (then the waiter's edge is removed: it is the victim).
func (g *waitGraph) wait(waiter, holder uint64) []uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if holder == 0 {
		delete(g.edges, waiter)
		return nil
	}
	g.edges[waiter] = waitEdge{holder: holder, expires: now.Add(waitEdgeTTL)}
	cycle := []uint64{waiter}
	for cur, steps := holder, 0; steps <= len(g.edges); steps++ {
		if cur == waiter {
			delete(g.edges, waiter)
			return cycle
		}
		cycle = append(cycle, cur)
		e, ok := g.edges[cur]
		if !ok || now.After(e.expires) {
			if ok {
				delete(g.edges, cur)
			}
			return nil
		}
		cur = e.holder
	}
	return nil
}

// DetectDeadlock implements api.MetaServer.
func (s *Server) DetectDeadlock(_ context.Context, req *api.DetectDeadlockRequest) (*api.DetectDeadlockResponse, error) {
	cycle := s.waits.wait(req.GetWaiterTs(), req.GetHolderTs())
	if cycle == nil {
		return &api.DetectDeadlockResponse{}, nil
	}
	s.log.Info("deadlock detected", "victim", req.GetWaiterTs(), "cycle", cycle)
	return &api.DetectDeadlockResponse{Deadlock: true, Cycle: cycle}, nil
}
