package shardmeta

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shardsql/shardsql/api"
)

// DefaultGCTTL is how far the GC safe point trails the current time when
// Config.GCTTL is zero.
const DefaultGCTTL = 10 * time.Minute

// safePoints keeps what GetSafePoint needs in memory: the oldest active
// transaction each SQL frontend reported in its latest heartbeat, and the
// highest safe point handed out. None of it is persisted: after a restart
// the service hands out no safe point until every live frontend had a
// heartbeat interval to report again.
type safePoints struct {
	mu sync.Mutex
	// reports holds the latest nonzero oldest_active_ts of each SQL node.
	reports map[uint64]uint64
	// max is the highest safe point returned; it never goes down.
	max uint64
	// readyAt is when safe points may be handed out (start + one
	// heartbeat interval).
	readyAt time.Time
}

func (p *safePoints) init(now time.Time) {
	p.reports = make(map[uint64]uint64)
	p.readyAt = now.Add(HeartbeatIntervalMs * time.Millisecond)
}

// report records the oldest active transaction of a SQL node (0: none).
func (p *safePoints) report(id, oldest uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if oldest == 0 {
		delete(p.reports, id)
	} else {
		p.reports[id] = oldest
	}
}

// current returns a copy of the current reports.
func (p *safePoints) current() map[uint64]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[uint64]uint64, len(p.reports))
	for id, ts := range p.reports {
		out[id] = ts
	}
	return out
}

// forget drops the reports of nodes (dead ones: their reports stop
// counting, and a heartbeat that makes them live again reports afresh),
// unless a newer report arrived since current: only the value seen is
// dropped.
func (p *safePoints) forget(seen map[uint64]uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, ts := range seen {
		if p.reports[id] == ts {
			delete(p.reports, id)
		}
	}
}

// advance raises the highest safe point to candidate (when higher) and
// returns it.
func (p *safePoints) advance(candidate uint64) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max = max(p.max, candidate)
	return p.max
}

func (p *safePoints) ready(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !now.Before(p.readyAt)
}

// GetSafePoint returns the GC safe point: the current TSO time minus the
// GC TTL (logical 0), held back by the oldest active transaction any live
// SQL frontend reported in its latest heartbeat, and never lower than a safe
// point returned before. It returns 0 (no safe point) during the first
// heartbeat interval after the service starts, while the frontends' reports
// are not all in yet.
func (s *Server) GetSafePoint(ctx context.Context, _ *api.GetSafePointRequest) (*api.GetSafePointResponse, error) {
	if !s.safePoints.ready(time.Now()) {
		return &api.GetSafePointResponse{}, nil
	}
	now, err := s.tso.next(ctx, 1)
	if err != nil {
		return nil, rpcErr(fmt.Errorf("get safe point: %w", err))
	}
	phys, _ := SplitTimestamp(now)
	ttl := uint64(s.cfg.GCTTL.Milliseconds())
	var candidate uint64
	if phys > ttl {
		candidate = ComposeTimestamp(phys-ttl, 0)
	}
	if reports := s.safePoints.current(); len(reports) > 0 {
		nodes, err := s.listNodes(ctx)
		if err != nil {
			return nil, rpcErr(fmt.Errorf("get safe point: %w", err))
		}
		dead := make(map[uint64]uint64)
		for id, ts := range reports {
			dead[id] = ts
		}
		for _, n := range nodes {
			ts, ok := reports[n.Id]
			if !ok || !n.Live {
				continue
			}
			delete(dead, n.Id)
			candidate = min(candidate, ts)
		}
		s.safePoints.forget(dead)
	}
	return &api.GetSafePointResponse{SafePoint: s.safePoints.advance(candidate)}, nil
}
