package shard

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/shardsql/shardsql/api"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file holds the gRPC handlers of api.ShardServer: each checks the
// request's range context (and keys) against the owned ranges, then calls
// the store. Range and key errors travel in the response; storage failures
// and malformed requests are gRPC errors.

// grpcError maps a store error to a gRPC status.
func grpcError(err error) error {
	var ae *argError
	if errors.As(err, &ae) {
		return status.Error(codes.InvalidArgument, ae.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// checkRead validates a read and, while still holding the range table's
// read lock, raises maxReadTS to ts (so PrepareSplit's max_read_ts covers
// every read admitted before its fence).
func (s *Server) checkRead(rc *api.RangeContext, keys [][]byte, sp *span, ts uint64) (*api.RangeDescriptor, *api.RangeError) {
	s.ranges.mu.RLock()
	defer s.ranges.mu.RUnlock()
	d, rerr := s.ranges.checkLocked(rc, keys, sp)
	if rerr == nil {
		s.store.BumpMaxReadTS(ts)
	}
	return d, rerr
}

// withWrite validates a write and runs fn while holding the range table's
// read lock, so a fence installed by PrepareSplit waits for it.
func (s *Server) withWrite(rc *api.RangeContext, keys [][]byte, fn func(d *api.RangeDescriptor) error) (*api.RangeError, error) {
	s.ranges.mu.RLock()
	defer s.ranges.mu.RUnlock()
	d, rerr := s.ranges.checkLocked(rc, keys, nil)
	if rerr != nil {
		return rerr, nil
	}
	if err := fn(d); err != nil {
		return nil, grpcError(err)
	}
	return nil, nil
}

func mutationKeys(muts []*api.Mutation) [][]byte {
	keys := make([][]byte, len(muts))
	for i, m := range muts {
		keys[i] = m.GetKey()
	}
	return keys
}

// Get reads one key at a timestamp.
func (s *Server) Get(_ context.Context, req *api.GetRequest) (*api.GetResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	if _, rerr := s.checkRead(req.GetCtx(), [][]byte{req.GetKey()}, nil, req.GetTs()); rerr != nil {
		return &api.GetResponse{RangeError: rerr}, nil
	}
	v, found, kerr, err := s.store.Get(req.GetKey(), req.GetTs())
	if err != nil {
		return nil, grpcError(err)
	}
	return &api.GetResponse{Error: kerr, Found: found, Value: v}, nil
}

// BatchGet reads several keys of one range at a timestamp.
func (s *Server) BatchGet(_ context.Context, req *api.BatchGetRequest) (*api.BatchGetResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	if _, rerr := s.checkRead(req.GetCtx(), req.GetKeys(), nil, req.GetTs()); rerr != nil {
		return &api.BatchGetResponse{RangeError: rerr}, nil
	}
	pairs, kerr, err := s.store.BatchGet(req.GetKeys(), req.GetTs())
	if err != nil {
		return nil, grpcError(err)
	}
	return &api.BatchGetResponse{Error: kerr, Pairs: pairs}, nil
}

// Scan reads a span of one range at a timestamp. An empty start_key means
// the range's start, an empty end_key the range's end.
func (s *Server) Scan(ctx context.Context, req *api.ScanRequest) (*api.ScanResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	d, rerr := s.checkRead(req.GetCtx(), nil, &span{start: req.GetStartKey(), end: req.GetEndKey()}, req.GetTs())
	if rerr != nil {
		return &api.ScanResponse{RangeError: rerr}, nil
	}
	start, end := req.GetStartKey(), req.GetEndKey()
	if len(start) == 0 {
		start = d.GetStartKey()
	}
	if len(end) == 0 {
		end = d.GetEndKey()
	}
	if len(end) != 0 && bytes.Compare(start, end) >= 0 {
		return &api.ScanResponse{}, nil
	}
	if len(req.GetProgram()) > 0 {
		return s.scanProgram(ctx, req, start, end)
	}
	pairs, resume, kerr, err := s.store.Scan(start, end, req.GetTs(), int(req.GetLimit()), req.GetKeysOnly())
	if err != nil {
		return nil, grpcError(err)
	}
	return &api.ScanResponse{Error: kerr, Pairs: pairs, ResumeKey: resume}, nil
}

// Prewrite locks the mutations of a transaction (all or none).
func (s *Server) Prewrite(_ context.Context, req *api.PrewriteRequest) (*api.PrewriteResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.PrewriteResponse{}
	rerr, err := s.withWrite(req.GetCtx(), mutationKeys(req.GetMutations()), func(*api.RangeDescriptor) error {
		var err error
		resp.Errors, err = s.store.Prewrite(req.GetMutations(), req.GetPrimary(), req.GetStartTs(), req.GetLockTtlMs())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// Commit commits the locks of a transaction on keys.
func (s *Server) Commit(_ context.Context, req *api.CommitRequest) (*api.CommitResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.CommitResponse{}
	rerr, err := s.withWrite(req.GetCtx(), req.GetKeys(), func(*api.RangeDescriptor) error {
		var err error
		resp.Error, err = s.store.Commit(req.GetKeys(), req.GetStartTs(), req.GetCommitTs())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// Rollback rolls a transaction back on keys, or with pessimistic_only
// releases just its pessimistic locks there.
func (s *Server) Rollback(_ context.Context, req *api.RollbackRequest) (*api.RollbackResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.RollbackResponse{}
	rerr, err := s.withWrite(req.GetCtx(), req.GetKeys(), func(*api.RangeDescriptor) error {
		if req.GetPessimisticOnly() {
			return s.store.RollbackPessimistic(req.GetKeys(), req.GetStartTs())
		}
		var err error
		resp.Error, err = s.store.Rollback(req.GetKeys(), req.GetStartTs())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// CheckTxnStatus decides a transaction's fate from its primary key.
func (s *Server) CheckTxnStatus(_ context.Context, req *api.CheckTxnStatusRequest) (*api.CheckTxnStatusResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.CheckTxnStatusResponse{}
	rerr, err := s.withWrite(req.GetCtx(), [][]byte{req.GetPrimary()}, func(*api.RangeDescriptor) error {
		st, err := s.store.CheckTxnStatus(req.GetPrimary(), req.GetLockTs(), req.GetCurrentTs())
		resp.Status, resp.CommitTs, resp.LockTtlMs = st.Status, st.CommitTS, st.LockTTLMs
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// ResolveLock commits or rolls back a transaction's locks on keys.
func (s *Server) ResolveLock(_ context.Context, req *api.ResolveLockRequest) (*api.ResolveLockResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.ResolveLockResponse{}
	rerr, err := s.withWrite(req.GetCtx(), req.GetKeys(), func(*api.RangeDescriptor) error {
		var err error
		resp.Error, err = s.store.ResolveLock(req.GetStartTs(), req.GetCommitTs(), req.GetKeys())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// OnePC prewrites and commits a single-range transaction in one step.
func (s *Server) OnePC(_ context.Context, req *api.OnePCRequest) (*api.OnePCResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.OnePCResponse{}
	rerr, err := s.withWrite(req.GetCtx(), mutationKeys(req.GetMutations()), func(d *api.RangeDescriptor) error {
		var err error
		resp.CommitTs, resp.Errors, err = s.store.OnePC(req.GetMutations(), req.GetStartTs(), d.GetMinWriteTs())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// AcquireLocks takes a transaction's pessimistic locks on keys of one range
// (all or none).
func (s *Server) AcquireLocks(_ context.Context, req *api.AcquireLocksRequest) (*api.AcquireLocksResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.AcquireLocksResponse{}
	rerr, err := s.withWrite(req.GetCtx(), req.GetKeys(), func(*api.RangeDescriptor) error {
		var err error
		resp.Errors, err = s.store.AcquireLocks(req.GetKeys(), req.GetPrimary(), req.GetStartTs(), req.GetForUpdateTs(), req.GetLockTtlMs())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// TxnHeartbeat extends the TTL of a transaction's primary lock.
func (s *Server) TxnHeartbeat(_ context.Context, req *api.TxnHeartbeatRequest) (*api.TxnHeartbeatResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	resp := &api.TxnHeartbeatResponse{}
	rerr, err := s.withWrite(req.GetCtx(), [][]byte{req.GetPrimary()}, func(*api.RangeDescriptor) error {
		var err error
		resp.LockTtlMs, resp.Error, err = s.store.TxnHeartbeat(req.GetPrimary(), req.GetStartTs(), req.GetTtlMs())
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.RangeError = rerr
	return resp, nil
}

// ScanLocks lists a range's locks of transactions that started at or before
// max_start_ts, for the background lock resolver.
func (s *Server) ScanLocks(_ context.Context, req *api.ScanLocksRequest) (*api.ScanLocksResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	s.ranges.mu.RLock()
	d, rerr := s.ranges.checkLocked(req.GetCtx(), nil, nil)
	s.ranges.mu.RUnlock()
	if rerr != nil {
		return &api.ScanLocksResponse{RangeError: rerr}, nil
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > DefaultScanLimit {
		limit = DefaultScanLimit
	}
	locks, err := s.store.ScanLocks(d.GetStartKey(), d.GetEndKey(), req.GetMaxStartTs(), limit)
	if err != nil {
		return nil, grpcError(err)
	}
	return &api.ScanLocksResponse{Locks: locks}, nil
}

// PrepareSplit fences [split_key, end) of a range until the split's new
// generation arrives through the range watch (or fence_ms passes) and
// reports whether that half holds any record at all.
func (s *Server) PrepareSplit(_ context.Context, req *api.PrepareSplitRequest) (*api.PrepareSplitResponse, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	dur := time.Duration(req.GetFenceMs()) * time.Millisecond
	if dur <= 0 {
		dur = DefaultFence
	}
	d, rerr := s.ranges.fenceSplit(req.GetCtx(), req.GetSplitKey(), dur)
	if rerr != nil {
		return &api.PrepareSplitResponse{RangeError: rerr}, nil
	}
	empty, err := s.store.SpanEmpty(req.GetSplitKey(), d.GetEndKey())
	if err != nil {
		return nil, grpcError(err)
	}
	s.log.Info("split prepared", "range_id", d.GetRangeId(), "split_key", req.GetSplitKey(), "right_empty", empty)
	return &api.PrepareSplitResponse{RightEmpty: empty, MaxReadTs: s.store.MaxReadTS()}, nil
}
