package sqlfront

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/planner"
)

// relationExists reports whether a table, view or index has the name.
func (s *session) relationExists(ctx context.Context, name string) bool {
	cat := sessionCatalog{ctx: ctx, cache: s.srv.catalog}
	if _, err := cat.Table(name); err == nil {
		return true
	}
	t, _ := s.srv.catalog.findIndex(name)
	return t != nil || s.srv.catalog.sequence(name) != nil
}

// alterTable publishes a new descriptor for t (compare-and-swap on its version).
func (s *session) alterTable(ctx context.Context, t *planner.Table) error {
	_, err := s.srv.meta.AlterTable(ctx, &api.AlterTableRequest{Table: descFromTable(t), ExpectedVersion: t.Version})
	if err != nil {
		if status.Code(err) == codes.Aborted {
			return pgerr.New(pgerr.SerializationFailure, "table %q was changed concurrently; retry", t.Name)
		}
		return metaError(err, t.Name)
	}
	return s.srv.catalog.refresh(ctx)
}

// createIndex adds the index to the table's descriptor, then fills it in
// one transaction. A unique index that meets duplicates is removed again.
//
// Not yet online (issue 7): a frontend that has not seen the new
// descriptor can write rows without index entries meanwhile.
func (s *session) createIndex(ctx context.Context, p *planner.CreateIndex) error {
	if s.relationExists(ctx, p.Index.Name) {
		if p.IfNotExists {
			s.notice("relation \"" + p.Index.Name + "\" already exists, skipping")
			s.complete("CREATE INDEX")
			return nil
		}
		return pgerr.New(pgerr.DuplicateTable, "relation %q already exists", p.Index.Name)
	}
	t := *p.Table
	idx := p.Index
	idx.ID = 1
	for _, x := range t.Indexes {
		idx.ID = max(idx.ID, x.ID+1)
	}
	t.Indexes = append(append([]planner.Index(nil), t.Indexes...), idx)
	if err := s.alterTable(ctx, &t); err != nil {
		return err
	}
	backfill := func(kv exec.KV) error {
		_, err := exec.Backfill(ctx, &t, idx, kv)
		return err
	}
	var err error
	if s.tx != nil {
		// In a transaction block: fill it in the block's transaction, which
		// sees the rows the block wrote (ddlblock.go).
		err = backfill(s.tx.t)
	} else {
		err = s.inTxn(ctx, backfill)
	}
	if err != nil {
		if cur := s.srv.catalog.lookup(t.Name); cur != nil {
			undo := *cur
			undo.Indexes = nil
			for _, x := range cur.Indexes {
				if x.Name != idx.Name {
					undo.Indexes = append(undo.Indexes, x)
				}
			}
			if uerr := s.alterTable(ctx, &undo); uerr != nil {
				s.srv.logger.Error("could not remove a failed index", "index", idx.Name, "err", uerr)
			}
		}
		var ke interface{ ExistingKey() []byte }
		if errors.As(err, &ke) {
			return pgerr.New(pgerr.UniqueViolation, "could not create unique index %q", idx.Name).WithDetail("The table has duplicate values in the indexed columns.")
		}
		return err
	}
	s.complete("CREATE INDEX")
	return nil
}

func (s *session) dropIndex(ctx context.Context, p *planner.DropIndex) error {
	for _, name := range p.Names {
		t, _ := s.srv.catalog.findIndex(name)
		if t == nil {
			s.srv.catalog.refresh(ctx)
			t, _ = s.srv.catalog.findIndex(name)
		}
		if t == nil {
			if p.IfExists {
				s.notice("index \"" + name + "\" does not exist, skipping")
				continue
			}
			return pgerr.New(pgerr.UndefinedObject, "index %q does not exist", name)
		}
		if err := s.removeIndex(ctx, name); err != nil {
			return err
		}
	}
	s.complete("DROP INDEX")
	return nil
}

// removeIndex removes the named index from its table's descriptor and
// deletes its entries.
func (s *session) removeIndex(ctx context.Context, name string) error {
	t, idx := s.srv.catalog.findIndex(name)
	if t == nil {
		s.srv.catalog.refresh(ctx)
		if t, idx = s.srv.catalog.findIndex(name); t == nil {
			return nil
		}
	}
	next := *t
	next.Indexes = nil
	for _, x := range t.Indexes {
		if x.Name != name {
			next.Indexes = append(next.Indexes, x)
		}
	}
	if err := s.alterTable(ctx, &next); err != nil {
		return err
	}
	start := keys.IndexPrefix(t.ID, idx.ID)
	return s.inTxn(ctx, func(kv exec.KV) error {
		return exec.DeleteSpan(ctx, kv, start, keys.PrefixEnd(start))
	})
}

func (s *session) createView(ctx context.Context, p *planner.CreateView) error {
	t := &planner.Table{Name: p.Name, ViewQuery: p.Query}
	for i, c := range p.Columns {
		t.Columns = append(t.Columns, planner.Column{ID: uint32(i + 1), Name: c.Name, Type: c.T, Nullable: true})
	}
	if p.Replace {
		if cur := s.srv.catalog.lookup(p.Name); cur != nil && cur.ViewQuery != "" {
			t.ID, t.Version = cur.ID, cur.Version
			if err := s.alterTable(ctx, t); err != nil {
				return err
			}
			s.complete("CREATE VIEW")
			return nil
		}
	}
	if _, idx := s.srv.catalog.findIndex(p.Name); idx != nil {
		return pgerr.New(pgerr.DuplicateTable, "relation %q already exists", p.Name)
	}
	if _, err := s.srv.meta.CreateTable(ctx, &api.CreateTableRequest{Table: descFromTable(t)}); err != nil {
		return metaError(err, p.Name)
	}
	s.srv.catalog.refresh(ctx)
	s.complete("CREATE VIEW")
	return nil
}

func (s *session) dropRelations(ctx context.Context, names []string, ifExists bool, kind string) error {
	for _, name := range names {
		owned := s.ownedSequences(ctx, name)
		resp, err := s.srv.meta.DropTable(ctx, &api.DropTableRequest{Name: name, IfExists: ifExists, Kind: kind})
		if err != nil {
			if status.Code(err) == codes.FailedPrecondition {
				return pgerr.New(pgerr.WrongObjectType, "%s", status.Convert(err).Message())
			}
			if status.Code(err) == codes.NotFound {
				return pgerr.New(pgerr.UndefinedTable, "%s %q does not exist", kind, name)
			}
			return metaError(err, name)
		}
		if !resp.Dropped {
			s.notice(kind + " \"" + name + "\" does not exist, skipping")
		} else {
			s.dropOwnedSequences(ctx, owned)
		}
	}
	s.srv.catalog.refresh(ctx)
	tag := "DROP TABLE"
	if kind == "view" {
		tag = "DROP VIEW"
	}
	s.complete(tag)
	return nil
}

// inTxn runs f in a transaction and commits it, retrying on write conflicts.
func (s *session) inTxn(ctx context.Context, f func(kv exec.KV) error) error {
	var err error
	for attempt := 0; attempt < maxAutoRetries; attempt++ {
		t, berr := s.srv.client.Begin(ctx)
		if berr != nil {
			return berr
		}
		if err = f(t); err != nil {
			t.Rollback()
		} else {
			err = t.Commit(ctx)
		}
		if pgerr.Code(err) != pgerr.SerializationFailure {
			return err
		}
	}
	return err
}
