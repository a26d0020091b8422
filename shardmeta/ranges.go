package shardmeta

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
)

// Range map keys: descriptors by range id as 16 hex digits.
const (
	keyRangesPrefix = keyPrefix + "ranges/"
	keyNextRangeID  = keyPrefix + "ids/range"

	// indexCatchUpTimeout bounds how long a write waits for the in-memory
	// range index to reflect it.
	indexCatchUpTimeout = 5 * time.Second
)

func rangeKey(id uint64) string { return fmt.Sprintf("%s%016x", keyRangesPrefix, id) }

func rangeIDFromKey(key []byte) (uint64, error) {
	return strconv.ParseUint(strings.TrimPrefix(string(key), keyRangesPrefix), 16, 64)
}

// containsKey reports whether key lies in [start, end) of r (empty end = +inf).
func containsKey(r *api.RangeDescriptor, key []byte) bool {
	return bytes.Compare(r.StartKey, key) <= 0 && (len(r.EndKey) == 0 || bytes.Compare(key, r.EndKey) < 0)
}

// rangeIndex is the in-memory copy of the range map, sorted by start key and
// kept current by an etcd watch. Descriptors in it are never mutated.
type rangeIndex struct {
	mu      sync.Mutex
	rev     int64
	byID    map[uint64]*api.RangeDescriptor
	sorted  []*api.RangeDescriptor
	changed chan struct{}
}

func newRangeIndex() *rangeIndex {
	return &rangeIndex{byID: map[uint64]*api.RangeDescriptor{}, changed: make(chan struct{})}
}

// reset replaces the whole index with a snapshot read at rev.
func (ix *rangeIndex) reset(descs []*api.RangeDescriptor, rev int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.byID = make(map[uint64]*api.RangeDescriptor, len(descs))
	for _, d := range descs {
		ix.byID[d.RangeId] = d
	}
	ix.rebuildLocked(rev)
}

// apply applies one watch response's changes, observed at rev.
func (ix *rangeIndex) apply(upserts []*api.RangeDescriptor, deleted []uint64, rev int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, d := range upserts {
		ix.byID[d.RangeId] = d
	}
	for _, id := range deleted {
		delete(ix.byID, id)
	}
	ix.rebuildLocked(rev)
}

func (ix *rangeIndex) rebuildLocked(rev int64) {
	ix.sorted = ix.sorted[:0]
	for _, d := range ix.byID {
		ix.sorted = append(ix.sorted, d)
	}
	slices.SortFunc(ix.sorted, func(a, b *api.RangeDescriptor) int { return bytes.Compare(a.StartKey, b.StartKey) })
	ix.rev = max(ix.rev, rev)
	close(ix.changed)
	ix.changed = make(chan struct{})
}

// waitFor waits until the index reflects etcd revision rev.
func (ix *rangeIndex) waitFor(ctx context.Context, rev int64) error {
	timer := time.NewTimer(indexCatchUpTimeout)
	defer timer.Stop()
	for {
		ix.mu.Lock()
		cur, ch := ix.rev, ix.changed
		ix.mu.Unlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("range index at revision %d did not reach %d within %v", cur, rev, indexCatchUpTimeout)
		}
	}
}

// lookup returns the range holding key, or nil.
func (ix *rangeIndex) lookup(key []byte) *api.RangeDescriptor {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i := ix.searchLocked(key)
	if i < 0 || !containsKey(ix.sorted[i], key) {
		return nil
	}
	return proto.Clone(ix.sorted[i]).(*api.RangeDescriptor)
}

// searchLocked returns the index of the last range starting at or before key.
func (ix *rangeIndex) searchLocked(key []byte) int {
	i, found := slices.BinarySearchFunc(ix.sorted, key, func(r *api.RangeDescriptor, k []byte) int {
		return bytes.Compare(r.StartKey, k)
	})
	if found {
		return i
	}
	return i - 1
}

// scan returns the ranges overlapping [start, end) in key order.
func (ix *rangeIndex) scan(start, end []byte) []*api.RangeDescriptor {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []*api.RangeDescriptor
	for i := max(ix.searchLocked(start), 0); i < len(ix.sorted); i++ {
		r := ix.sorted[i]
		if len(end) > 0 && bytes.Compare(r.StartKey, end) >= 0 {
			break
		}
		if len(r.EndKey) > 0 && bytes.Compare(r.EndKey, start) <= 0 {
			continue
		}
		out = append(out, proto.Clone(r).(*api.RangeDescriptor))
	}
	return out
}

