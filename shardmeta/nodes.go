package shardmeta

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/shardsql/shardsql/api"
)

// Node roles accepted by RegisterNode.
const (
	RoleShard = "shard"
	RoleSQL   = "sql"
)

// Node registry keys and timings.
const (
	keyNodesPrefix    = keyPrefix + "nodes/"
	keyLivenessPrefix = keyPrefix + "liveness/"
	keyNextNodeID     = keyPrefix + "ids/node"

	// LivenessTTLSeconds is the TTL of a node's liveness lease.
	LivenessTTLSeconds = 10
	// HeartbeatIntervalMs is the heartbeat interval told to registering nodes.
	HeartbeatIntervalMs = 2000
)

func nodeKey(id uint64) string     { return keyNodesPrefix + strconv.FormatUint(id, 10) }
func livenessKey(id uint64) string { return keyLivenessPrefix + strconv.FormatUint(id, 10) }

// RegisterNode registers a node. Id 0 assigns a new id (from 1); a non-zero
// id re-registers that node, updating its address and role (an id this
// registry never gave out is adopted, and the id counter moved past it). The
// node is live from registration on. The first shard node to register on an
// empty range map gets the bootstrap range map.
func (s *Server) RegisterNode(ctx context.Context, req *api.RegisterNodeRequest) (*api.RegisterNodeResponse, error) {
	role := req.GetRole()
	if role != RoleShard && role != RoleSQL {
		return nil, status.Errorf(codes.InvalidArgument, "register node: role must be %q or %q, got %q", RoleShard, RoleSQL, role)
	}
	if role == RoleShard && req.GetAddr() == "" {
		return nil, status.Error(codes.InvalidArgument, "register node: a shard node needs an address")
	}
	id, err := s.registerNode(ctx, req)
	if err != nil {
		return nil, rpcErr(fmt.Errorf("register node: %w", err))
	}
	if err := s.ensureLiveness(ctx, id); err != nil {
		return nil, rpcErr(fmt.Errorf("register node %d: %w", id, err))
	}
	if role == RoleSQL {
		// A (re)starting frontend has no open transaction yet.
		s.safePoints.report(id, 0)
	}
	if role == RoleShard {
		if _, err := s.bootstrapRanges(ctx, id); err != nil {
			return nil, rpcErr(fmt.Errorf("register node %d: %w", id, err))
		}
	}
	s.log.Info("node registered", "id", id, "addr", req.GetAddr(), "role", role)
	return &api.RegisterNodeResponse{Id: id, HeartbeatIntervalMs: HeartbeatIntervalMs}, nil
}

func (s *Server) registerNode(ctx context.Context, req *api.RegisterNodeRequest) (uint64, error) {
	s.nodesMu.Lock()
	defer s.nodesMu.Unlock()
	id := req.GetId()
	for attempt := 0; ; attempt++ {
		if attempt == maxTxnAttempts {
			return 0, errConflict
		}
		next, rev, err := s.readCounter(ctx, keyNextNodeID, 1)
		if err != nil {
			return 0, err
		}
		if id == 0 {
			id = next
		}
		desc := &api.NodeDescriptor{Id: id, Addr: req.GetAddr(), Role: req.GetRole()}
		val, err := proto.Marshal(desc)
		if err != nil {
			return 0, fmt.Errorf("marshal node %d: %w", id, err)
		}
		ops := []clientv3.Op{clientv3.OpPut(nodeKey(id), string(val))}
		if id >= next {
			ops = append(ops, clientv3.OpPut(keyNextNodeID, strconv.FormatUint(id+1, 10)))
		}
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(keyNextNodeID), "=", rev)).
			Then(ops...).Commit()
		if err != nil {
			return 0, fmt.Errorf("write node %d: %w", id, err)
		}
		if resp.Succeeded {
			return id, nil
		}
		if req.GetId() == 0 {
			id = 0
		}
	}
}

// ensureLiveness keeps the node's liveness lease alive, or grants a new
// lease and rewrites the liveness key when there is none.
func (s *Server) ensureLiveness(ctx context.Context, id uint64) error {
	resp, err := s.cli.Get(ctx, livenessKey(id))
	if err != nil {
		return fmt.Errorf("read liveness: %w", err)
	}
	if len(resp.Kvs) > 0 && resp.Kvs[0].Lease != 0 {
		_, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(resp.Kvs[0].Lease))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The lease expired or was revoked: fall through to a new one.
	}
	lease, err := s.cli.Grant(ctx, LivenessTTLSeconds)
	if err != nil {
		return fmt.Errorf("grant liveness lease: %w", err)
	}
	if _, err := s.cli.Put(ctx, livenessKey(id), "live", clientv3.WithLease(lease.ID)); err != nil {
		return fmt.Errorf("write liveness: %w", err)
	}
	return nil
}

// Heartbeat keeps a registered node live for another LivenessTTLSeconds. A
// SQL frontend's oldest_active_ts is kept (in memory) for GetSafePoint.
func (s *Server) Heartbeat(ctx context.Context, req *api.HeartbeatRequest) (*api.HeartbeatResponse, error) {
	n, err := s.getNode(ctx, req.GetId())
	if err != nil {
		return nil, rpcErr(fmt.Errorf("heartbeat: %w", err))
	}
	if n == nil {
		return nil, status.Errorf(codes.NotFound, "heartbeat: node %d is not registered", req.GetId())
	}
	// A SQL frontend reports its oldest open transaction, a shard server
	// its oldest unresolved lock; the safe point passes neither. Recorded
	// before the liveness write: holding the safe point back is the safe
	// side should that write fail.
	s.safePoints.report(n.Id, req.GetOldestActiveTs())
	if err := s.ensureLiveness(ctx, n.Id); err != nil {
		return nil, rpcErr(fmt.Errorf("heartbeat of node %d: %w", n.Id, err))
	}
	return &api.HeartbeatResponse{}, nil
}

// ListNodes returns every registered node, sorted by id, with live set when
// its liveness lease is current.
func (s *Server) ListNodes(ctx context.Context, _ *api.ListNodesRequest) (*api.ListNodesResponse, error) {
	nodes, err := s.listNodes(ctx)
	if err != nil {
		return nil, rpcErr(fmt.Errorf("list nodes: %w", err))
	}
	return &api.ListNodesResponse{Nodes: nodes}, nil
}

func (s *Server) listNodes(ctx context.Context) ([]*api.NodeDescriptor, error) {
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(keyNodesPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(keyLivenessPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("read node registry: %w", err)
	}
	live := map[uint64]bool{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		id, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), keyLivenessPrefix), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse liveness key %s: %w", kv.Key, err)
		}
		live[id] = true
	}
	var nodes []*api.NodeDescriptor
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		n := &api.NodeDescriptor{}
		if err := proto.Unmarshal(kv.Value, n); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		n.Live = live[n.Id]
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b *api.NodeDescriptor) int { return cmp.Compare(a.Id, b.Id) })
	return nodes, nil
}

// getNode returns a registered node's descriptor (without liveness), or nil.
func (s *Server) getNode(ctx context.Context, id uint64) (*api.NodeDescriptor, error) {
	resp, err := s.cli.Get(ctx, nodeKey(id))
	if err != nil {
		return nil, fmt.Errorf("read node %d: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	n := &api.NodeDescriptor{}
	if err := proto.Unmarshal(resp.Kvs[0].Value, n); err != nil {
		return nil, fmt.Errorf("decode node %d: %w", id, err)
	}
	return n, nil
}
