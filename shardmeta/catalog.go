package shardmeta

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
)

// Catalog keys. Table descriptors are stored by zero-padded id so a prefix
// read returns them in id order.
const (
	keyCatalogPrefix   = keyPrefix + "catalog/"
	keyTablesPrefix    = keyCatalogPrefix + "tables/"
	keyTableNamePrefix = keyCatalogPrefix + "names/"
	keyCatalogVersion  = keyCatalogPrefix + "version"
	keyNextTableID     = keyPrefix + "ids/table"

	// FirstTableID is the id given to the first table created.
	FirstTableID = 100
)

func tableKey(id uint32) string       { return fmt.Sprintf("%s%010d", keyTablesPrefix, id) }
func tableNameKey(name string) string { return keyTableNamePrefix + name }

// CreateTable assigns the table an id and version 1, splits the range map so
// the table's key span starts a range of its own, and stores the descriptor.
// A duplicate name fails with AlreadyExists unless if_not_exists is set, in
// which case the existing descriptor is returned with existed=true.
func (s *Server) CreateTable(ctx context.Context, req *api.CreateTableRequest) (*api.CreateTableResponse, error) {
	t := req.GetTable()
	if t == nil || t.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "create table: a table with a name is required")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()

	existing, err := s.tableByName(ctx, t.GetName())
	if err != nil {
		return nil, rpcErr(fmt.Errorf("create table %q: %w", t.GetName(), err))
	}
	if existing != nil {
		if req.GetIfNotExists() {
			return &api.CreateTableResponse{Table: existing, Existed: true}, nil
		}
		return nil, status.Errorf(codes.AlreadyExists, "table %q already exists", t.GetName())
	}
	id64, err := s.allocID(ctx, keyNextTableID, FirstTableID)
	if err != nil {
		return nil, rpcErr(fmt.Errorf("create table %q: allocate id: %w", t.GetName(), err))
	}
	if id64 > 1<<32-2 {
		return nil, status.Error(codes.ResourceExhausted, "create table: table ids exhausted")
	}
	id := uint32(id64)
	if t.GetViewQuery() != "" || t.GetSequence() != nil {
		// A view or sequence has no rows of its own, so no ranges.
	} else if err := s.splitForTable(ctx, id); err != nil {
		return nil, rpcErr(fmt.Errorf("create table %q: split ranges: %w", t.GetName(), err))
	}

	desc := proto.Clone(t).(*api.TableDescriptor)
	desc.Id = id
	desc.Version = 1
	if desc.NextColumnId == 0 {
		for _, c := range desc.Columns {
			desc.NextColumnId = max(desc.NextColumnId, c.GetId()+1)
		}
	}
	val, err := proto.Marshal(desc)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "create table: marshal descriptor: %v", err)
	}
	for range maxTxnAttempts {
		ver, verRev, err := s.readCounter(ctx, keyCatalogVersion, 0)
		if err != nil {
			return nil, rpcErr(fmt.Errorf("create table %q: %w", t.GetName(), err))
		}
		resp, err := s.cli.Txn(ctx).
			If(
				clientv3.Compare(clientv3.CreateRevision(tableNameKey(desc.Name)), "=", 0),
				clientv3.Compare(clientv3.ModRevision(keyCatalogVersion), "=", verRev),
			).
			Then(
				clientv3.OpPut(tableKey(id), string(val)),
				clientv3.OpPut(tableNameKey(desc.Name), strconv.FormatUint(uint64(id), 10)),
				clientv3.OpPut(keyCatalogVersion, strconv.FormatUint(ver+1, 10)),
			).Commit()
		if err != nil {
			return nil, rpcErr(fmt.Errorf("create table %q: %w", t.GetName(), err))
		}
		if resp.Succeeded {
			s.log.Info("table created", "name", desc.Name, "id", id)
			return &api.CreateTableResponse{Table: desc}, nil
		}
		if existing, err := s.tableByName(ctx, desc.Name); err == nil && existing != nil {
			if req.GetIfNotExists() {
				return &api.CreateTableResponse{Table: existing, Existed: true}, nil
			}
			return nil, status.Errorf(codes.AlreadyExists, "table %q already exists", desc.Name)
		}
	}
	return nil, rpcErr(fmt.Errorf("create table %q: %w", t.GetName(), errConflict))
}