func (ix *rangeIndex) len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.sorted)
}

// storedRange is a descriptor with the mod revision it was read at.
type storedRange struct {
	desc   *api.RangeDescriptor
	modRev int64
}

// loadRanges reads every range descriptor from etcd, in key (id) order.
func (s *Server) loadRanges(ctx context.Context) ([]storedRange, int64, error) {
	resp, err := s.cli.Get(ctx, keyRangesPrefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("read range map: %w", err)
	}
	out := make([]storedRange, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		d := &api.RangeDescriptor{}
		if err := proto.Unmarshal(kv.Value, d); err != nil {
			return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, storedRange{desc: d, modRev: kv.ModRevision})
	}
	return out, resp.Header.Revision, nil
}

func descsOf(rs []storedRange) []*api.RangeDescriptor {
	out := make([]*api.RangeDescriptor, len(rs))
	for i, r := range rs {
		out[i] = r.desc
	}
	return out
}

// rangeCount returns how many range descriptors exist in etcd.
func (s *Server) rangeCount(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, keyRangesPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("count ranges: %w", err)
	}
	return resp.Count, nil
}

// startRangeIndex loads the range map and keeps the index current from an
// etcd watch until the server closes.
func (s *Server) startRangeIndex(ctx context.Context) error {
	rs, rev, err := s.loadRanges(ctx)
	if err != nil {
		return err
	}
	s.ranges.reset(descsOf(rs), rev)
	s.wg.Add(1)
	go s.watchRangeIndex(rev)
	return nil
}

