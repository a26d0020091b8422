package shardmeta

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/shardmeta/client"
)

// testEnv is a metadata server served over a real loopback gRPC listener,
// with a client dialled to it.
type testEnv struct {
	srv *Server
	cl  *client.Client
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startEnv starts a server on cfg (in-memory when cfg.Dir is empty) and
// registers its shutdown with t.Cleanup.
func startEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	env, stop := startEnvManual(t, cfg)
	t.Cleanup(stop)
	return env
}

// startEnvManual is startEnv returning the shutdown function instead.
func startEnvManual(t *testing.T, cfg Config) (*testEnv, func()) {
	t.Helper()
	ctx := testContext(t)
	if cfg.Dir == "" {
		cfg.InMemory = true
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	gs := grpc.NewServer()
	api.RegisterMetaServer(gs, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	cl, err := client.Dial(ctx, lis.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cl.Close()
			// Close the server first so open watch streams end, then stop gRPC.
			if err := srv.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			gs.Stop()
			<-done
		})
	}
	return &testEnv{srv: srv, cl: cl}, stop
}

// wantCode fails the test unless err carries the gRPC code want.
func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error code = %v, want %v (err: %v)", got, want, err)
	}
}

func TestStartRequiresDir(t *testing.T) {
	_, err := Start(testContext(t), Config{Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("start without dir or in-memory succeeded")
	}
}

func TestInMemoryDirRemovedOnClose(t *testing.T) {
	env, stop := startEnvManual(t, Config{})
	dir := env.srv.tmpDir
	if dir == "" {
		t.Fatal("in-memory server has no temp dir")
	}
	if env.srv.ClientURL() == "" {
		t.Error("no client url")
	}
	stop()
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("temp dir %s still exists after close", dir)
	}
}
