package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/shard"
	"github.com/shardsql/shardsql/shardmeta"
	metaclient "github.com/shardsql/shardsql/shardmeta/client"
	"github.com/shardsql/shardsql/sqlfront"
)

// role is one running part of a cluster; stop shuts it down.
type role struct {
	name string
	stop func()
}

// maxGRPCMessage bounds gRPC messages between the roles: above a scan or
// write batch of large rows (gRPC's default is 4 MiB).
const maxGRPCMessage = 64 << 20

// stopAll stops roles in reverse order of start.
func stopAll(roles []role) {
	for i := len(roles) - 1; i >= 0; i-- {
		roles[i].stop()
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func listen(addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return lis, nil
}

// startMeta starts the metadata service and its gRPC server.
func startMeta(ctx context.Context, logger *slog.Logger, addr, dir string, inMemory bool, peerURL, clientURL string, gcTTL time.Duration) (role, string, error) {
	lis, err := listen(addr)
	if err != nil {
		return role{}, "", err
	}
	srv, err := shardmeta.Start(ctx, shardmeta.Config{Dir: dir, InMemory: inMemory, PeerURL: peerURL, ClientURL: clientURL, Logger: logger, GCTTL: gcTTL})
	if err != nil {
		lis.Close()
		return role{}, "", err
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(maxGRPCMessage), grpc.MaxSendMsgSize(maxGRPCMessage))
	api.RegisterMetaServer(gs, srv)
	go gs.Serve(lis)
	return role{name: "meta", stop: func() { gs.Stop(); srv.Close() }}, lis.Addr().String(), nil
}

// startShard starts a shard server registered with the metadata service.
func startShard(ctx context.Context, logger *slog.Logger, addr, metaAddr, dir string, inMemory bool, gcInterval time.Duration) (role, string, error) {
	lis, err := listen(addr)
	if err != nil {
		return role{}, "", err
	}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	mc, err := metaclient.Dial(dctx, metaAddr)
	if err != nil {
		lis.Close()
		return role{}, "", err
	}
	srv, err := shard.Open(dctx, shard.Config{Dir: dir, InMemory: inMemory, Meta: mc, Addr: lis.Addr().String(), Logger: logger, GCInterval: gcInterval})
	if err != nil {
		lis.Close()
		mc.Close()
		return role{}, "", err
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(maxGRPCMessage), grpc.MaxSendMsgSize(maxGRPCMessage))
	api.RegisterShardServer(gs, srv)
	go gs.Serve(lis)
	// Start's loops live as long as ctx, so it gets the long-lived one.
	if err := srv.Start(ctx); err != nil {
		gs.Stop()
		srv.Close()
		mc.Close()
		return role{}, "", err
	}
	stop := func() { gs.Stop(); srv.Close(); mc.Close() }
	return role{name: fmt.Sprintf("shard n%d", srv.NodeID()), stop: stop}, lis.Addr().String(), nil
}

// startSQL starts a SQL frontend and, when httpAddr is set, its HTTP endpoint.
func startSQL(ctx context.Context, logger *slog.Logger, addr, httpAddr, metaAddr string, maxTxnBytes, maxConns int) (role, string, error) {
	lis, err := listen(addr)
	if err != nil {
		return role{}, "", err
	}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	mc, err := metaclient.Dial(dctx, metaAddr)
	if err != nil {
		lis.Close()
		return role{}, "", err
	}
	srv := sqlfront.New(sqlfront.Config{Meta: mc, Logger: logger, MaxTxnBytes: maxTxnBytes, MaxConnections: maxConns})
	// Register as a "sql" node: heartbeats report the oldest open
	// transaction, which holds the GC safe point back.
	if err := srv.Start(dctx, lis.Addr().String()); err != nil {
		lis.Close()
		srv.Close()
		mc.Close()
		return role{}, "", err
	}
	go srv.Serve(lis)
	var hs *http.Server
	if httpAddr != "" {
		hl, err := listen(httpAddr)
		if err != nil {
			srv.Close()
			mc.Close()
			return role{}, "", err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
		})
		hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(hl)
	}
	stop := func() {
		if hs != nil {
			hs.Close()
		}
		srv.Close()
		mc.Close()
	}
	return role{name: "sql", stop: stop}, lis.Addr().String(), nil
}

// waitForSignal blocks until SIGINT or SIGTERM.
func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
	signal.Stop(ch)
}