func (s *Server) watchRangeIndex(rev int64) {
	defer s.wg.Done()
	for s.ctx.Err() == nil {
		wctx, wcancel := context.WithCancel(s.ctx)
		wch := s.cli.Watch(wctx, keyRangesPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for wr := range wch {
			if err := wr.Err(); err != nil {
				s.log.Warn("range index watch failed, reloading", "err", err)
				break
			}
			ups, dels, err := rangeChanges(wr)
			if err != nil {
				s.log.Error("range index watch: bad event, reloading", "err", err)
				break
			}
			s.ranges.apply(ups, dels, wr.Header.Revision)
			rev = wr.Header.Revision
		}
		wcancel()
		for s.ctx.Err() == nil {
			rs, r, err := s.loadRanges(s.ctx)
			if err == nil {
				s.ranges.reset(descsOf(rs), r)
				rev = r
				break
			}
			s.log.Warn("range index reload failed", "err", err)
			select {
			case <-s.ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// rangeChanges decodes a watch response on the range prefix.
func rangeChanges(wr clientv3.WatchResponse) (upserts []*api.RangeDescriptor, deleted []uint64, err error) {
	for _, ev := range wr.Events {
		switch ev.Type {
		case clientv3.EventTypePut:
			d := &api.RangeDescriptor{}
			if err := proto.Unmarshal(ev.Kv.Value, d); err != nil {
				return nil, nil, fmt.Errorf("decode %s: %w", ev.Kv.Key, err)
			}
			upserts = append(upserts, d)
		case clientv3.EventTypeDelete:
			id, err := rangeIDFromKey(ev.Kv.Key)
			if err != nil {
				return nil, nil, fmt.Errorf("parse range key %s: %w", ev.Kv.Key, err)
			}
			deleted = append(deleted, id)
		}
	}
	return upserts, deleted, nil
}

// waitIndex waits for the range index to reflect a write at rev; a lagging
// index is logged, not fatal (etcd already holds the truth).
func (s *Server) waitIndex(ctx context.Context, rev int64) {
	if err := s.ranges.waitFor(ctx, rev); err != nil {
		s.log.Warn("range index lagging behind a write", "err", err)
	}
}

// bootstrapRanges creates the first range map on shard when none exists: one
// range over the whole keyspace, split at the spans of tables already in the
// catalog so every table starts on a range of its own. It returns whether it
// created anything.
func (s *Server) bootstrapRanges(ctx context.Context, shard uint64) (bool, error) {
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	s.rangesMu.Lock()
	defer s.rangesMu.Unlock()
	n, err := s.rangeCount(ctx)
	if err != nil || n > 0 {
		return false, err
	}
	cat, _, err := s.readCatalog(ctx)
	if err != nil {
		return false, err
	}
	var bounds [][]byte
	for _, t := range cat.Tables {
		start, end := keys.TableSpan(t.Id)
		bounds = append(bounds, start, end)
	}
	slices.SortFunc(bounds, bytes.Compare)
	bounds = slices.CompactFunc(bounds, bytes.Equal)
	var descs []*api.RangeDescriptor
	var prev []byte
	for _, b := range append(bounds, nil) {
		descs = append(descs, &api.RangeDescriptor{
			RangeId:    uint64(len(descs) + 1),
			StartKey:   prev,
			EndKey:     b,
			Generation: 1,
			Shard:      shard,
		})
		prev = b
	}
	ops := []clientv3.Op{clientv3.OpPut(keyNextRangeID, strconv.Itoa(len(descs)+1))}
	for _, d := range descs {
		val, err := proto.Marshal(d)
		if err != nil {
			return false, fmt.Errorf("marshal range %d: %w", d.RangeId, err)
		}
		ops = append(ops, clientv3.OpPut(rangeKey(d.RangeId), string(val)))
	}
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(keyRangesPrefix), "=", 0).WithPrefix()).
		Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("bootstrap range map: %w", err)
	}
	if !resp.Succeeded {
		return false, nil
	}
	s.log.Info("range map bootstrapped", "shard", shard, "ranges", len(descs))
	s.waitIndex(ctx, resp.Header.Revision)
	return true, nil
}

// LookupRange returns the range with start <= key < end (empty end = +inf),
// from the in-memory index.
func (s *Server) LookupRange(_ context.Context, req *api.LookupRangeRequest) (*api.LookupRangeResponse, error) {
	r := s.ranges.lookup(req.GetKey())
	if r == nil {
		if s.ranges.len() == 0 {
			return nil, status.Error(codes.NotFound, "lookup range: the range map is empty (no shard has registered yet)")
		}
		return nil, status.Errorf(codes.NotFound, "lookup range: no range holds key %q", req.GetKey())
	}
	return &api.LookupRangeResponse{Range: r}, nil
}

// ScanRanges returns the ranges overlapping [start_key, end_key) in key
// order; an empty end_key means to the end of the keyspace.
func (s *Server) ScanRanges(_ context.Context, req *api.ScanRangesRequest) (*api.ScanRangesResponse, error) {
	start, end := req.GetStartKey(), req.GetEndKey()
	if len(end) > 0 && bytes.Compare(end, start) < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "scan ranges: end key %q sorts before start key %q", end, start)
	}
	return &api.ScanRangesResponse{Ranges: s.ranges.scan(start, end)}, nil
}

// WatchRanges sends every descriptor in key order (snapshot=true), then one event per
// etcd change with the upserted and deleted descriptors, until the client
// goes away or the server closes. After an etcd compaction it sends a fresh
// snapshot.
func (s *Server) WatchRanges(_ *api.WatchRangesRequest, stream grpc.ServerStreamingServer[api.RangeEvent]) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()
	for {
		rs, rev, err := s.loadRanges(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return rpcErr(fmt.Errorf("watch ranges: %w", err))
		}
		snap := descsOf(rs)
		slices.SortFunc(snap, func(a, b *api.RangeDescriptor) int { return bytes.Compare(a.StartKey, b.StartKey) })
		if err := stream.Send(&api.RangeEvent{Snapshot: true, Upserts: snap}); err != nil {
			return err
		}
		wctx, wcancel := context.WithCancel(ctx)
		wch := s.cli.Watch(wctx, keyRangesPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		var werr error
		for wr := range wch {
			if werr = wr.Err(); werr != nil {
				break
			}
			ups, dels, err := rangeChanges(wr)
			if err != nil {
				werr = err
				break
			}
			if len(ups) == 0 && len(dels) == 0 {
				continue
			}
			if err := stream.Send(&api.RangeEvent{Upserts: ups, Deleted: dels}); err != nil {
				wcancel()
				return err
			}
		}
		wcancel()
		if ctx.Err() != nil {
			return nil
		}
		if werr == nil {
			return status.Error(codes.Unavailable, "watch ranges: etcd watch ended")
		}
		s.log.Warn("range watch restarting with a snapshot", "err", werr)
	}
}

