package planner

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// upsertCatalog adds a table with a unique secondary index on (u).
func upsertCatalog() testCatalog {
	c := catalog()
	c["uq"] = &Table{ID: 102, Name: "uq", Columns: []Column{
		{ID: 1, Name: "k", Type: types.Int8}, {ID: 2, Name: "u", Type: types.Int8, Nullable: true}, {ID: 3, Name: "n", Type: types.Int8, Nullable: true},
	}, PK: []int{0}, PKDesc: []bool{false}, Indexes: []Index{
		{ID: 1, Name: "uq_n_idx", Cols: []int{2}, Desc: []bool{false}},
		{ID: 2, Name: "uq_u_key", Cols: []int{1}, Desc: []bool{false}, Unique: true},
	}}
	return c
}

func buildErr(sql string, cat Catalog) (Plan, error) {
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, err
	}
	return Build(tree.Stmts[0].Stmt, cat)
}

func TestOnConflictArbiters(t *testing.T) {
	cat := upsertCatalog()
	for _, tc := range []struct {
		sql      string
		arbiters []int
		doUpdate bool
		code     string
	}{
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT DO NOTHING", arbiters: []int{PKArbiter, 1}},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT (k) DO NOTHING", arbiters: []int{PKArbiter}},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT (u) DO UPDATE SET n = excluded.n", arbiters: []int{1}, doUpdate: true},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT ON CONSTRAINT uq_pkey DO NOTHING", arbiters: []int{PKArbiter}},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT ON CONSTRAINT uq_u_key DO NOTHING", arbiters: []int{1}},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT (n) DO NOTHING", code: pgerr.InvalidColumnRef},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT (k, u) DO NOTHING", code: pgerr.InvalidColumnRef},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT ON CONSTRAINT uq_n_idx DO NOTHING", code: pgerr.UndefinedObject},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT DO UPDATE SET n = 1", code: pgerr.SyntaxError},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT (k) DO UPDATE SET n = n + 1", code: pgerr.AmbiguousColumn},
		{sql: "INSERT INTO uq VALUES (1, 2, 3) ON CONFLICT (zz) DO NOTHING", code: pgerr.UndefinedColumn},
	} {
		p, err := buildErr(tc.sql, cat)
		if tc.code != "" {
			if pgerr.Code(err) != tc.code {
				t.Errorf("%s: got %v, want SQLSTATE %s", tc.sql, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		oc := p.(*Insert).OnConflict
		if !sameSet(oc.Arbiters, tc.arbiters) || len(oc.Arbiters) != len(tc.arbiters) || oc.DoUpdate != tc.doUpdate {
			t.Errorf("%s: arbiters %v doUpdate %v, want %v %v", tc.sql, oc.Arbiters, oc.DoUpdate, tc.arbiters, tc.doUpdate)
		}
	}
}

func TestReturningAndJoinedSources(t *testing.T) {
	cat := upsertCatalog()
	p, err := buildErr("UPDATE uq SET n = kv.k FROM kv WHERE kv.k = uq.k RETURNING *, kv.v AS w", cat)
	if err != nil {
		t.Fatal(err)
	}
	up := p.(*Update)
	if up.From == nil || up.Source != nil {
		t.Fatalf("UPDATE ... FROM: From %v Source %v", up.From, up.Source)
	}
	// RETURNING * is the target's columns and the FROM item's, then w.
	var names []string
	for _, o := range up.Returning {
		names = append(names, o.Name)
	}
	if got := names; len(got) != 6 || got[0] != "k" || got[3] != "k" || got[4] != "v" || got[5] != "w" {
		t.Errorf("RETURNING columns %v", got)
	}
	// The joined row starts with the target's columns.
	if cols := up.From.Cols(); cols[0].Table != "uq" || cols[3].Table != "kv" {
		t.Errorf("joined columns %+v", cols)
	}
	p, err = buildErr("DELETE FROM uq USING kv WHERE kv.k = uq.k", cat)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.(*Delete); d.Using == nil || d.Returning != nil {
		t.Errorf("DELETE ... USING: %+v", d)
	}
	p, err = buildErr("INSERT INTO uq (k) VALUES (1) RETURNING k + 1", cat)
	if err != nil {
		t.Fatal(err)
	}
	if outs, ok := ReturningCols(p); !ok || len(outs) != 1 || outs[0].Name != "?column?" {
		t.Errorf("INSERT RETURNING: %+v", outs)
	}
	if _, ok := ReturningCols(plan(t, "DELETE FROM kv")); ok {
		t.Error("DELETE without RETURNING reports RETURNING columns")
	}
	if _, err := buildErr("UPDATE uq SET n = 1 FROM uq WHERE true", cat); pgerr.Code(err) != "42712" {
		t.Errorf("target named twice: %v", err)
	}
	p, err = buildErr("TRUNCATE uq, kv, uq", cat)
	if err != nil {
		t.Fatal(err)
	}
	if tr := p.(*Truncate); len(tr.Tables) != 2 {
		t.Errorf("TRUNCATE tables %d, want 2", len(tr.Tables))
	}
}
