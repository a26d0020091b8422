package sqlfront

import (
	"context"
	"fmt"
	"time"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// explain answers EXPLAIN [ANALYZE]: the distributed plan, one row per
// line of a "QUERY PLAN" column. ANALYZE runs the statement first (and, as
// in PostgreSQL, a write really happens: inside a transaction block it
// joins the transaction, else it commits).
func (s *session) explain(ctx context.Context, p *planner.Explain) error {
	var an *exec.Analysis
	var took time.Duration
	if p.Analyze {
		an = exec.NewAnalysis()
		actx := exec.WithAnalysis(ctx, an)
		start := time.Now()
		if err := s.runAnalyzed(actx, p.Inner); err != nil {
			return err
		}
		took = time.Since(start)
	}
	lines := exec.Explain(ctx, p.Inner, s.rangeNames, an, took)
	rows := make([][]types.Datum, len(lines))
	for i, l := range lines {
		rows[i] = []types.Datum{types.NewString(l)}
	}
	s.sendRows([]exec.Column{{Name: "QUERY PLAN", Type: types.Text}}, rows)
	s.complete("EXPLAIN")
	return nil
}

// runAnalyzed runs the statement of EXPLAIN ANALYZE, discarding its rows.
func (s *session) runAnalyzed(ctx context.Context, p planner.Plan) error {
	discard := func([]types.Datum) error { return nil }
	if s.tx != nil {
		tx := s.tx
		if tx.readOnly {
			if _, ok := p.(*planner.Select); !ok {
				return pgerr.New("25006", "cannot execute %s in a read-only transaction", planName(p))
			}
		}
		if tx.isolation == readCommitted {
			ts, err := s.srv.client.Oracle().Now(ctx)
			if err != nil {
				return pgerr.Wrap(err, pgerr.SystemError, "getting a statement snapshot")
			}
			tx.t.ReadTS = ts
		}
		_, err := exec.Run(ctx, p, tx.t, s.execIDs(), discard)
		return s.describeError(err)
	}
	t, err := s.srv.client.Begin(ctx)
	if err != nil {
		return err
	}
	if _, ok := p.(*planner.Select); ok {
		_, err = exec.Run(ctx, p, t, s.execIDs(), discard)
		t.Rollback()
		return err
	}
	if _, err = exec.Run(ctx, p, t, s.execIDs(), discard); err == nil {
		err = s.srv.checkTxnSize(t)
	}
	if err != nil {
		t.Rollback()
		return s.describeError(err)
	}
	return s.describeError(t.Commit(ctx))
}

// rangeNames names the ranges a span touches: r<range id>@s<shard>.
func (s *session) rangeNames(ctx context.Context, start, end []byte) ([]string, error) {
	ds, err := s.srv.client.RangesFor(ctx, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("r%d@s%d", d.RangeId, d.Shard)
	}
	return out, nil
}