// SplitRange splits the range holding split_key at it. When a range already
// starts at split_key it returns that range as right and its left neighbour
// as left, changing nothing.
func (s *Server) SplitRange(ctx context.Context, req *api.SplitRangeRequest) (*api.SplitRangeResponse, error) {
	resp, err := s.splitRange(ctx, req.GetSplitKey())
	if err != nil {
		return nil, rpcErr(fmt.Errorf("split range: %w", err))
	}
	return resp, nil
}

func (s *Server) splitRange(ctx context.Context, key []byte) (*api.SplitRangeResponse, error) {
	if len(key) == 0 {
		return nil, status.Error(codes.InvalidArgument, "split key must not be empty")
	}
	s.rangesMu.Lock()
	defer s.rangesMu.Unlock()
	for range maxTxnAttempts {
		all, _, err := s.loadRanges(ctx)
		if err != nil {
			return nil, err
		}
		var holder, leftNeighbour *storedRange
		var nextID uint64 = 1
		for i := range all {
			d := all[i].desc
			nextID = max(nextID, d.RangeId+1)
			if containsKey(d, key) {
				holder = &all[i]
			}
			if bytes.Equal(d.EndKey, key) {
				leftNeighbour = &all[i]
			}
		}
		if holder == nil {
			if len(all) == 0 {
				return nil, status.Error(codes.FailedPrecondition, "the range map is empty (no shard has registered yet)")
			}
			return nil, status.Errorf(codes.Internal, "no range holds key %q", key)
		}
		old := holder.desc
		if bytes.Equal(old.StartKey, key) {
			out := &api.SplitRangeResponse{Right: old}
			if leftNeighbour != nil {
				out.Left = leftNeighbour.desc
			}
			return out, nil
		}
		node, err := s.getNode(ctx, old.Shard)
		if err != nil {
			return nil, err
		}
		if node == nil {
			return nil, status.Errorf(codes.Unavailable, "shard %d holding range %d is not registered", old.Shard, old.RangeId)
		}
		prep, err := s.prepareSplit(ctx, node, old, key)
		if err != nil {
			return nil, err
		}
		target := old.Shard
		if prep.GetRightEmpty() {
			if target, err = s.leastLoadedShard(ctx, descsOf(all), key, old.Shard); err != nil {
				return nil, err
			}
		}
		idCounter, idRev, err := s.readCounter(ctx, keyNextRangeID, nextID)
		if err != nil {
			return nil, err
		}
		nextID = max(nextID, idCounter)

		left := proto.Clone(old).(*api.RangeDescriptor)
		left.EndKey = bytes.Clone(key)
		left.Generation++
		right := &api.RangeDescriptor{
			RangeId:    nextID,
			StartKey:   bytes.Clone(key),
			EndKey:     bytes.Clone(old.EndKey),
			Generation: left.Generation,
			Shard:      target,
			MinWriteTs: max(prep.GetMaxReadTs()+1, old.MinWriteTs),
		}
		lv, err := proto.Marshal(left)
		if err != nil {
			return nil, fmt.Errorf("marshal range %d: %w", left.RangeId, err)
		}
		rv, err := proto.Marshal(right)
		if err != nil {
			return nil, fmt.Errorf("marshal range %d: %w", right.RangeId, err)
		}
		resp, err := s.cli.Txn(ctx).
			If(
				clientv3.Compare(clientv3.ModRevision(rangeKey(old.RangeId)), "=", holder.modRev),
				clientv3.Compare(clientv3.ModRevision(keyNextRangeID), "=", idRev),
				clientv3.Compare(clientv3.CreateRevision(rangeKey(right.RangeId)), "=", 0),
			).
			Then(
				clientv3.OpPut(rangeKey(left.RangeId), string(lv)),
				clientv3.OpPut(rangeKey(right.RangeId), string(rv)),
				clientv3.OpPut(keyNextRangeID, strconv.FormatUint(nextID+1, 10)),
			).Commit()
		if err != nil {
			return nil, fmt.Errorf("commit split of range %d: %w", old.RangeId, err)
		}
		if !resp.Succeeded {
			s.log.Warn("split conflicted with a concurrent change, retrying", "range", old.RangeId)
			continue
		}
		s.log.Info("range split", "range", old.RangeId, "key", fmt.Sprintf("%q", key),
			"right", right.RangeId, "right_shard", right.Shard, "generation", left.Generation)
		s.waitIndex(ctx, resp.Header.Revision)
		return &api.SplitRangeResponse{Left: left, Right: right}, nil
	}
	return nil, errConflict
}

