package shardmeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
)

// keyPrefix is the root of every etcd key the metadata service writes.
const keyPrefix = "/shardsql/"

// Defaults applied by Start to a zero Config field.
const (
	// DefaultName is the etcd member name used when Config.Name is empty.
	DefaultName = "meta1"
	// DefaultSplitFenceMs is the fence passed to PrepareSplit when
	// Config.SplitFenceMs is zero.
	DefaultSplitFenceMs = 10000

	etcdReadyTimeout = 30 * time.Second
	// etcdOpTimeout bounds etcd operations that must not be cut short by a
	// cancelled request (persisting the TSO ceiling).
	etcdOpTimeout = 5 * time.Second
)

// Config configures a metadata server.
type Config struct {
	// Dir is the etcd data directory. It is required unless InMemory is set;
	// when InMemory is set a temporary directory is used and removed on Close.
	Dir string
	// InMemory runs etcd on a throwaway temporary directory (without fsync).
	InMemory bool
	// Name is the etcd member name, DefaultName when empty.
	Name string
	// PeerURL is the etcd peer URL, e.g. http://127.0.0.1:7001; when empty a
	// free loopback port is picked.
	PeerURL string
	// ClientURL is the etcd client URL, e.g. http://127.0.0.1:7002; when
	// empty a free loopback port is picked.
	ClientURL string
	// Logger receives the service's structured logs; slog.Default() when nil.
	Logger *slog.Logger
	// SplitFenceMs is passed to the shard's PrepareSplit;
	// DefaultSplitFenceMs when zero.
	SplitFenceMs uint64
	// DialShard returns a Shard client for a shard server's address. When nil
	// the server dials insecure gRPC and caches one connection per address.
	DialShard func(ctx context.Context, addr string) (api.ShardClient, error)
	// GCTTL is how long old MVCC versions stay readable: the GC safe point
	// trails the current time by it (and by any open transaction the SQL
	// frontends report). DefaultGCTTL when zero.
	GCTTL time.Duration
}

// Server is the metadata service: it implements api.MetaServer on top of an
// embedded etcd member. Register it with api.RegisterMetaServer.
type Server struct {
	api.UnimplementedMetaServer

	cfg    Config
	log    *slog.Logger
	etcd   *embed.Etcd
	cli    *clientv3.Client
	tmpDir string

	// ctx ends when the server closes; background work and streams watch it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	tso    tso
	ranges *rangeIndex
	waits  *waitGraph
	// safePoints keeps the frontends' oldest active transactions and the
	// highest GC safe point handed out.
	safePoints safePoints
	// schema keeps the catalog versions the frontends report (schema.go).
	schema schemaSeen

	// catalogMu serialises catalog changes, rangesMu range-map changes and
	// nodesMu node-registry changes within this server (lock order:
	// catalogMu before rangesMu before nodesMu). The etcd transactions are
	// conditioned on mod revisions regardless, so a second writer can never
	// corrupt state; the mutexes only avoid pointless conflicts.
	catalogMu sync.Mutex
	rangesMu  sync.Mutex
	nodesMu   sync.Mutex
	// sequenceMu serialises sequence state changes (SequenceAllocate,
	// SequenceSet) within this server; taken without any other mutex.
	sequenceMu sync.Mutex

	dialMu sync.Mutex
	conns  map[string]*grpc.ClientConn

	// splitRetryBudget bounds the PrepareSplit retries of one split.
	splitRetryBudget time.Duration

	closeOnce sync.Once
	closeErr  error
}

var _ api.MetaServer = (*Server)(nil)

// Start starts an embedded etcd member and the metadata service on it. It
// returns once etcd is ready, the TSO ceiling has been raised past its stored
// value and the range index is loaded.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.SplitFenceMs == 0 {
		cfg.SplitFenceMs = DefaultSplitFenceMs
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.GCTTL <= 0 {
		cfg.GCTTL = DefaultGCTTL
	}
	s := &Server{
		cfg:              cfg,
		log:              cfg.Logger.With("component", "shardmeta"),
		conns:            make(map[string]*grpc.ClientConn),
		splitRetryBudget: 5 * time.Second,
		ranges:           newRangeIndex(),
		waits:            newWaitGraph(),
	}
	s.safePoints.init(time.Now())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.startEtcd(ctx); err != nil {
		s.cancel()
		s.cleanupDir()
		return nil, err
	}
	s.tso.cli = s.cli
	s.tso.now = time.Now
	if err := s.tso.load(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("shardmeta: load tso: %w", err)
	}
	if err := s.startRangeIndex(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("shardmeta: load range map: %w", err)
	}
	s.log.Info("metadata service started", "name", cfg.Name, "dir", s.etcd.Config().Dir)
	return s, nil
}

