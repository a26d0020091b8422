// Package client is the thin gRPC client of the ShardSQL metadata service.
// It imports only api and gRPC, so any role can use it without pulling in
// shardmeta's etcd dependencies.
package client

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/shardsql/shardsql/api"
)

// Client is a connection to a metadata server; the embedded api.MetaClient
// carries every Meta RPC.
type Client struct {
	api.MetaClient
	conn *grpc.ClientConn
}

// Dial connects to the metadata server at addr (host:port) over insecure
// gRPC and waits until the connection is ready or ctx ends.
func Dial(ctx context.Context, addr string) (*Client, error) {
	// Cap gRPC's reconnect backoff (by default it grows towards two
	// minutes), so a restarted metadata service is reached again within a
	// second instead of failing requests meanwhile.
	params := grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}, MinConnectTimeout: 3 * time.Second}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithConnectParams(params))
	if err != nil {
		return nil, fmt.Errorf("shardmeta client: dial %s: %w", addr, err)
	}
	conn.Connect()
	for {
		st := conn.GetState()
		if st == connectivity.Ready {
			break
		}
		if !conn.WaitForStateChange(ctx, st) {
			_ = conn.Close()
			return nil, fmt.Errorf("shardmeta client: dial %s: not ready (last state %s): %w", addr, st, ctx.Err())
		}
	}
	return &Client{MetaClient: api.NewMetaClient(conn), conn: conn}, nil
}

// Conn returns the underlying gRPC connection.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("shardmeta client: close: %w", err)
	}
	return nil
}