// splitForTable splits the range map at the table's span start and end. Before
// the first shard registers there is no range map yet; bootstrap then aligns
// ranges with every table already in the catalog.
func (s *Server) splitForTable(ctx context.Context, id uint32) error {
	n, err := s.rangeCount(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	start, end := keys.TableSpan(id)
	for _, k := range [][]byte{start, end} {
		if _, err := s.splitRange(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// DropTable removes a table's descriptor (its ranges and data stay for now).
// A missing table fails with NotFound unless if_exists is set.
func (s *Server) DropTable(ctx context.Context, req *api.DropTableRequest) (*api.DropTableResponse, error) {
	name := req.GetName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "drop table: a name is required")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	for range maxTxnAttempts {
		txn, err := s.cli.Txn(ctx).Then(
			clientv3.OpGet(tableNameKey(name)),
			clientv3.OpGet(keyCatalogVersion),
		).Commit()
		if err != nil {
			return nil, rpcErr(fmt.Errorf("drop table %q: %w", name, err))
		}
		nameKVs := txn.Responses[0].GetResponseRange().Kvs
		if len(nameKVs) == 0 {
			if req.GetIfExists() {
				return &api.DropTableResponse{Dropped: false}, nil
			}
			return nil, status.Errorf(codes.NotFound, "table %q does not exist", name)
		}
		id, err := strconv.ParseUint(string(nameKVs[0].Value), 10, 32)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "drop table %q: corrupt name index: %v", name, err)
		}
		if cur, err := s.tableByName(ctx, name); err == nil && cur != nil {
			if kind, want := descriptorKind(cur), req.GetKind(); kind != want && (want == "view" || want == "sequence" || kind != "table") {
				return nil, status.Errorf(codes.FailedPrecondition, "%q is not a %s", name, cmp.Or(want, "table"))
			}
		}
		var ver uint64
		var verRev int64
		if kvs := txn.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			verRev = kvs[0].ModRevision
			if ver, err = strconv.ParseUint(string(kvs[0].Value), 10, 64); err != nil {
				return nil, status.Errorf(codes.Internal, "drop table %q: corrupt catalog version: %v", name, err)
			}
		}
		resp, err := s.cli.Txn(ctx).
			If(
				clientv3.Compare(clientv3.ModRevision(tableNameKey(name)), "=", nameKVs[0].ModRevision),
				clientv3.Compare(clientv3.ModRevision(keyCatalogVersion), "=", verRev),
			).
			Then(
				clientv3.OpDelete(tableNameKey(name)),
				clientv3.OpDelete(tableKey(uint32(id))),
				clientv3.OpDelete(sequenceKey(uint32(id))),
				clientv3.OpPut(keyCatalogVersion, strconv.FormatUint(ver+1, 10)),
			).Commit()
		if err != nil {
			return nil, rpcErr(fmt.Errorf("drop table %q: %w", name, err))
		}
		if resp.Succeeded {
			s.log.Info("table dropped", "name", name, "id", id)
			return &api.DropTableResponse{Dropped: true}, nil
		}
	}
	return nil, rpcErr(fmt.Errorf("drop table %q: %w", name, errConflict))
}

// GetCatalog returns every table, sorted by id, with the catalog version.
func (s *Server) GetCatalog(ctx context.Context, _ *api.GetCatalogRequest) (*api.Catalog, error) {
	cat, _, err := s.readCatalog(ctx)
	if err != nil {
		return nil, rpcErr(fmt.Errorf("get catalog: %w", err))
	}
	return cat, nil
}

// WatchCatalog sends the whole catalog now and again after every change,
// until the client goes away or the server closes.
func (s *Server) WatchCatalog(_ *api.WatchCatalogRequest, stream grpc.ServerStreamingServer[api.Catalog]) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()
	for {
		cat, rev, err := s.readCatalog(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return rpcErr(fmt.Errorf("watch catalog: %w", err))
		}
		if err := stream.Send(cat); err != nil {
			return err
		}
		sent := rev
		wctx, wcancel := context.WithCancel(ctx)
		wch := s.cli.Watch(wctx, keyCatalogPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		var werr error
		for wr := range wch {
			if werr = wr.Err(); werr != nil {
				break
			}
			if len(wr.Events) == 0 || wr.Header.Revision <= sent {
				continue
			}
			cat, rev, err := s.readCatalog(ctx)
			if err != nil {
				werr = err
				break
			}
			if err := stream.Send(cat); err != nil {
				wcancel()
				return err
			}
			sent = rev
		}
		wcancel()
		if ctx.Err() != nil {
			return nil
		}
		if werr == nil {
			return status.Error(codes.Unavailable, "watch catalog: etcd watch ended")
		}
		// Compaction or a failed read: start over with a fresh snapshot.
		s.log.Warn("catalog watch restarting", "err", werr)
	}
}

// readCatalog reads every table descriptor and the version at one revision.
func (s *Server) readCatalog(ctx context.Context) (*api.Catalog, int64, error) {
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(keyTablesPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(keyCatalogVersion),
	).Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("read catalog: %w", err)
	}
	cat := &api.Catalog{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		t := &api.TableDescriptor{}
		if err := proto.Unmarshal(kv.Value, t); err != nil {
			return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		cat.Tables = append(cat.Tables, t)
	}
	slices.SortFunc(cat.Tables, func(a, b *api.TableDescriptor) int { return cmp.Compare(a.Id, b.Id) })
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
		if cat.Version, err = strconv.ParseUint(string(kvs[0].Value), 10, 64); err != nil {
			return nil, 0, fmt.Errorf("parse catalog version: %w", err)
		}
	}
	return cat, resp.Header.Revision, nil
}

