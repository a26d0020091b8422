package sqlfront

import (
	"context"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/planner"
)

// DDL inside a transaction block. CREATE TABLE, CREATE INDEX and CREATE
// VIEW (without OR REPLACE) run at once, as outside a block, and are undone
// when the transaction rolls back (ROLLBACK, a COMMIT of a failed
// transaction, a failed COMMIT, ROLLBACK TO a savepoint set before them,
// the client going away): what migration tools do works. They are not
// isolated: other sessions see the new relation before COMMIT. Other DDL
// in a block is refused.

// blockDDL is one undoable schema change of the open transaction block.
type blockDDL struct {
	// depth is the number of savepoints when it ran.
	depth int
	undo  func(ctx context.Context) error
	what  string
}

// ddlInBlock runs a DDL statement inside a transaction block.
func (s *session) ddlInBlock(ctx context.Context, stmt *pg.Node, cat sessionCatalog) error {
	var name string
	switch {
	case stmt.GetCreateStmt() != nil:
		name = stmt.GetCreateStmt().Relation.Relname
	case stmt.GetViewStmt() != nil && !stmt.GetViewStmt().Replace:
		name = stmt.GetViewStmt().View.Relname
	case stmt.GetIndexStmt() != nil:
	default:
		return errDDLInBlock
	}
	p, err := planner.Build(stmt, cat)
	if err != nil {
		return err
	}
	if ci, ok := p.(*planner.CreateIndex); ok {
		name = ci.Index.Name
	}
	existed := s.relationExists(ctx, name)
	if err := s.execPlan(ctx, p); err != nil {
		return err
	}
	if existed || s.tx == nil {
		return nil
	}
	d := blockDDL{depth: len(s.tx.savepoints), what: name}
	switch p.(type) {
	case *planner.CreateTable:
		d.undo = func(ctx context.Context) error { return s.dropForUndo(ctx, name, "table") }
	case *planner.CreateView:
		d.undo = func(ctx context.Context) error { return s.dropForUndo(ctx, name, "view") }
	case *planner.CreateIndex:
		d.undo = func(ctx context.Context) error { return s.removeIndex(ctx, name) }
	}
	s.blockDDL = append(s.blockDDL, d)
	return nil
}

func (s *session) dropForUndo(ctx context.Context, name, kind string) error {
	_, err := s.srv.meta.DropTable(ctx, &api.DropTableRequest{Name: name, IfExists: true, Kind: kind})
	s.srv.catalog.refresh(ctx)
	return err
}

// afterTxnStmt keeps the block's DDL in step with a transaction statement
// that ran: kept at COMMIT, undone at a rollback, re-attributed when a
// savepoint is released.
func (s *session) afterTxnStmt(ts *pg.TransactionStmt, before *txnState, err error) {
	if len(s.blockDDL) == 0 {
		return
	}
	switch {
	case before != nil && s.tx == nil:
		committed := ts.Kind == pg.TransactionStmtKind_TRANS_STMT_COMMIT && err == nil && !before.failed
		if committed {
			s.blockDDL = nil
		} else {
			s.undoBlockDDL(0)
		}
	case s.tx != nil && err == nil && ts.Kind == pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		s.undoBlockDDL(len(s.tx.savepoints))
	case s.tx != nil && err == nil && ts.Kind == pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		for i := range s.blockDDL {
			s.blockDDL[i].depth = min(s.blockDDL[i].depth, len(s.tx.savepoints))
		}
	}
}

// undoBlockDDL undoes, newest first, the block's DDL that ran with at
// least depth savepoints.
func (s *session) undoBlockDDL(depth int) {
	ctx, cancel := context.WithTimeout(s.srv.ctx, 30*time.Second)
	defer cancel()
	for len(s.blockDDL) > 0 {
		d := s.blockDDL[len(s.blockDDL)-1]
		if d.depth < depth {
			return
		}
		s.blockDDL = s.blockDDL[:len(s.blockDDL)-1]
		if err := d.undo(ctx); err != nil {
			s.srv.logger.Error("could not undo DDL of a rolled-back transaction", "relation", d.what, "err", err)
		}
	}
}
