package client_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/shardmeta"
	"github.com/shardsql/shardsql/shardmeta/client"
)

func TestDial(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := shardmeta.Start(ctx, shardmeta.Config{InMemory: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	api.RegisterMetaServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()

	c, err := client.Dial(ctx, lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetTimestamp(ctx, &api.GetTimestampRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.GetTimestamp(ctx, &api.GetTimestampRequest{Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if b.Timestamp <= a.Timestamp || b.Count != 3 {
		t.Fatalf("timestamps %v then %v", a, b)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDialNobodyListening(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, err := client.Dial(ctx, addr); err == nil {
		c.Close()
		t.Fatal("dial to a closed port succeeded")
	}
}