// tableByName returns the named table's descriptor, or nil when absent.
func (s *Server) tableByName(ctx context.Context, name string) (*api.TableDescriptor, error) {
	resp, err := s.cli.Get(ctx, tableNameKey(name))
	if err != nil {
		return nil, fmt.Errorf("read name index: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	id, err := strconv.ParseUint(string(resp.Kvs[0].Value), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse name index of %q: %w", name, err)
	}
	tr, err := s.cli.Get(ctx, tableKey(uint32(id)))
	if err != nil {
		return nil, fmt.Errorf("read table %d: %w", id, err)
	}
	if len(tr.Kvs) == 0 {
		return nil, errors.New("name index points at a missing table")
	}
	t := &api.TableDescriptor{}
	if err := proto.Unmarshal(tr.Kvs[0].Value, t); err != nil {
		return nil, fmt.Errorf("decode table %d: %w", id, err)
	}
	return t, nil
}

// allocID takes the next value of a counter starting at first.
func (s *Server) allocID(ctx context.Context, key string, first uint64) (uint64, error) {
	for range maxTxnAttempts {
		v, rev, err := s.readCounter(ctx, key, first)
		if err != nil {
			return 0, err
		}
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, strconv.FormatUint(v+1, 10))).
			Commit()
		if err != nil {
			return 0, fmt.Errorf("advance %s: %w", key, err)
		}
		if resp.Succeeded {
			return v, nil
		}
	}
	return 0, errConflict
}

// AlterTable replaces a table descriptor when its stored version is the
// expected one, bumping the table and catalog versions.
func (s *Server) AlterTable(ctx context.Context, req *api.AlterTableRequest) (*api.AlterTableResponse, error) {
	t := req.GetTable()
	if t == nil || t.GetId() == 0 {
		return nil, status.Error(codes.InvalidArgument, "alter table: a descriptor with an id is required")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	for range maxTxnAttempts {
		get, err := s.cli.Get(ctx, tableKey(t.GetId()))
		if err != nil {
			return nil, rpcErr(fmt.Errorf("alter table %q: %w", t.GetName(), err))
		}
		if len(get.Kvs) == 0 {
			return nil, status.Errorf(codes.NotFound, "table %q does not exist", t.GetName())
		}
		var cur api.TableDescriptor
		if err := proto.Unmarshal(get.Kvs[0].Value, &cur); err != nil {
			return nil, status.Errorf(codes.Internal, "alter table: corrupt descriptor: %v", err)
		}
		if cur.GetVersion() != req.GetExpectedVersion() {
			return nil, status.Errorf(codes.Aborted, "table %q changed concurrently (version %d, expected %d)", cur.GetName(), cur.GetVersion(), req.GetExpectedVersion())
		}
		// A new name moves the name key: the new one must be free.
		rename := cur.GetName() != t.GetName()
		desc := proto.Clone(t).(*api.TableDescriptor)
		desc.Version = cur.GetVersion() + 1
		val, err := proto.Marshal(desc)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "alter table: marshal descriptor: %v", err)
		}
		ver, verRev, err := s.readCounter(ctx, keyCatalogVersion, 0)
		if err != nil {
			return nil, rpcErr(fmt.Errorf("alter table %q: %w", t.GetName(), err))
		}
		conds := []clientv3.Cmp{
			clientv3.Compare(clientv3.ModRevision(tableKey(t.GetId())), "=", get.Kvs[0].ModRevision),
			clientv3.Compare(clientv3.ModRevision(keyCatalogVersion), "=", verRev),
		}
		ops := []clientv3.Op{
			clientv3.OpPut(tableKey(t.GetId()), string(val)),
			clientv3.OpPut(keyCatalogVersion, strconv.FormatUint(ver+1, 10)),
		}
		if rename {
			taken, err := s.cli.Get(ctx, tableNameKey(t.GetName()))
			if err != nil {
				return nil, rpcErr(fmt.Errorf("alter table %q: %w", t.GetName(), err))
			}
			if len(taken.Kvs) > 0 {
				return nil, status.Errorf(codes.AlreadyExists, "table %q already exists", t.GetName())
			}
			conds = append(conds, clientv3.Compare(clientv3.CreateRevision(tableNameKey(t.GetName())), "=", 0))
			ops = append(ops,
				clientv3.OpDelete(tableNameKey(cur.GetName())),
				clientv3.OpPut(tableNameKey(t.GetName()), strconv.FormatUint(uint64(t.GetId()), 10)))
		}
		resp, err := s.cli.Txn(ctx).If(conds...).Then(ops...).Commit()
		if err != nil {
			return nil, rpcErr(fmt.Errorf("alter table %q: %w", t.GetName(), err))
		}
		if resp.Succeeded {
			s.log.Info("table altered", "name", desc.Name, "id", desc.Id, "version", desc.Version)
			return &api.AlterTableResponse{Table: desc}, nil
		}
	}
	return nil, rpcErr(fmt.Errorf("alter table %q: %w", t.GetName(), errConflict))
}
