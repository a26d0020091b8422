package shardmeta

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/shardsql/shardsql/api"
)

// Sequences are catalog entries (a TableDescriptor with its sequence field
// set, sharing the table namespace); their state lives apart, under
// sequences/<id>, so handing out values does not touch the catalog version
// or wake catalog watchers. A missing state key means "not called yet, next
// value is start".
const keySequencesPrefix = keyPrefix + "sequences/"

func sequenceKey(id uint32) string { return fmt.Sprintf("%s%010d", keySequencesPrefix, id) }

// readSequence reads a sequence's descriptor and state at one revision.
// stateRev is the state key's mod revision (0 when absent).
func (s *Server) readSequence(ctx context.Context, id uint32) (*api.TableDescriptor, *api.SequenceState, int64, error) {
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(tableKey(id)),
		clientv3.OpGet(sequenceKey(id)),
	).Commit()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read sequence %d: %w", id, err)
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, nil, 0, status.Errorf(codes.NotFound, "sequence %d does not exist", id)
	}
	desc := &api.TableDescriptor{}
	if err := proto.Unmarshal(kvs[0].Value, desc); err != nil {
		return nil, nil, 0, status.Errorf(codes.Internal, "decode sequence %d: %v", id, err)
	}
	if desc.GetSequence() == nil {
		return nil, nil, 0, status.Errorf(codes.FailedPrecondition, "%q is not a sequence", desc.GetName())
	}
	st := &api.SequenceState{LastValue: desc.GetSequence().GetStart()}
	var rev int64
	if skvs := resp.Responses[1].GetResponseRange().Kvs; len(skvs) > 0 {
		if err := proto.Unmarshal(skvs[0].Value, st); err != nil {
			return nil, nil, 0, status.Errorf(codes.Internal, "decode sequence %d state: %v", id, err)
		}
		rev = skvs[0].ModRevision
	}
	return desc, st, rev, nil
}

// writeSequenceState stores st if the state key is still at rev.
func (s *Server) writeSequenceState(ctx context.Context, id uint32, rev int64, st *api.SequenceState) (bool, error) {
	val, err := proto.Marshal(st)
	if err != nil {
		return false, status.Errorf(codes.Internal, "marshal sequence state: %v", err)
	}
	resp, err := s.cli.Txn(ctx).
		If(
			clientv3.Compare(clientv3.ModRevision(sequenceKey(id)), "=", rev),
			// The sequence must still exist (not dropped meanwhile).
			clientv3.Compare(clientv3.CreateRevision(tableKey(id)), ">", 0),
		).
		Then(clientv3.OpPut(sequenceKey(id), string(val))).
		Commit()
	if err != nil {
		return false, fmt.Errorf("write sequence %d state: %w", id, err)
	}
	return resp.Succeeded, nil
}

// SequenceAllocate reserves up to count values of a sequence with
// PostgreSQL's nextval rules: the first value is the stored one when it was
// not called yet, else the last plus the increment; past the maximum (or
// minimum, for a negative increment) it wraps to the other end when the
// sequence cycles and fails with OutOfRange otherwise. A block never wraps:
// it ends at the bound, and the next allocation wraps.
func (s *Server) SequenceAllocate(ctx context.Context, req *api.SequenceAllocateRequest) (*api.SequenceAllocateResponse, error) {
	id, count := req.GetSequenceId(), max(req.GetCount(), 1)
	s.sequenceMu.Lock()
	defer s.sequenceMu.Unlock()
	for range maxTxnAttempts {
		desc, st, rev, err := s.readSequence(ctx, id)
		if err != nil {
			return nil, rpcErr(err)
		}
		first, n, err := allocateValues(desc.GetSequence(), st, count)
		if err != nil {
			return nil, err
		}
		inc := desc.GetSequence().GetIncrement()
		next := &api.SequenceState{LastValue: first + (n-1)*inc, IsCalled: true}
		ok, err := s.writeSequenceState(ctx, id, rev, next)
		if err != nil {
			return nil, rpcErr(err)
		}
		if ok {
			return &api.SequenceAllocateResponse{First: first, Count: n, Increment: inc, Version: desc.GetVersion()}, nil
		}
	}
	return nil, rpcErr(fmt.Errorf("allocate from sequence %d: %w", id, errConflict))
}

