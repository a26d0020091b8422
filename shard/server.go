package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardsql/shardsql/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Config configures a shard server.
type Config struct {
	// Dir is the Pebble data directory; ignored when InMemory is set.
	Dir string
	// InMemory keeps the store in memory (vfs.NewMem), for tests and demos.
	InMemory bool
	// Meta is the client of the metadata service (TSO, registry, range map).
	Meta api.MetaClient
	// Addr is the address (host:port) other processes dial to reach this
	// server; it is what the server registers.
	Addr string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// GCInterval is how often the server fetches the GC safe point from the
	// metadata service and garbage-collects its ranges; DefaultGCInterval
	// when zero.
	GCInterval time.Duration
}

// DefaultGCInterval is the GC interval when Config.GCInterval is zero.
const DefaultGCInterval = time.Minute

// Backoff bounds for reconnecting to the metadata service.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 3 * time.Second

	defaultHeartbeat = time.Second
)

// Server is a shard server: the store, the owned ranges and the loops that
// keep it registered with the metadata service. It implements
// api.ShardServer; the caller registers it with api.RegisterShardServer.
type Server struct {
	api.UnimplementedShardServer

	cfg    Config
	log    *slog.Logger
	store  *Store
	ranges *rangeTable
	nodeID atomic.Uint64
	// gcApplied is the safe point of the last completed GC pass.
	gcApplied atomic.Uint64

	// life guards the store against Close while handlers run: handlers
	// hold it for reading, Close for writing.
	life   sync.RWMutex
	closed bool

	mu      sync.Mutex // guards started and cancel
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

var _ api.ShardServer = (*Server)(nil)

// Open opens the store, loads the persisted node id (if any) and initializes
// the highest served read timestamp from a fresh TSO timestamp, so reads
// served before a restart stay covered.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Meta == nil {
		return nil, errors.New("shard: open: no metadata client")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "shard")
	store, err := OpenStore(cfg.Dir, cfg.InMemory, log)
	if err != nil {
		return nil, fmt.Errorf("shard: open: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: store, ranges: newRangeTable()}
	id, err := store.loadNodeID()
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("shard: open: %w", err)
	}
	s.nodeID.Store(id)
	resp, err := cfg.Meta.GetTimestamp(ctx, &api.GetTimestampRequest{Count: 1})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("shard: open: timestamp: %w", err)
	}
	store.BumpMaxReadTS(resp.GetTimestamp())
	return s, nil
}

// NodeID returns the node id assigned by the metadata service (0 before the
// first registration).
func (s *Server) NodeID() uint64 { return s.nodeID.Load() }

// Store returns the server's store.
func (s *Server) Store() *Store { return s.store }

// Ranges returns the descriptors of the ranges this server holds, in key
// order.
func (s *Server) Ranges() []*api.RangeDescriptor { return s.ranges.list() }

// Start registers the server with the metadata service (reusing a persisted
// node id), persists the id it gets, applies the first range snapshot and
// then runs the heartbeat and range-watch loops until Close or until ctx is
// done. It returns once registered and the snapshot is applied.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("shard: start: already started")
	}
	s.started = true
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.mu.Unlock()

	interval, err := s.register(runCtx)
	if err != nil {
		return err
	}
	stream, err := s.openWatch(runCtx, true)
	if err != nil {
		return err
	}
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.heartbeatLoop(runCtx, interval)
	}()
	go func() {
		defer s.wg.Done()
		s.watchLoop(runCtx, stream)
	}()
	go func() {
		defer s.wg.Done()
		s.gcLoop(runCtx)
	}()
	return nil
}

// GCSafePoint returns the safe point of the last completed GC pass (0
// before the first): no owned range holds garbage below it.
func (s *Server) GCSafePoint() uint64 { return s.gcApplied.Load() }

// gcLoop runs a GC pass every GC interval until ctx is done.
func (s *Server) gcLoop(ctx context.Context) {
	interval := s.cfg.GCInterval
	if interval <= 0 {
		interval = DefaultGCInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.gcPass(ctx, interval); err != nil && ctx.Err() == nil {
			if status.Code(err) == codes.Unimplemented {
				s.log.Debug("gc: metadata service has no safe point", "err", err)
			} else {
				s.log.Warn("gc pass failed", "err", err)
			}
		}
	}
}

