package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/pgerr"
)

const (
	// rpcTimeout bounds one attempt of one RPC.
	rpcTimeout = 3 * time.Second
	// defaultRetryBudget bounds how long a request keeps retrying a range
	// that is unreachable or moving before it fails.
	defaultRetryBudget = 10 * time.Second
)

// shardConnectParams bounds the delay between reconnection attempts to a
// shard server that went away. gRPC's default backoff grows to 120 s, and
// an RPC on a connection waiting out its backoff fails at once, so a shard
// server back after an outage of tens of seconds stayed unreachable from
// this client for tens of seconds more: every request to its ranges spent
// its retry budget and failed (58000) although the server was up again.
var shardConnectParams = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
	MinConnectTimeout: rpcTimeout,
}

// Client routes requests to ranges: it caches the range map and the node
// registry, dials shard servers, and retries on stale descriptors and
// unreachable servers within a bounded budget.
type Client struct {
	meta   api.MetaClient
	oracle *Oracle
	cache  *rangeCache
	logger *slog.Logger
	// RetryBudget bounds the retries of one request against one range.
	RetryBudget time.Duration
	// LockTTL is the TTL written with prewrite locks.
	LockTTL time.Duration

	nodes struct {
		sync.Mutex
		addrs map[uint64]string
		conns map[string]*grpc.ClientConn
	}
	// bg tracks asynchronous work (secondary commits, lock cleanup).
	bg     sync.WaitGroup
	bgCtx  context.Context
	cancel context.CancelFunc
}

// NewClient returns a Client using the metadata service meta.
func NewClient(meta api.MetaClient, logger *slog.Logger) *Client {
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{
		meta:        meta,
		oracle:      NewOracle(meta),
		cache:       newRangeCache(),
		logger:      logger,
		RetryBudget: defaultRetryBudget,
		LockTTL:     3 * time.Second,
	}
	c.nodes.addrs = map[uint64]string{}
	c.nodes.conns = map[string]*grpc.ClientConn{}
	c.bgCtx, c.cancel = context.WithCancel(context.Background())
	return c
}

// Oracle returns the client's timestamp oracle.
func (c *Client) Oracle() *Oracle { return c.oracle }

// Close waits for background work briefly and closes connections.
func (c *Client) Close() {
	done := make(chan struct{})
	go func() { c.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		c.cancel()
		<-done
	}
	c.cancel()
	c.nodes.Lock()
	defer c.nodes.Unlock()
	for _, conn := range c.nodes.conns {
		conn.Close()
	}
	c.nodes.conns = map[string]*grpc.ClientConn{}
}

// locate returns the descriptor of the range holding key.
func (c *Client) locate(ctx context.Context, key []byte) (*api.RangeDescriptor, error) {
	if d := c.cache.lookup(key); d != nil {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	resp, err := c.meta.LookupRange(ctx, &api.LookupRangeRequest{Key: key})
	if err != nil {
		return nil, fmt.Errorf("looking up range: %w", err)
	}
	if resp.Range == nil {
		return nil, fmt.Errorf("no range holds key %q", key)
	}
	c.cache.insert(resp.Range)
	return resp.Range, nil
}

// RangesFor returns the descriptors covering [start, end) in key order.
func (c *Client) RangesFor(ctx context.Context, start, end []byte) ([]*api.RangeDescriptor, error) {
	var out []*api.RangeDescriptor
	cur := start
	for {
		d, err := c.locate(ctx, cur)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		if len(d.EndKey) == 0 || (len(end) != 0 && string(d.EndKey) >= string(end)) {
			return out, nil
		}
		cur = d.EndKey
	}
}

func (c *Client) shardClient(ctx context.Context, node uint64) (api.ShardClient, string, error) {
	c.nodes.Lock()
	addr, ok := c.nodes.addrs[node]
	c.nodes.Unlock()
	if !ok {
		if err := c.refreshNodes(ctx); err != nil {
			return nil, "", err
		}
		c.nodes.Lock()
		addr, ok = c.nodes.addrs[node]
		c.nodes.Unlock()
		if !ok {
			return nil, "", fmt.Errorf("shard server n%d is not registered", node)
		}
	}
	c.nodes.Lock()
	defer c.nodes.Unlock()
	conn, ok := c.nodes.conns[addr]
	if !ok {
		var err error
		conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithConnectParams(shardConnectParams),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return nil, addr, fmt.Errorf("dialing shard server n%d at %s: %w", node, addr, err)
		}
		c.nodes.conns[addr] = conn
	}
	return api.NewShardClient(conn), addr, nil
}

func (c *Client) refreshNodes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	resp, err := c.meta.ListNodes(ctx, &api.ListNodesRequest{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	c.nodes.Lock()
	defer c.nodes.Unlock()
	for _, n := range resp.Nodes {
		c.nodes.addrs[n.Id] = n.Addr
	}
	return nil
}

// rangeCall is one attempt of a request against one range.
type rangeCall func(ctx context.Context, sc api.ShardClient, rc *api.RangeContext, d *api.RangeDescriptor) (*api.RangeError, error)

// errAmbiguous marks a write whose outcome is unknown.
var errAmbiguous = errors.New("result unknown")

// withRange runs call against the range holding key, retrying on range
// errors and unreachable servers until the retry budget is spent. When
// idempotent is false, a timed-out attempt is not retried (its effect is
// unknown) and an ambiguous-result error is returned.
func (c *Client) withRange(ctx context.Context, key []byte, idempotent bool, call rangeCall) error {
	return c.withRangeBudget(ctx, key, idempotent, c.RetryBudget, call)
}

// withRangeBudget is withRange with its own retry budget; one attempt is
// always made.
func (c *Client) withRangeBudget(ctx context.Context, key []byte, idempotent bool, budget time.Duration, call rangeCall) error {
	start := time.Now()
	backoff := 5 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if time.Since(start) > budget {
				return pgerr.Wrap(lastErr, pgerr.SystemError, "range unavailable after retrying")
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			if backoff < 500*time.Millisecond {
				backoff *= 2
			}
		}
		d, err := c.locate(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			lastErr = err
			continue
		}
		sc, addr, err := c.shardClient(ctx, d.Shard)
		if err != nil {
			lastErr = err
			continue
		}
		actx, cancel := context.WithTimeout(ctx, rpcTimeout)
		rerr, err := call(actx, sc, &api.RangeContext{RangeId: d.RangeId, Generation: d.Generation}, d)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			code := status.Code(err)
			if code == codes.Unavailable || code == codes.DeadlineExceeded {
				lastErr = fmt.Errorf("shard server n%d at %s: %w", d.Shard, addr, err)
				if !idempotent && code == codes.DeadlineExceeded {
					return fmt.Errorf("%w: %w", errAmbiguous, lastErr)
				}
				// The server may have moved: look its address up again.
				c.nodes.Lock()
				delete(c.nodes.addrs, d.Shard)
				c.nodes.Unlock()
				continue
			}
			return fmt.Errorf("shard server n%d at %s: %w", d.Shard, addr, err)
		}
		if rerr == nil {
			return nil
		}
		lastErr = fmt.Errorf("range r%d: %s (%s)", d.RangeId, rerr.Kind, rerr.Message)
		c.cache.evict(d)
		if cur := rerr.Current; cur != nil && cur.Generation > d.Generation {
			c.cache.insert(cur)
		}
	}
}