// allocateValues computes the block a SequenceAllocate of count values
// hands out from state st: its first value and length (at least 1).
func allocateValues(seq *api.SequenceDescriptor, st *api.SequenceState, count int64) (first, n int64, err error) {
	inc, lo, hi := seq.GetIncrement(), seq.GetMinValue(), seq.GetMaxValue()
	if inc == 0 {
		return 0, 0, status.Error(codes.Internal, "sequence has increment 0")
	}
	if !st.GetIsCalled() {
		first = st.GetLastValue()
	} else {
		last := st.GetLastValue()
		sum := last + inc
		overflow := (inc > 0 && sum < last) || (inc < 0 && sum > last)
		switch {
		case inc > 0 && (overflow || sum > hi):
			if !seq.GetCycle() {
				return 0, 0, status.Errorf(codes.OutOfRange, "maximum %d", hi)
			}
			first = lo
		case inc < 0 && (overflow || sum < lo):
			if !seq.GetCycle() {
				return 0, 0, status.Errorf(codes.OutOfRange, "minimum %d", lo)
			}
			first = hi
		default:
			first = sum
		}
	}
	if first < lo || first > hi {
		// A stored value outside the bounds (the bounds were changed).
		if inc > 0 && first > hi || inc < 0 && first < lo {
			if !seq.GetCycle() {
				if inc > 0 {
					return 0, 0, status.Errorf(codes.OutOfRange, "maximum %d", hi)
				}
				return 0, 0, status.Errorf(codes.OutOfRange, "minimum %d", lo)
			}
		}
		if inc > 0 {
			first = lo
		} else {
			first = hi
		}
	}
	// How many more steps fit before the bound (differences as uint64:
	// they can exceed the int64 range).
	var room uint64
	if inc > 0 {
		room = uint64(hi-first) / uint64(inc)
	} else {
		room = uint64(first-lo) / (uint64(-(inc + 1)) + 1)
	}
	n = count
	if uint64(n-1) > room {
		n = int64(room) + 1
	}
	return first, n, nil
}

// SequenceSet stores a sequence's state (setval, ALTER SEQUENCE RESTART).
// The value must lie within the sequence's bounds.
func (s *Server) SequenceSet(ctx context.Context, req *api.SequenceSetRequest) (*api.SequenceSetResponse, error) {
	id := req.GetSequenceId()
	s.sequenceMu.Lock()
	defer s.sequenceMu.Unlock()
	for range maxTxnAttempts {
		desc, st, rev, err := s.readSequence(ctx, id)
		if err != nil {
			return nil, rpcErr(err)
		}
		if req.GetConditional() && (!st.GetIsCalled() || st.GetLastValue() != req.GetExpectedLastValue()) {
			return &api.SequenceSetResponse{}, nil
		}
		seq := desc.GetSequence()
		if v := req.GetValue(); v < seq.GetMinValue() || v > seq.GetMaxValue() {
			return nil, status.Errorf(codes.InvalidArgument, "setval: value %d is out of bounds for sequence %q (%d..%d)", v, desc.GetName(), seq.GetMinValue(), seq.GetMaxValue())
		}
		ok, err := s.writeSequenceState(ctx, id, rev, &api.SequenceState{LastValue: req.GetValue(), IsCalled: req.GetIsCalled()})
		if err != nil {
			return nil, rpcErr(err)
		}
		if ok {
			return &api.SequenceSetResponse{}, nil
		}
	}
	return nil, rpcErr(fmt.Errorf("set sequence %d: %w", id, errConflict))
}

// descriptorKind names what a catalog entry is: "table", "view" or "sequence".
func descriptorKind(t *api.TableDescriptor) string {
	switch {
	case t.GetViewQuery() != "":
		return "view"
	case t.GetSequence() != nil:
		return "sequence"
	}
	return "table"
}

// SequenceGet reads a sequence's state.
func (s *Server) SequenceGet(ctx context.Context, req *api.SequenceGetRequest) (*api.SequenceState, error) {
	_, st, _, err := s.readSequence(ctx, req.GetSequenceId())
	if err != nil {
		return nil, rpcErr(err)
	}
	return st, nil
}
