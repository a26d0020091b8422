package sqlfront

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
)

// defaultHeartbeat is the heartbeat interval when the metadata service
// names none; minHeartbeatGap spaces early heartbeats (at most one per gap),
// so a busy frontend does not send one per transaction.
const (
	defaultHeartbeat = 2 * time.Second
	minHeartbeatGap  = 200 * time.Millisecond
)

// Start registers the frontend with the metadata service as a node of role
// "sql" at addr (the address clients connect to) and heartbeats until
// Close. Each heartbeat reports the start timestamp of the oldest open
// explicit transaction of the frontend's sessions, so the GC safe point
// never passes a snapshot one of them may still read.
func (s *Server) Start(ctx context.Context, addr string) error {
	interval, err := s.register(ctx, addr)
	if err != nil {
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.heartbeatLoop(addr, interval)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.reportSeenLoop(interval)
	}()
	return nil
}

// register registers (again) with the metadata service, retrying while it
// is unavailable until ctx ends.
func (s *Server) register(ctx context.Context, addr string) (time.Duration, error) {
	var (
		resp *api.RegisterNodeResponse
		err  error
	)
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		resp, err = s.meta.RegisterNode(ctx, &api.RegisterNodeRequest{Id: s.nodeID.Load(), Addr: addr, Role: "sql"})
		if status.Code(err) != codes.Unavailable {
			break
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("sqlfront: register with the metadata service: %w", err)
		case <-time.After(backoff):
		}
	}
	if err != nil {
		return 0, fmt.Errorf("sqlfront: register with the metadata service: %w", err)
	}
	s.nodeID.Store(resp.GetId())
	interval := time.Duration(resp.GetHeartbeatIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = defaultHeartbeat
	}
	s.logger.Info("sql frontend registered", "node_id", resp.GetId(), "addr", addr)
	return interval, nil
}

// heartbeatLoop heartbeats every interval, and early (at most once per
// minHeartbeatGap) when the oldest open transaction changes, until the
// server closes.
func (s *Server) heartbeatLoop(addr string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.heartbeatNow:
			if wait := time.Until(last.Add(minHeartbeatGap)); wait > 0 {
				select {
				case <-s.ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		last = time.Now()
		ctx, cancel := context.WithTimeout(s.ctx, interval)
		err := s.heartbeat(ctx)
		if status.Code(err) == codes.NotFound {
			// The registry lost this node: register again and report.
			if _, err = s.register(ctx, addr); err == nil {
				err = s.heartbeat(ctx)
			}
		}
		cancel()
		if err != nil && s.ctx.Err() == nil {
			s.logger.Warn("heartbeat to the metadata service failed", "err", err)
		}
	}
}

func (s *Server) heartbeat(ctx context.Context) error {
	_, err := s.meta.Heartbeat(ctx, &api.HeartbeatRequest{Id: s.nodeID.Load(), OldestActiveTs: s.oldestActiveTxn()})
	return err
}

// trackTxn records that session pid opened an explicit transaction at
// startTS. When it is the oldest open one, a heartbeat goes early: the safe
// point must not pass startTS, which the metadata service learns from the
// next heartbeat (it trails the current time by the GC TTL meanwhile).
func (s *Server) trackTxn(pid uint32, startTS uint64) {
	s.txMu.Lock()
	oldest := s.oldestLocked()
	s.openTxns[pid] = startTS
	s.txMu.Unlock()
	if oldest == 0 || startTS < oldest {
		s.heartbeatSoon()
	}
}

// untrackTxn records that session pid's explicit transaction ended. When it
// was the oldest open one, a heartbeat goes early so GC can move on.
func (s *Server) untrackTxn(pid uint32) {
	s.txMu.Lock()
	startTS, ok := s.openTxns[pid]
	oldest := s.oldestLocked()
	delete(s.openTxns, pid)
	s.txMu.Unlock()
	if ok && startTS == oldest {
		s.heartbeatSoon()
	}
}

func (s *Server) heartbeatSoon() {
	select {
	case s.heartbeatNow <- struct{}{}:
	default:
	}
}

// oldestActiveTxn returns the smallest start timestamp of the open explicit
// transactions, 0 when there is none.
func (s *Server) oldestActiveTxn() uint64 {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	return s.oldestLocked()
}

func (s *Server) oldestLocked() uint64 {
	var oldest uint64
	for _, ts := range s.openTxns {
		if oldest == 0 || ts < oldest {
			oldest = ts
		}
	}
	return oldest
}
