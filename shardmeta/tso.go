package shardmeta

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
)

// Timestamp layout: physical milliseconds << LogicalBits | logical.
const (
	// LogicalBits is the width of the logical part of a timestamp.
	LogicalBits = 18
	// MaxTimestampCount is the largest count one GetTimestamp may reserve.
	MaxTimestampCount = 1 << LogicalBits

	tsoWindowMs    = 3000
	keyTSOCeiling  = keyPrefix + "tso/ceiling"
	logicalMaskTSO = 1<<LogicalBits - 1
)

// ComposeTimestamp builds a timestamp from physical milliseconds and a
// logical counter.
func ComposeTimestamp(physicalMs, logical uint64) uint64 {
	return physicalMs<<LogicalBits | logical&logicalMaskTSO
}

// SplitTimestamp returns the physical milliseconds and logical counter of ts.
func SplitTimestamp(ts uint64) (physicalMs, logical uint64) {
	return ts >> LogicalBits, ts & logicalMaskTSO
}

// tso is the timestamp oracle. Timestamps are handed out from memory; the
// persisted ceiling (physical ms) is always above the physical part of every
// timestamp handed out, and a (re)start begins above the stored ceiling.
type tso struct {
	cli *clientv3.Client
	now func() time.Time

	mu sync.Mutex
	// last is the last timestamp handed out.
	last uint64
	// ceiling is the persisted ceiling; ceilingRev its mod revision.
	ceiling    uint64
	ceilingRev int64
	// stale is set when a ceiling write failed in an unknown way; the next
	// call resynchronises from etcd as a restart would.
	stale bool
}

// load reads the stored ceiling, starts above it and persists a new one.
func (t *tso) load(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.syncLocked(ctx)
}

func (t *tso) syncLocked(ctx context.Context) error {
	resp, err := t.cli.Get(ctx, keyTSOCeiling)
	if err != nil {
		return fmt.Errorf("read tso ceiling: %w", err)
	}
	var stored uint64
	var rev int64
	if len(resp.Kvs) > 0 {
		stored, err = strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64)
		if err != nil {
			return fmt.Errorf("parse tso ceiling: %w", err)
		}
		rev = resp.Kvs[0].ModRevision
	}
	t.ceiling, t.ceilingRev = stored, rev
	// Every timestamp handed out before has physical < stored: begin at
	// physical stored+1.
	if floor := ComposeTimestamp(stored+1, 0) - 1; t.last < floor {
		t.last = floor
	}
	if err := t.raiseLocked(ctx, stored+1); err != nil {
		return err
	}
	t.stale = false
	return nil
}

// raiseLocked persists a ceiling of max(now, minPhysical) + the window.
func (t *tso) raiseLocked(ctx context.Context, minPhysical uint64) error {
	next := max(uint64(t.now().UnixMilli()), minPhysical) + tsoWindowMs
	// A cancelled request must not leave the write's outcome unknown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), etcdOpTimeout)
	defer cancel()
	resp, err := t.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(keyTSOCeiling), "=", t.ceilingRev)).
		Then(clientv3.OpPut(keyTSOCeiling, strconv.FormatUint(next, 10))).
		Commit()
	if err != nil {
		t.stale = true
		return fmt.Errorf("persist tso ceiling: %w", err)
	}
	if !resp.Succeeded {
		t.stale = true
		return status.Error(codes.Unavailable, "tso ceiling was changed by another writer")
	}
	t.ceiling, t.ceilingRev = next, resp.Header.Revision
	return nil
}

// next reserves n >= 1 consecutive timestamps and returns the first.
// Consecutive values carry a logical overflow into the physical part.
func (t *tso) next(ctx context.Context, n uint64) (uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stale {
		if err := t.syncLocked(ctx); err != nil {
			return 0, err
		}
	}
	first := max(t.last+1, ComposeTimestamp(uint64(t.now().UnixMilli()), 0))
	last := first + n - 1
	if phys, _ := SplitTimestamp(last); phys >= t.ceiling {
		if err := t.raiseLocked(ctx, phys+1); err != nil {
			return 0, err
		}
	}
	t.last = last
	return first, nil
}

// GetTimestamp reserves count (0 means 1) consecutive, strictly increasing
// timestamps and returns the first.
func (s *Server) GetTimestamp(ctx context.Context, req *api.GetTimestampRequest) (*api.GetTimestampResponse, error) {
	n := uint64(req.GetCount())
	if n == 0 {
		n = 1
	}
	if n > MaxTimestampCount {
		return nil, status.Errorf(codes.InvalidArgument, "timestamp count %d exceeds the maximum %d", n, MaxTimestampCount)
	}
	ts, err := s.tso.next(ctx, n)
	if err != nil {
		return nil, rpcErr(fmt.Errorf("get timestamp: %w", err))
	}
	return &api.GetTimestampResponse{Timestamp: ts, Count: uint32(n)}, nil
}