func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	shards := fs.Int("shards", 3, "number of shard servers")
	sqlAddr := fs.String("sql-addr", "127.0.0.1:5433", "PostgreSQL wire protocol address")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP address (/health)")
	dataDir := fs.String("data-dir", "./shardsql-data", "data directory")
	inMemory := fs.Bool("in-memory", false, "keep all data in memory (lost on exit)")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	maxTxn := fs.Int("max-txn-bytes", sqlfront.DefaultMaxTxnBytes, "largest transaction, in bytes of writes (SQLSTATE 54000 beyond)")
	maxConns := fs.Int("max-connections", sqlfront.DefaultMaxConnections, "most client connections at once (SQLSTATE 53300 beyond)")
	gcTTL := fs.Duration("gc-ttl", shardmeta.DefaultGCTTL, "how long old row versions stay readable (the GC safe point trails now by this, and by open transactions)")
	gcInterval := fs.Duration("gc-interval", shard.DefaultGCInterval, "how often shard servers garbage-collect old row versions")
	fs.Parse(args)
	if *shards < 1 {
		return errors.New("--shards must be at least 1")
	}
	logger := newLogger(*logLevel)
	ctx := context.Background()
	var roles []role
	fail := func(err error) error { stopAll(roles); return err }

	meta, metaAddr, err := startMeta(ctx, logger, "127.0.0.1:0", filepath.Join(*dataDir, "meta"), *inMemory, "", "", *gcTTL)
	if err != nil {
		return fail(err)
	}
	roles = append(roles, meta)
	for i := 1; i <= *shards; i++ {
		r, _, err := startShard(ctx, logger, "127.0.0.1:0", metaAddr, filepath.Join(*dataDir, fmt.Sprintf("shard%d", i)), *inMemory, *gcInterval)
		if err != nil {
			return fail(err)
		}
		roles = append(roles, r)
	}
	sqlRole, addr, err := startSQL(ctx, logger, *sqlAddr, *httpAddr, metaAddr, *maxTxn, *maxConns)
	if err != nil {
		return fail(err)
	}
	roles = append(roles, sqlRole)
	host, port, _ := net.SplitHostPort(addr)
	where := *dataDir
	if *inMemory {
		where = "memory (lost on exit)"
	}
	fmt.Printf("ShardSQL demo is ready: %d shard servers, data in %s\n", *shards, where)
	fmt.Printf("Connect with: psql \"host=%s port=%s user=root dbname=postgres sslmode=disable\"\n", host, port)
	if *httpAddr != "" {
		fmt.Printf("Health: http://%s/health\n", *httpAddr)
	}
	waitForSignal()
	fmt.Println("shutting down")
	stopAll(roles)
	return nil
}

func runMeta(args []string) error {
	fs := flag.NewFlagSet("meta", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7000", "gRPC address of the metadata service")
	dataDir := fs.String("data-dir", "./shardsql-data/meta", "etcd data directory")
	inMemory := fs.Bool("in-memory", false, "throwaway data directory")
	peerURL := fs.String("etcd-peer-url", "", "etcd peer URL (default: a free loopback port)")
	clientURL := fs.String("etcd-client-url", "", "etcd client URL (default: a free loopback port)")
	logLevel := fs.String("log-level", "info", "log level")
	gcTTL := fs.Duration("gc-ttl", shardmeta.DefaultGCTTL, "how long old row versions stay readable (the GC safe point trails now by this, and by open transactions)")
	fs.Parse(args)
	r, bound, err := startMeta(context.Background(), newLogger(*logLevel), *addr, *dataDir, *inMemory, *peerURL, *clientURL, *gcTTL)
	if err != nil {
		return err
	}
	fmt.Printf("shardsql meta ready on %s\n", bound)
	waitForSignal()
	r.stop()
	return nil
}

func runShard(args []string) error {
	fs := flag.NewFlagSet("shard", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7100", "gRPC address of this shard server (registered with meta)")
	metaAddr := fs.String("meta", "127.0.0.1:7000", "address of the metadata service")
	dataDir := fs.String("data-dir", "./shardsql-data/shard", "Pebble data directory")
	inMemory := fs.Bool("in-memory", false, "keep data in memory")
	logLevel := fs.String("log-level", "info", "log level")
	gcInterval := fs.Duration("gc-interval", shard.DefaultGCInterval, "how often to garbage-collect old row versions")
	fs.Parse(args)
	r, bound, err := startShard(context.Background(), newLogger(*logLevel), *addr, *metaAddr, *dataDir, *inMemory, *gcInterval)
	if err != nil {
		return err
	}
	fmt.Printf("shardsql %s ready on %s\n", r.name, bound)
	waitForSignal()
	r.stop()
	return nil
}

func runSQL(args []string) error {
	fs := flag.NewFlagSet("sql", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:5433", "PostgreSQL wire protocol address")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP address (/health); empty to disable")
	metaAddr := fs.String("meta", "127.0.0.1:7000", "address of the metadata service")
	logLevel := fs.String("log-level", "info", "log level")
	maxTxn := fs.Int("max-txn-bytes", sqlfront.DefaultMaxTxnBytes, "largest transaction, in bytes of writes (SQLSTATE 54000 beyond)")
	maxConns := fs.Int("max-connections", sqlfront.DefaultMaxConnections, "most client connections at once (SQLSTATE 53300 beyond)")
	fs.Parse(args)
	r, bound, err := startSQL(context.Background(), newLogger(*logLevel), *addr, *httpAddr, *metaAddr, *maxTxn, *maxConns)
	if err != nil {
		return err
	}
	fmt.Printf("shardsql sql ready on %s\n", bound)
	waitForSignal()
	r.stop()
	return nil
}
