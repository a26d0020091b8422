package planner

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

func alterPlan(t *testing.T, sql string, tbl *Table) *AlterTable {
	t.Helper()
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(tree.Stmts[0].Stmt, testCatalog{tbl.Name: tbl})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return p.(*AlterTable)
}

func TestApplyAlter(t *testing.T) {
	cur := &Table{ID: 9, Name: "t", Version: 3, Columns: []Column{
		{ID: 1, Name: "id", Type: types.Int4}, {ID: 2, Name: "a", Type: types.Int4, Nullable: true}, {ID: 5, Name: "b", Type: types.Text},
	}, PK: []int{0}, PKDesc: []bool{false}, NextColumnID: 6, Checks: []Check{{Name: "t_a_check", Expr: "a > 0"}, {Name: "ab", Expr: "a < length(b)"}}}

	res, err := ApplyAlter(cur, alterPlan(t, "ALTER TABLE t ADD COLUMN c INT DEFAULT 1 + 1 CHECK (c > 0), DROP COLUMN b", cur))
	if err != nil {
		t.Fatal(err)
	}
	nt := res.Table
	if len(nt.Columns) != 3 || nt.Columns[2].Name != "c" || nt.Columns[2].ID != 6 || nt.NextColumnID != 7 {
		t.Fatalf("columns %+v next %d", nt.Columns, nt.NextColumnID)
	}
	// The check reading b went with it; the new one is named after c.
	if len(nt.Checks) != 2 || nt.Checks[0].Name != "t_a_check" || nt.Checks[1].Name != "t_c_check" {
		t.Fatalf("checks %+v", nt.Checks)
	}
	if len(res.Checks) != 1 || res.Missing[6] == nil || res.Interim == nil || !res.Interim.Columns[2].Nullable {
		t.Fatalf("result %+v", res)
	}
	if len(cur.Columns) != 3 || len(cur.Checks) != 2 || cur.Columns[2].Name != "b" {
		t.Fatal("ApplyAlter changed its input")
	}

	res, err = ApplyAlter(cur, alterPlan(t, "ALTER TABLE t RENAME COLUMN a TO \"A x\"", cur))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Table.Checks[0].Expr; got != `"A x" > 0` {
		t.Fatalf("renamed check %q", got)
	}

	// Actions undone by later ones leave nothing to validate.
	res, err = ApplyAlter(cur, alterPlan(t, "ALTER TABLE t ADD COLUMN d INT NOT NULL DEFAULT 2, ADD CONSTRAINT dpos CHECK (d > 0), DROP COLUMN d", cur))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Checks) != 0 || len(res.NotNull) != 0 || len(res.Table.Columns) != 3 || res.Table.NextColumnID != 7 {
		t.Fatalf("result %+v table %+v", res, res.Table)
	}

	for sql, code := range map[string]string{
		"ALTER TABLE t ADD COLUMN a INT":               pgerr.DuplicateColumn,
		"ALTER TABLE t DROP COLUMN nope":               pgerr.UndefinedColumn,
		"ALTER TABLE t DROP COLUMN id":                 pgerr.FeatureNotSupported,
		"ALTER TABLE t DROP CONSTRAINT nope":           pgerr.UndefinedObject,
		"ALTER TABLE t ADD CONSTRAINT ab CHECK (true)": duplicateObject,
		"ALTER TABLE t ADD CHECK (a + 1)":              pgerr.DatatypeMismatch,
		"ALTER TABLE t ALTER COLUMN id DROP NOT NULL":  pgerr.InvalidTableDef,
		"ALTER TABLE t RENAME COLUMN a TO b":           pgerr.DuplicateColumn,
	} {
		_, err := ApplyAlter(cur, alterPlan(t, sql, cur))
		if pgerr.Code(err) != code {
			t.Errorf("%s: got %v, want %s", sql, err, code)
		}
	}
}

func TestChooseCheckName(t *testing.T) {
	tbl := &Table{Name: "t", Columns: []Column{{ID: 1, Name: "a", Type: types.Int4}}, PK: []int{0}, PKDesc: []bool{false},
		Checks: []Check{{Name: "t_a_check"}, {Name: "t_a_check1"}}}
	if got := ChooseCheckName(tbl, "a"); got != "t_a_check2" {
		t.Fatalf("got %s", got)
	}
	if got := ChooseCheckName(tbl, ""); got != "t_check" {
		t.Fatalf("got %s", got)
	}
	if got := ChooseCheckName(&Table{Name: "u", Columns: tbl.Columns, PK: []int{0}, PKDesc: []bool{false}, Checks: []Check{{Name: "u_pkey_check"}}}, "pkey"); got != "u_pkey_check1" {
		t.Fatalf("got %s", got)
	}
}

func TestViewReads(t *testing.T) {
	for _, c := range []struct {
		query, table, column string
		want                 bool
	}{
		{"SELECT a FROM t", "t", "", true},
		{"SELECT a FROM u", "t", "", false},
		{"SELECT a FROM t", "t", "a", true},
		{"SELECT a FROM t", "t", "b", false},
		{"SELECT * FROM t", "t", "b", true},
		{"SELECT x.b FROM u JOIN t AS x ON true", "t", "b", true},
		{"SELECT 1 FROM u WHERE EXISTS (SELECT b FROM t)", "t", "b", true},
	} {
		if got := ViewReads(c.query, c.table, c.column); got != c.want {
			t.Errorf("ViewReads(%q, %q, %q) = %v", c.query, c.table, c.column, got)
		}
	}
}
