package exec

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/shardsql/shardsql/internal/scanstat"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// Analysis collects what EXPLAIN ANALYZE shows: rows and time per
// operator, and per scan what each range read and sent back.
type Analysis struct {
	mu    sync.Mutex
	ops   map[planner.Rel]*opStat
	scans map[*planner.Scan]*scanAnalysis
	// lookups counts, per join that read its right side by primary-key
	// lookups, the left rows it looked up.
	lookups map[*planner.Join]int
}

type opStat struct {
	rows  int64
	loops int64
	dur   time.Duration
}

type scanAnalysis struct {
	mu sync.Mutex
	// rowsIn and bytesIn count what reached the frontend's scan.
	rowsIn, bytesIn int64
	// partialGroups counts partial aggregation groups merged.
	partialGroups int64
	ranges        map[uint64]*rangeStat
}

type rangeStat struct {
	shard                               uint64
	requests, keys, rows, bytes, micros uint64
}

// NewAnalysis returns an empty Analysis.
func NewAnalysis() *Analysis {
	return &Analysis{ops: map[planner.Rel]*opStat{}, scans: map[*planner.Scan]*scanAnalysis{}, lookups: map[*planner.Join]int{}}
}

type analysisKey struct{}

// WithAnalysis returns a context under which Run records into a.
func WithAnalysis(ctx context.Context, a *Analysis) context.Context {
	return context.WithValue(ctx, analysisKey{}, a)
}

func analysisFrom(ctx context.Context) *Analysis {
	a, _ := ctx.Value(analysisKey{}).(*Analysis)
	return a
}

func (a *Analysis) scan(s *planner.Scan) *scanAnalysis {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sa, ok := a.scans[s]
	if !ok {
		sa = &scanAnalysis{ranges: map[uint64]*rangeStat{}}
		a.scans[s] = sa
	}
	return sa
}

func (sa *scanAnalysis) received(key, value []byte) {
	if sa == nil {
		return
	}
	sa.mu.Lock()
	sa.rowsIn++
	sa.bytesIn += int64(len(key) + len(value))
	sa.mu.Unlock()
}

// statFn returns the callback that records a scan's per-range statistics.
func (r *runner) statFn(s *planner.Scan) func(scanstat.Stat) {
	sa := r.an.scan(s)
	if sa == nil {
		return nil
	}
	return func(st scanstat.Stat) {
		sa.mu.Lock()
		defer sa.mu.Unlock()
		rs, ok := sa.ranges[st.RangeID]
		if !ok {
			rs = &rangeStat{shard: st.Shard}
			sa.ranges[st.RangeID] = rs
		}
		rs.requests++
		rs.keys += st.KeysRead
		rs.rows += st.RowsReturned
		rs.bytes += st.BytesReturned
		rs.micros += st.Micros
	}
}

func (r *runner) noteRows(s *planner.Scan, groups int64) {
	if sa := r.an.scan(s); sa != nil {
		sa.mu.Lock()
		sa.partialGroups += groups
		sa.mu.Unlock()
	}
}

// runAnalyzed runs rel counting its rows and the time it took (its
// inputs included).
func (r *runner) runAnalyzed(rel planner.Rel, outer *env, emit func(row []types.Datum) error) error {
	st := r.an.op(rel)
	start := time.Now()
	err := r.runOp(rel, outer, func(row []types.Datum) error {
		st.rows++
		return emit(row)
	})
	st.loops++
	st.dur += time.Since(start)
	return err
}

func (a *Analysis) op(rel planner.Rel) *opStat {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.ops[rel]
	if !ok {
		st = &opStat{}
		a.ops[rel] = st
	}
	return st
}

// sortedRanges returns a scan's range statistics by range id.
func (sa *scanAnalysis) sortedRanges() []uint64 {
	ids := make([]uint64, 0, len(sa.ranges))
	for id := range sa.ranges {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func (r *runner) noteLookup(j *planner.Join, n int) {
	if r.an != nil {
		r.an.mu.Lock()
		r.an.lookups[j] += n
		r.an.mu.Unlock()
	}
}
