package exec

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// memKV is an in-memory KV: enough to run plans against.
type memKV map[string][]byte

func (m memKV) Get(_ context.Context, k []byte) ([]byte, bool, error) {
	v, ok := m[string(k)]
	return v, ok, nil
}

func (m memKV) Scan(_ context.Context, start, end []byte, _ bool, fn func(k, v []byte) error) error {
	var ks []string
	for k := range m {
		if k >= string(start) && k < string(end) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	for _, k := range ks {
		if err := fn([]byte(k), m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (m memKV) Put(k, v []byte) { m[string(k)] = append([]byte(nil), v...) }
func (m memKV) Insert(k, v []byte) error {
	if _, ok := m[string(k)]; ok {
		return &keyExists{key: k}
	}
	m.Put(k, v)
	return nil
}
func (m memKV) Delete(k []byte) { delete(m, string(k)) }

type oneTable struct{ t *planner.Table }

func (c oneTable) Table(name string) (*planner.Table, error) {
	if name == c.t.Name {
		return c.t, nil
	}
	return nil, planner.UndefinedTable(name)
}

// run plans sql against table version t and runs it on kv; it returns the
// rows as "a,b;c,d".
func run(t *testing.T, kv memKV, tbl *planner.Table, sql string) string {
	t.Helper()
	if err := planner.BindChecks(tbl); err != nil {
		t.Fatal(err)
	}
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Build(tree.Stmts[0].Stmt, oneTable{tbl})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var rows []string
	_, err = Run(context.Background(), p, kv, nil, func(row []types.Datum) error {
		var vals []string
		for _, d := range row {
			if d.IsNull() {
				vals = append(vals, "NULL")
			} else {
				vals = append(vals, d.Text())
			}
		}
		rows = append(rows, strings.Join(vals, ","))
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.Join(rows, ";")
}

// TestMixedSchemaVersions runs statements planned on different versions of
// one table against the same data, as frontends one version apart do
// during a schema change.
func TestMixedSchemaVersions(t *testing.T) {
	cols := []planner.Column{{ID: 1, Name: "id", Type: types.Int4}, {ID: 2, Name: "v", Type: types.Int4, Nullable: true}}
	version := func(extra ...planner.Column) *planner.Table {
		t := &planner.Table{ID: 7, Name: "t", Columns: append(append([]planner.Column(nil), cols...), extra...), PK: []int{0}, PKDesc: []bool{false}}
		t.NextColumnID = 3
		for _, c := range extra {
			t.NextColumnID = max(t.NextColumnID, c.ID+1)
		}
		return t
	}
	v1 := version()
	// v2: ADD COLUMN c INT DEFAULT 7 (rows without c read 7).
	v2 := version(planner.Column{ID: 3, Name: "c", Type: types.Int4, Nullable: true, Default: "7", Missing: types.NewInt(7), HasMissing: true})
	// v3: DROP COLUMN c.
	v3 := version()
	v3.NextColumnID = 4
	// v4: ADD COLUMN c TEXT (a new column: id 4, no default).
	v4 := version(planner.Column{ID: 4, Name: "c", Type: types.Text, Nullable: true})

	kv := memKV{}
	run(t, kv, v1, "INSERT INTO t VALUES (1, 10)")
	run(t, kv, v2, "INSERT INTO t VALUES (2, 20, NULL), (3, 30, 5)")
	run(t, kv, v1, "INSERT INTO t VALUES (4, 40)")
	if got, want := run(t, kv, v2, "SELECT id, v, c FROM t"), "1,10,7;2,20,NULL;3,30,5;4,40,7"; got != want {
		t.Fatalf("v2 reads %s, want %s", got, want)
	}
	// v1 ignores c, and its updates keep c's values.
	if got, want := run(t, kv, v1, "SELECT * FROM t"), "1,10;2,20;3,30;4,40"; got != want {
		t.Fatalf("v1 reads %s, want %s", got, want)
	}
	run(t, kv, v1, "UPDATE t SET v = v + 1")
	if got, want := run(t, kv, v2, "SELECT id, v, c FROM t"), "1,11,7;2,21,NULL;3,31,5;4,41,7"; got != want {
		t.Fatalf("after v1's update v2 reads %s, want %s", got, want)
	}
	// After the drop, the leftovers of column 3 are ignored and not kept
	// by updates; the new column c (id 4) starts out NULL.
	run(t, kv, v3, "UPDATE t SET v = v + 1 WHERE id >= 3")
	if got, want := run(t, kv, v4, "SELECT id, v, c FROM t"), "1,11,NULL;2,21,NULL;3,32,NULL;4,42,NULL"; got != want {
		t.Fatalf("v4 reads %s, want %s", got, want)
	}
	for _, k := range []string{"3", "4"} {
		if got := run(t, kv, v2, "SELECT c FROM t WHERE id = "+k); got != "7" {
			t.Fatalf("row %s still holds the dropped column's value for v2: %s", k, got)
		}
	}
	// A check bound on the newest version is enforced; NULL passes.
	v5 := version(planner.Column{ID: 4, Name: "c", Type: types.Text, Nullable: true})
	v5.Checks = []planner.Check{{Name: "t_v_check", Expr: "v < 100"}}
	run(t, kv, v5, "INSERT INTO t (id, v) VALUES (5, NULL)")
	tree, _ := pg.Parse("UPDATE t SET v = 100 WHERE id = 1")
	planner.BindChecks(v5)
	p, err := planner.Build(tree.Stmts[0].Stmt, oneTable{v5})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), p, kv, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `violates check constraint "t_v_check"`) {
		t.Fatalf("update past the check: %v", err)
	}
	viol, err := Validate(context.Background(), v5, kv, []int{1}, []string{"t_v_check"})
	if err != nil || viol == nil || viol.Column != "v" {
		t.Fatalf("validate: %v %v", fmt.Sprint(viol), err)
	}
}