func (s *Server) startEtcd(ctx context.Context) error {
	ec := embed.NewConfig()
	ec.Name = s.cfg.Name
	if s.cfg.InMemory {
		dir, err := os.MkdirTemp("", "shardmeta-etcd-")
		if err != nil {
			return fmt.Errorf("shardmeta: create temp dir: %w", err)
		}
		s.tmpDir = dir
		ec.Dir = dir
		ec.UnsafeNoFsync = true
	} else {
		if s.cfg.Dir == "" {
			return errors.New("shardmeta: config: dir is required unless in-memory")
		}
		ec.Dir = s.cfg.Dir
	}
	peer, client := s.cfg.PeerURL, s.cfg.ClientURL
	if peer == "" || client == "" {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		if peer == "" {
			peer = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		}
		if client == "" {
			client = "http://127.0.0.1:" + strconv.Itoa(ports[1])
		}
	}
	pu, err := url.Parse(peer)
	if err != nil {
		return fmt.Errorf("shardmeta: config: peer url %q: %w", peer, err)
	}
	cu, err := url.Parse(client)
	if err != nil {
		return fmt.Errorf("shardmeta: config: client url %q: %w", client, err)
	}
	ec.ListenPeerUrls = []url.URL{*pu}
	ec.AdvertisePeerUrls = []url.URL{*pu}
	ec.ListenClientUrls = []url.URL{*cu}
	ec.AdvertiseClientUrls = []url.URL{*cu}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	// Keep an hour of history: the TSO ceiling alone writes every few
	// seconds. Watches that fall behind a compaction restart from a snapshot.
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "1h"
	ec.LogLevel = "error"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return fmt.Errorf("shardmeta: start etcd: %w", err)
	}
	timer := time.NewTimer(etcdReadyTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("shardmeta: etcd failed while starting: %w", err)
	case <-timer.C:
		e.Server.Stop()
		e.Close()
		return fmt.Errorf("shardmeta: etcd not ready after %v", etcdReadyTimeout)
	case <-ctx.Done():
		e.Server.Stop()
		e.Close()
		return fmt.Errorf("shardmeta: start etcd: %w", ctx.Err())
	}
	s.etcd = e
	s.cli = v3client.New(e.Server)
	return nil
}

// freePorts reserves n distinct free loopback ports and releases them.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("shardmeta: pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Close stops background work, ends open WatchCatalog / WatchRanges streams
// (so close the server before a gRPC GracefulStop), closes shard
// connections, stops etcd and removes the temporary directory of an
// in-memory server. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		var errs []error
		s.dialMu.Lock()
		for addr, cc := range s.conns {
			if err := cc.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close shard conn %s: %w", addr, err))
			}
		}
		s.conns = nil
		s.dialMu.Unlock()
		if s.cli != nil {
			if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("close etcd client: %w", err))
			}
		}
		if s.etcd != nil {
			s.etcd.Close()
		}
		if err := s.cleanupDir(); err != nil {
			errs = append(errs, err)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) cleanupDir() error {
	if s.tmpDir == "" {
		return nil
	}
	if err := os.RemoveAll(s.tmpDir); err != nil {
		return fmt.Errorf("shardmeta: remove temp dir: %w", err)
	}
	return nil
}

// ClientURL returns the etcd client URL the embedded member listens on.
func (s *Server) ClientURL() string {
	c := s.etcd.Config()
	if len(c.AdvertiseClientUrls) == 0 {
		return ""
	}
	return c.AdvertiseClientUrls[0].String()
}

// shardClient returns a Shard client for addr, through Config.DialShard or a
// cached insecure gRPC connection.
func (s *Server) shardClient(ctx context.Context, addr string) (api.ShardClient, error) {
	if s.cfg.DialShard != nil {
		return s.cfg.DialShard(ctx, addr)
	}
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	if s.conns == nil {
		return nil, status.Error(codes.Unavailable, "shardmeta: server is closed")
	}
	cc, ok := s.conns[addr]
	if !ok {
		var err error
		cc, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("shardmeta: dial shard %s: %w", addr, err)
		}
		s.conns[addr] = cc
	}
	return api.NewShardClient(cc), nil
}

// streamContext returns a context that ends with the stream or with the server.
func (s *Server) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// rpcErr turns an internal error into a gRPC status error: errors wrapping a
// status keep its code, context errors map to Canceled / DeadlineExceeded and
// anything else (etcd failures) is Unavailable.
func rpcErr(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unavailable, err.Error())
}

// readCounter reads a decimal counter key; a missing key reads as def with
// mod revision 0.
func (s *Server) readCounter(ctx context.Context, key string, def uint64) (uint64, int64, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return def, 0, nil
	}
	v, err := strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse %s: %w", key, err)
	}
	return v, resp.Kvs[0].ModRevision, nil
}

// errConflict reports that an etcd transaction's comparison failed because
// another writer changed the state first.
var errConflict = status.Error(codes.Aborted, "metadata changed concurrently, retry")

// maxTxnAttempts bounds optimistic retries of read-modify-write transactions.
const maxTxnAttempts = 5
