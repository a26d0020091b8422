package shardmeta

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/shardsql/shardsql/api"
)

func table(name string) *api.TableDescriptor {
	return &api.TableDescriptor{
		Name: name,
		Columns: []*api.ColumnDescriptor{
			{Id: 1, Name: "id", Type: "bigint"},
			{Id: 2, Name: "v", Type: "text", Nullable: true},
		},
		PrimaryKey: []uint32{1},
	}
}

func TestCatalogCreateDrop(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	cl := env.cl

	r1, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t1")})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Table.Id != FirstTableID || r1.Table.Version != 1 || r1.Existed || r1.Table.NextColumnId != 3 {
		t.Fatalf("created %+v existed=%v", r1.Table, r1.Existed)
	}
	_, err = cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t1")})
	wantCode(t, err, codes.AlreadyExists)
	r1b, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t1"), IfNotExists: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r1b.Existed || r1b.Table.Id != r1.Table.Id {
		t.Fatalf("if_not_exists gave %+v existed=%v", r1b.Table, r1b.Existed)
	}
	r2, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t2")})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Table.Id != FirstTableID+1 {
		t.Fatalf("second table id %d", r2.Table.Id)
	}
	_, err = cl.CreateTable(ctx, &api.CreateTableRequest{Table: &api.TableDescriptor{}})
	wantCode(t, err, codes.InvalidArgument)

	cat, err := cl.GetCatalog(ctx, &api.GetCatalogRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cat.Version != 2 || len(cat.Tables) != 2 || cat.Tables[0].Name != "t1" || cat.Tables[1].Name != "t2" {
		t.Fatalf("catalog %+v", cat)
	}

	d, err := cl.DropTable(ctx, &api.DropTableRequest{Name: "t1"})
	if err != nil || !d.Dropped {
		t.Fatalf("drop: %v %+v", err, d)
	}
	_, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "t1"})
	wantCode(t, err, codes.NotFound)
	d, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "t1", IfExists: true})
	if err != nil || d.Dropped {
		t.Fatalf("drop if exists: %v %+v", err, d)
	}
	cat, err = cl.GetCatalog(ctx, &api.GetCatalogRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cat.Version != 3 || len(cat.Tables) != 1 || cat.Tables[0].Name != "t2" {
		t.Fatalf("catalog after drop %+v", cat)
	}
	// A re-created name gets a fresh id.
	r3, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t1")})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Table.Id != FirstTableID+2 {
		t.Fatalf("re-created table id %d", r3.Table.Id)
	}
}

func TestCreateTableConcurrentSameName(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, exists := 0, 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("dup")})
			mu.Lock()
			defer mu.Unlock()
			switch status.Code(err) {
			case codes.OK:
				created++
			case codes.AlreadyExists:
				exists++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || exists != 3 {
		t.Fatalf("created %d, already-exists %d", created, exists)
	}
}

func TestWatchCatalog(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	if _, err := env.cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("a")}); err != nil {
		t.Fatal(err)
	}
	stream, err := env.cl.WatchCatalog(ctx, &api.WatchCatalogRequest{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version != 1 || len(snap.Tables) != 1 || snap.Tables[0].Name != "a" {
		t.Fatalf("snapshot %+v", snap)
	}
	if _, err := env.cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("b")}); err != nil {
		t.Fatal(err)
	}
	next, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 || len(next.Tables) != 2 || next.Tables[1].Name != "b" {
		t.Fatalf("after create %+v", next)
	}
	if _, err := env.cl.DropTable(ctx, &api.DropTableRequest{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	next, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if next.Version != 3 || len(next.Tables) != 1 || next.Tables[0].Name != "b" {
		t.Fatalf("after drop %+v", next)
	}
}

func TestAlterTableAndViews(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	cl := env.cl
	r, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t")})
	if err != nil {
		t.Fatal(err)
	}
	next := proto.Clone(r.Table).(*api.TableDescriptor)
	next.Indexes = []*api.IndexDescriptor{{Id: 1, Name: "t_v_idx", ColumnIds: []uint32{2}}}
	next.NextIndexId = 2
	a, err := cl.AlterTable(ctx, &api.AlterTableRequest{Table: next, ExpectedVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Table.Version != 2 || len(a.Table.Indexes) != 1 {
		t.Fatalf("altered %+v", a.Table)
	}
	// A second writer with the old version loses.
	_, err = cl.AlterTable(ctx, &api.AlterTableRequest{Table: next, ExpectedVersion: 1})
	wantCode(t, err, codes.Aborted)
	// Renaming: not to a taken name; the old name is free afterwards.
	if _, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("w")}); err != nil {
		t.Fatal(err)
	}
	renamed := proto.Clone(a.Table).(*api.TableDescriptor)
	renamed.Name = "w"
	_, err = cl.AlterTable(ctx, &api.AlterTableRequest{Table: renamed, ExpectedVersion: 2})
	wantCode(t, err, codes.AlreadyExists)
	renamed.Name = "u"
	if _, err = cl.AlterTable(ctx, &api.AlterTableRequest{Table: renamed, ExpectedVersion: 2}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "t"})
	wantCode(t, err, codes.NotFound)
	renamed.Name = "t"
	if _, err = cl.AlterTable(ctx, &api.AlterTableRequest{Table: renamed, ExpectedVersion: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DropTable(ctx, &api.DropTableRequest{Name: "w"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DropTable(ctx, &api.DropTableRequest{Name: "u"}); err == nil {
		t.Fatal("the old name u still names a table")
	}

	view := &api.TableDescriptor{Name: "v", ViewQuery: "SELECT 1", Columns: []*api.ColumnDescriptor{{Id: 1, Name: "x", Type: "integer", Nullable: true}}}
	if _, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: view}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "v"})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "t", Kind: "view"})
	wantCode(t, err, codes.FailedPrecondition)
	if _, err := cl.DropTable(ctx, &api.DropTableRequest{Name: "v", Kind: "view"}); err != nil {
		t.Fatal(err)
	}
	cat, err := cl.GetCatalog(ctx, &api.GetCatalogRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Tables) != 1 || cat.Tables[0].Version != 4 || cat.Tables[0].Indexes[0].Name != "t_v_idx" {
		t.Fatalf("catalog %+v", cat.Tables)
	}
}