// gcPass fetches the safe point and, when it moved past the last completed
// pass, garbage-collects every owned range at it. A safe point of 0 means
// the metadata service is not ready to give one.
func (s *Server) gcPass(ctx context.Context, timeout time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second))
	resp, err := s.cfg.Meta.GetSafePoint(rctx, &api.GetSafePointRequest{})
	cancel()
	if err != nil {
		return fmt.Errorf("get safe point: %w", err)
	}
	sp := resp.GetSafePoint()
	if sp == 0 || sp <= s.gcApplied.Load() {
		return nil
	}
	var total GCStats
	for _, d := range s.ranges.list() {
		st, err := s.store.GC(ctx, d.GetStartKey(), d.GetEndKey(), sp)
		total.Writes += st.Writes
		total.Values += st.Values
		if err != nil {
			return fmt.Errorf("range %d: %w", d.GetRangeId(), err)
		}
	}
	s.gcApplied.Store(sp)
	s.log.Debug("gc pass done", "safe_point", sp, "writes_removed", total.Writes, "values_removed", total.Values)
	return nil
}

// register registers with the metadata service, retrying while it is
// unavailable, and persists the node id.
func (s *Server) register(ctx context.Context) (time.Duration, error) {
	backoff := minBackoff
	for {
		resp, err := s.cfg.Meta.RegisterNode(ctx, &api.RegisterNodeRequest{Id: s.NodeID(), Addr: s.cfg.Addr, Role: "shard"})
		if err == nil {
			id := resp.GetId()
			if id == 0 {
				return 0, errors.New("shard: register: metadata service returned node id 0")
			}
			if old := s.NodeID(); old != id {
				if old != 0 {
					s.log.Warn("metadata service assigned a new node id", "old", old, "new", id)
				}
				if err := s.store.saveNodeID(id); err != nil {
					return 0, fmt.Errorf("shard: register: %w", err)
				}
				s.nodeID.Store(id)
			}
			s.log.Info("registered", "node_id", id, "addr", s.cfg.Addr)
			interval := time.Duration(resp.GetHeartbeatIntervalMs()) * time.Millisecond
			if interval <= 0 {
				interval = defaultHeartbeat
			}
			return interval, nil
		}
		if status.Code(err) != codes.Unavailable {
			return 0, fmt.Errorf("shard: register: %w", err)
		}
		s.log.Warn("register: metadata service unavailable, retrying", "err", err)
		if !sleepCtx(ctx, backoff) {
			return 0, fmt.Errorf("shard: register: %w", ctx.Err())
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

func (s *Server) heartbeatLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, interval)
		oldest, lerr := s.store.OldestLockTS()
		if lerr != nil {
			s.log.Warn("finding the oldest lock failed", "err", lerr)
			oldest = 1 // hold GC back entirely rather than risk a live lock
		}
		_, err := s.cfg.Meta.Heartbeat(hctx, &api.HeartbeatRequest{Id: s.NodeID(), OldestActiveTs: oldest})
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("heartbeat failed", "err", err)
		}
	}
}

// openWatch opens the range watch and applies its first event (the
// snapshot). With retry it retries with backoff until ctx is done.
func (s *Server) openWatch(ctx context.Context, retry bool) (grpc.ServerStreamingClient[api.RangeEvent], error) {
	backoff := minBackoff
	for {
		stream, err := s.cfg.Meta.WatchRanges(ctx, &api.WatchRangesRequest{})
		if err == nil {
			var ev *api.RangeEvent
			if ev, err = stream.Recv(); err == nil {
				s.applyRangeEvent(ev)
				return stream, nil
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("shard: watch ranges: %w", ctx.Err())
		}
		if !retry {
			return nil, fmt.Errorf("shard: watch ranges: %w", err)
		}
		s.log.Warn("watch ranges failed, retrying", "err", err, "backoff", backoff)
		if !sleepCtx(ctx, backoff) {
			return nil, fmt.Errorf("shard: watch ranges: %w", ctx.Err())
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

func (s *Server) watchLoop(ctx context.Context, stream grpc.ServerStreamingClient[api.RangeEvent]) {
	for ctx.Err() == nil {
		ev, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("range watch broke, reconnecting", "err", err)
			if stream, err = s.openWatch(ctx, true); err != nil {
				return // ctx done
			}
			continue
		}
		s.applyRangeEvent(ev)
	}
}

func (s *Server) applyRangeEvent(ev *api.RangeEvent) {
	s.ranges.apply(ev, s.NodeID(), s.store.BumpMaxReadTS)
	s.log.Debug("range event applied", "snapshot", ev.GetSnapshot(), "upserts", len(ev.GetUpserts()), "deleted", len(ev.GetDeleted()))
}

// sleepCtx sleeps for d and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Close stops the server's loops and closes the store. Requests arriving
// afterwards fail with Unavailable. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()

	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.store.Close()
}

// enter admits a request unless the server is closed; the caller must call
// s.life.RUnlock when done (only if enter returned nil).
func (s *Server) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return status.Error(codes.Unavailable, "shard server closed")
	}
	return nil
}
