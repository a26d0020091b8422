package sqlfront

import (
	"context"
	"fmt"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// errDDLInBlock refuses DDL inside BEGIN ... COMMIT other than the CREATE
// statements ddlInBlock can undo: schema changes are published at once.
var errDDLInBlock = pgerr.New(pgerr.FeatureNotSupported, "DDL inside a transaction block is not supported (except CREATE TABLE, CREATE INDEX and CREATE VIEW)").
	WithHint("Run the statement outside BEGIN ... COMMIT.")

func isDDL(n *pg.Node) bool {
	return n.GetCreateStmt() != nil || n.GetDropStmt() != nil || n.GetIndexStmt() != nil ||
		n.GetViewStmt() != nil || n.GetAlterTableStmt() != nil || n.GetRenameStmt() != nil
}

// alterAttempts bounds the retries of an ALTER TABLE whose compare-and-swap
// lost to a concurrent change of the same table.
const alterAttempts = 5

// alterTableStmt runs ALTER TABLE: apply the actions to the current
// descriptor, publish it (compare-and-swap), wait until every frontend
// runs on it, then validate new NOT NULL columns and checks against the
// existing rows, publishing the old definition again if they fail.
func (s *session) alterTableStmt(ctx context.Context, p *planner.AlterTable) error {
	var err error
	for range alterAttempts {
		err = s.alterOnce(ctx, p)
		if pgerr.Code(err) != pgerr.SerializationFailure {
			return err
		}
	}
	return err
}

func (s *session) alterOnce(ctx context.Context, p *planner.AlterTable) error {
	if err := s.srv.catalog.refresh(ctx); err != nil {
		return metaError(err, p.Name)
	}
	cur := s.srv.catalog.lookup(p.Name)
	if cur == nil {
		if p.MissingOk {
			s.notice(fmt.Sprintf("relation %q does not exist, skipping", p.Name))
			s.complete("ALTER TABLE")
			return nil
		}
		return planner.UndefinedTable(p.Name)
	}
	if cur.ViewQuery != "" {
		return pgerr.New(pgerr.WrongObjectType, "ALTER action cannot be performed on relation %q", cur.Name).WithDetail("This operation is not supported for views.")
	}
	res, err := planner.ApplyAlter(cur, p)
	if err != nil {
		return err
	}
	for _, v := range s.srv.catalog.views() {
		if err := planner.ViewConflict(p, cur.Name, v.Name, v.ViewQuery); err != nil {
			return err
		}
	}
	next := res.Table
	if next.Name != cur.Name && s.relationExists(ctx, next.Name) {
		return pgerr.New(pgerr.DuplicateTable, "relation %q already exists", next.Name)
	}
	for id, e := range res.Missing {
		ord := -1
		for i, c := range next.Columns {
			if c.ID == id {
				ord = i
			}
		}
		if ord < 0 {
			continue // added and dropped again
		}
		d, err := exec.EvalConst(ctx, e)
		if err == nil {
			d, err = types.Cast(d, next.Columns[ord].Type)
		}
		if err != nil {
			return err
		}
		if !d.IsNull() {
			next.Columns[ord].Missing, next.Columns[ord].HasMissing = d, true
		}
	}
	for _, n := range res.Notices {
		s.notice(n)
	}
	// Every frontend must be on the current version before the next one
	// is published (other DDL does not wait after itself).
	deadline := time.Now().Add(schemaWaitTimeout)
	if err := s.awaitSchema(ctx, s.srv.catalog.currentVersion(), deadline); err != nil {
		return err
	}
	base := cur
	if res.Interim != nil {
		// Dropping NOT NULL columns: first make them nullable everywhere.
		if err := s.alterTable(ctx, res.Interim); err != nil {
			return err
		}
		if err := s.awaitSchema(ctx, s.srv.catalog.currentVersion(), deadline); err != nil {
			return err
		}
		if base = s.srv.catalog.lookupID(cur.ID); base == nil {
			return planner.UndefinedTable(p.Name)
		}
		next.Version = base.Version
	}
	if err := s.alterTable(ctx, next); err != nil {
		return err
	}
	if err := s.awaitSchema(ctx, s.srv.catalog.currentVersion(), deadline); err != nil {
		return err
	}
	if len(res.NotNull) > 0 || len(res.Checks) > 0 {
		if err := s.validate(ctx, base, next, res); err != nil {
			return err
		}
	}
	s.complete("ALTER TABLE")
	return nil
}

// validate checks the existing rows against the new NOT NULL columns and
// checks of next; on a violation it publishes base again (keeping next's
// column ids used) and reports the violation.
func (s *session) validate(ctx context.Context, base, next *planner.Table, res *planner.AlterResult) error {
	published := s.srv.catalog.lookupID(next.ID)
	if published == nil {
		return planner.UndefinedTable(next.Name)
	}
	var notNull []int
	for _, name := range res.NotNull {
		if o := published.ColumnIndex(name); o >= 0 {
			notNull = append(notNull, o)
		}
	}
	var found *exec.Violation
	err := s.inTxn(ctx, func(kv exec.KV) error {
		var err error
		found, err = exec.Validate(ctx, published, kv, notNull, res.Checks)
		return err
	})
	if err == nil && found == nil {
		return nil
	}
	undo := *base
	undo.Version = published.Version
	undo.NextColumnID = max(published.NextColumnID, base.NextColumnID)
	if uerr := s.alterTable(ctx, &undo); uerr != nil {
		s.srv.logger.Error("could not undo a failed ALTER TABLE", "table", next.Name, "err", uerr)
	}
	if err != nil {
		return err
	}
	if found.Column != "" {
		return pgerr.New(pgerr.NotNullViolation, "column %q of relation %q contains null values", found.Column, base.Name)
	}
	return pgerr.New(pgerr.CheckViolation, "check constraint %q of relation %q is violated by some row", found.Check, base.Name)
}

// views returns the views of the catalog.
func (c *catalogCache) views() []*planner.Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*planner.Table
	for _, t := range c.byName {
		if t.ViewQuery != "" {
			out = append(out, t)
		}
	}
	return out
}