// prepareSplit asks the holding shard to fence [key, end) of r, retrying
// with backoff on NOT_READY, NOT_FOUND (the shard's watch lags) and
// unavailability within splitRetryBudget.
func (s *Server) prepareSplit(ctx context.Context, node *api.NodeDescriptor, r *api.RangeDescriptor, key []byte) (*api.PrepareSplitResponse, error) {
	deadline := time.Now().Add(s.splitRetryBudget)
	backoff := 25 * time.Millisecond
	req := &api.PrepareSplitRequest{
		Ctx:      &api.RangeContext{RangeId: r.RangeId, Generation: r.Generation},
		SplitKey: key,
		FenceMs:  s.cfg.SplitFenceMs,
	}
	var last string
	for attempt := 1; ; attempt++ {
		cl, err := s.shardClient(ctx, node.Addr)
		if err != nil {
			return nil, err
		}
		actx, cancel := context.WithDeadline(ctx, deadline)
		resp, err := cl.PrepareSplit(actx, req)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			code := status.Code(err)
			if code != codes.Unavailable && code != codes.DeadlineExceeded {
				return nil, status.Errorf(codes.Unavailable, "prepare split of range %d on shard %d (%s): %v",
					r.RangeId, node.Id, node.Addr, err)
			}
			last = err.Error()
		case resp.GetRangeError() != nil:
			re := resp.GetRangeError()
			// NOT_FOUND: the shard has not seen this range on its watch yet
			// (it was just created or moved); retry like NOT_READY.
			if k := re.GetKind(); k != api.RangeError_NOT_READY && k != api.RangeError_NOT_FOUND {
				return nil, status.Errorf(codes.Aborted, "prepare split of range %d generation %d on shard %d: shard answered %s: %s",
					r.RangeId, r.Generation, node.Id, re.GetKind(), re.GetMessage())
			}
			last = "range not ready: " + re.GetMessage()
		default:
			return resp, nil
		}
		if time.Until(deadline) <= backoff {
			return nil, status.Errorf(codes.Unavailable, "prepare split of range %d on shard %d (%s) failed after %d attempts in %v: %s",
				r.RangeId, node.Id, node.Addr, attempt, s.splitRetryBudget, last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// leastLoadedShard returns the live shard node that should take a new,
// empty range starting at key: the one holding the fewest ranges of the
// same table (so a table's ranges spread out), then the fewest ranges
// overall, then the lowest id; fallback when no shard node is live.
func (s *Server) leastLoadedShard(ctx context.Context, ranges []*api.RangeDescriptor, key []byte, fallback uint64) (uint64, error) {
	nodes, err := s.listNodes(ctx)
	if err != nil {
		return 0, err
	}
	tableID, _, inTable := keys.DecodeTablePrefix(key)
	counts := map[uint64]int{}
	tableCounts := map[uint64]int{}
	for _, r := range ranges {
		counts[r.Shard]++
		if id, _, ok := keys.DecodeTablePrefix(r.StartKey); inTable && ok && id == tableID {
			tableCounts[r.Shard]++
		}
	}
	best := uint64(0)
	for _, n := range nodes { // sorted by id
		if n.Role != RoleShard || !n.Live {
			continue
		}
		if best == 0 || tableCounts[n.Id] < tableCounts[best] ||
			(tableCounts[n.Id] == tableCounts[best] && counts[n.Id] < counts[best]) {
			best = n.Id
		}
	}
	if best == 0 {
		return fallback, nil
	}
	return best, nil
}
