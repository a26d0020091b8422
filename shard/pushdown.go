package shard

import (
	"bytes"
	"context"
	"time"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// Budgets of one pushed-down scan request: it returns when it has this
// many rows or bytes to send, or has read this many keys or run this long
// (then with a resume key, so one request never holds the server long).
const (
	pushdownMaxRows  = 1024
	pushdownMaxBytes = 1 << 20
	pushdownMaxKeys  = 1 << 16
	pushdownMaxTime  = 200 * time.Millisecond
)

// scanProgram runs a pushed-down program over [start, end) at ts: it reads
// the visible rows batch by batch and feeds them to the program.
func (s *Server) scanProgram(ctx context.Context, req *api.ScanRequest, start, end []byte) (*api.ScanResponse, error) {
	began := time.Now()
	prog, err := exec.DecodeProgram(req.GetProgram())
	if err != nil {
		return nil, grpcError(errArg("%v", err))
	}
	if req.GetLimit() > 0 && (prog.Limit == 0 || int(req.GetLimit()) < prog.Limit) {
		prog.Limit = int(req.GetLimit())
	}
	pr := exec.NewProgramRunner(ctx, prog)
	resp := &api.ScanResponse{}
	cur := start
	var resume []byte
scan:
	for {
		pairs, next, kerr, err := s.store.Scan(cur, end, req.GetTs(), DefaultScanLimit, pr.KeysOnly())
		if err != nil {
			return nil, grpcError(err)
		}
		if kerr != nil {
			if pr.Empty() && bytes.Equal(cur, start) {
				resp.Error = kerr
				return resp, nil
			}
			// Send what is done; the next request meets the lock first.
			resume = cur
			break
		}
		for i, kv := range pairs {
			full, err := pr.Add(kv.Key, kv.Value)
			if err != nil {
				resp.SqlErrorCode = pgerr.Code(err)
				resp.SqlErrorMessage = err.Error()
				return resp, nil
			}
			if full {
				if i+1 < len(pairs) {
					resume = pairs[i+1].Key
				} else {
					resume = next
				}
				break scan
			}
		}
		if next == nil {
			break
		}
		cur = next
		if pr.Full(pushdownMaxRows, pushdownMaxBytes) || pr.KeysRead >= pushdownMaxKeys || time.Since(began) > pushdownMaxTime {
			resume = cur
			break
		}
	}
	rows, partials := pr.Result()
	var n uint64
	for _, r := range rows {
		resp.Pairs = append(resp.Pairs, &api.KeyValue{Key: r.Key, Value: r.Value})
		n += uint64(len(r.Key) + len(r.Value))
	}
	for _, p := range partials {
		n += uint64(len(p))
	}
	resp.Partials = partials
	resp.ResumeKey = resume
	resp.Stats = &api.ScanStats{
		KeysRead:      uint64(pr.KeysRead),
		RowsReturned:  uint64(len(rows) + len(partials)),
		BytesReturned: n,
		DurationUs:    uint64(time.Since(began).Microseconds()),
	}
	return resp, nil
}
