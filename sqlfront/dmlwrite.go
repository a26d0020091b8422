package sqlfront

import (
	"context"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
	"github.com/shardsql/shardsql/txn"
)

// locksAutocommit reports whether an implicit transaction running p takes
// row locks: INSERT ... ON CONFLICT, whose read-then-write of a key must
// queue behind concurrent upserts of the same key (as PostgreSQL's does)
// rather than lose a write conflict.
func locksAutocommit(p planner.Plan) bool {
	ins, ok := p.(*planner.Insert)
	return ok && ins.OnConflict != nil
}

// collectRows returns a sink appending to *rows.
func collectRows(rows *[][]types.Datum) exec.RowSink {
	return func(row []types.Datum) error {
		*rows = append(*rows, row)
		return nil
	}
}

// tryLockedWrite runs p as its own row-locking transaction with READ
// COMMITTED statement restarts: when a key it locks was changed after its
// snapshot, it re-runs on a newer one.
func (s *session) tryLockedWrite(ctx context.Context, p planner.Plan, rows *[][]types.Datum) (string, error) {
	t, err := s.srv.client.Begin(ctx)
	if err != nil {
		return "", err
	}
	t.Pessimistic = true
	t.LockTimeout = s.lockTimeout
	before := t.Savepoint()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			ts, err := s.srv.client.Oracle().Now(ctx)
			if err != nil {
				t.Rollback()
				return "", pgerr.Wrap(err, pgerr.SystemError, "getting a statement snapshot")
			}
			t.ReadTS = ts
		}
		*rows = (*rows)[:0]
		tag, err := exec.Run(ctx, p, t, s.execIDs(), collectRows(rows))
		if err == nil {
			err = s.srv.checkTxnSize(t)
		}
		if err == nil {
			return tag, t.Commit(ctx)
		}
		if !txn.IsLockConflict(err) || attempt >= maxStatementRestarts {
			t.Rollback()
			return "", err
		}
		t.RollbackTo(before)
	}
}
