package sqlfront

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// catalogCache holds the latest catalog, fed by the metadata service's watch.
type catalogCache struct {
	meta   api.MetaClient
	logger *slog.Logger

	mu      sync.RWMutex
	version uint64
	byName  map[string]*planner.Table
	byID    map[uint32]*planner.Table
	// seqByName holds the sequences (kept apart from tables and views).
	seqByName map[string]*api.TableDescriptor
	// inUse counts the statements running per catalog version (guarded
	// by holdMu), and seenChanged wakes the reporter (schema.go).
	holdMu      sync.Mutex
	inUse       map[uint64]int
	seenChanged chan struct{}
}

func newCatalogCache(meta api.MetaClient, logger *slog.Logger) *catalogCache {
	return &catalogCache{meta: meta, logger: logger, byName: map[string]*planner.Table{}, byID: map[uint32]*planner.Table{}, seenChanged: make(chan struct{}, 1)}
}

// watch keeps the cache current until ctx ends.
func (c *catalogCache) watch(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		stream, err := c.meta.WatchCatalog(ctx, &api.WatchCatalogRequest{})
		if err == nil {
			for {
				cat, err := stream.Recv()
				if err != nil {
					break
				}
				c.install(cat)
				backoff = 50 * time.Millisecond
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

// refresh reads the whole catalog now.
func (c *catalogCache) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cat, err := c.meta.GetCatalog(ctx, &api.GetCatalogRequest{})
	if err != nil {
		return err
	}
	c.install(cat)
	return nil
}

func (c *catalogCache) install(cat *api.Catalog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cat.Version < c.version {
		return
	}
	if cat.Version > c.version {
		defer c.changed()
	}
	c.version = cat.Version
	c.byName = map[string]*planner.Table{}
	c.byID = map[uint32]*planner.Table{}
	c.seqByName = map[string]*api.TableDescriptor{}
	for _, td := range cat.Tables {
		if td.Sequence != nil {
			c.seqByName[td.Name] = td
			continue
		}
		t, err := tableFromDesc(td)
		if err != nil {
			c.logger.Error("bad table descriptor in catalog", "table", td.Name, "err", err)
			continue
		}
		c.byName[t.Name] = t
		c.byID[t.ID] = t
	}
}

func (c *catalogCache) lookup(name string) *planner.Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byName[name]
}

func (c *catalogCache) lookupID(id uint32) *planner.Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byID[id]
}

// sessionCatalog is the planner's view of the catalog for one statement: a
// miss in the cache reads the catalog again before it reports 42P01, so a
// table created through another frontend is seen at once.
type sessionCatalog struct {
	ctx   context.Context
	cache *catalogCache
}

func (s sessionCatalog) Table(name string) (*planner.Table, error) {
	if t := s.cache.lookup(name); t != nil {
		return t, nil
	}
	if seq := s.cache.sequence(name); seq != nil {
		return planner.SequenceView(seq.Id, seq.Name), nil
	}
	if err := s.cache.refresh(s.ctx); err == nil {
		if t := s.cache.lookup(name); t != nil {
			return t, nil
		}
	}
	if seq := s.cache.sequence(name); seq != nil {
		return planner.SequenceView(seq.Id, seq.Name), nil
	}
	return nil, planner.UndefinedTable(name)
}

func tableFromDesc(td *api.TableDescriptor) (*planner.Table, error) {
	t := &planner.Table{ID: td.Id, Name: td.Name, Version: td.Version, ViewQuery: td.ViewQuery}
	ord := map[uint32]int{}
	for i, cd := range td.Columns {
		typ, err := types.Parse(cd.Type)
		if err != nil {
			return nil, err
		}
		col := planner.Column{
			ID: cd.Id, Name: cd.Name, Type: typ, Nullable: cd.Nullable, Hidden: cd.Hidden,
			Default: cd.DefaultExpr, RowID: cd.Hidden && cd.Name == "rowid",
			Identity: cd.Identity, OwnedSeq: cd.OwnedSequenceId,
		}
		if cd.HasMissingValue {
			if col.Missing, err = types.ParseDatum(typ, cd.MissingValue); err != nil {
				return nil, err
			}
			col.HasMissing = true
		}
		t.Columns = append(t.Columns, col)
		ord[cd.Id] = i
	}
	for i, id := range td.PrimaryKey {
		t.PK = append(t.PK, ord[id])
		desc := i < len(td.PrimaryKeyDesc) && td.PrimaryKeyDesc[i]
		t.PKDesc = append(t.PKDesc, desc)
	}
	for _, ix := range td.Indexes {
		idx := planner.Index{ID: ix.Id, Name: ix.Name, Unique: ix.Unique}
		for i, id := range ix.ColumnIds {
			idx.Cols = append(idx.Cols, ord[id])
			idx.Desc = append(idx.Desc, i < len(ix.ColumnDesc) && ix.ColumnDesc[i])
		}
		t.Indexes = append(t.Indexes, idx)
	}
	t.NextColumnID = td.NextColumnId
	for _, c := range td.Checks {
		t.Checks = append(t.Checks, planner.Check{Name: c.Name, Expr: c.Expr})
	}
	if err := planner.BindChecks(t); err != nil {
		// The table stays usable for reads; writes fail on the check.
		slog.Default().Error("a check constraint does not bind", "table", t.Name, "err", err)
	}
	return t, nil
}

// indexDesc returns the descriptor form of an index of t.
func indexDesc(t *planner.Table, idx planner.Index) *api.IndexDescriptor {
	d := &api.IndexDescriptor{Id: idx.ID, Name: idx.Name, Unique: idx.Unique, ColumnDesc: idx.Desc}
	for _, o := range idx.Cols {
		d.ColumnIds = append(d.ColumnIds, t.Columns[o].ID)
	}
	return d
}

// findIndex returns the table holding the named index, or nil.
func (c *catalogCache) findIndex(name string) (*planner.Table, *planner.Index) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, t := range c.byName {
		if idx := t.IndexByName(name); idx != nil {
			return t, idx
		}
	}
	return nil, nil
}

func descFromTable(t *planner.Table) *api.TableDescriptor {
	td := &api.TableDescriptor{Id: t.ID, Version: t.Version, Name: t.Name, NextColumnId: t.NextColumnID, ViewQuery: t.ViewQuery}
	for _, c := range t.Columns {
		td.NextColumnId = max(td.NextColumnId, c.ID+1)
	}
	for _, c := range t.Checks {
		td.Checks = append(td.Checks, &api.SchemaCheck{Name: c.Name, Expr: c.Expr})
	}
	for _, idx := range t.Indexes {
		td.Indexes = append(td.Indexes, indexDesc(t, idx))
		td.NextIndexId = max(td.NextIndexId, idx.ID+1)
	}
	for _, c := range t.Columns {
		cd := &api.ColumnDescriptor{
			Id: c.ID, Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable, Hidden: c.Hidden, DefaultExpr: c.Default,
			Identity: c.Identity, OwnedSequenceId: c.OwnedSeq,
		}
		if c.HasMissing {
			cd.MissingValue, cd.HasMissingValue = c.Missing.Text(), true
		}
		td.Columns = append(td.Columns, cd)
	}
	for i, o := range t.PK {
		td.PrimaryKey = append(td.PrimaryKey, t.Columns[o].ID)
		td.PrimaryKeyDesc = append(td.PrimaryKeyDesc, t.PKDesc[i])
	}
	return td
}
