package planner

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
)

func planErr(t *testing.T, sql string) error {
	t.Helper()
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	_, err = Build(tree.Stmts[0].Stmt, catalog())
	return err
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct{ sql, code string }{
		{"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", pgerr.FeatureNotSupported},
		{"WITH x AS (SELECT 1), x AS (SELECT 2) SELECT * FROM x", "42712"},
		{"WITH x(a, b) AS (SELECT 1) SELECT * FROM x", pgerr.InvalidColumnRef},
		{"WITH x AS (DELETE FROM kv RETURNING k) SELECT * FROM x", pgerr.FeatureNotSupported},
		{"WITH x AS (SELECT k FROM kv) SELECT * FROM x FOR UPDATE", pgerr.FeatureNotSupported},
		// A WITH query reading an outer column, referenced one level down.
		{"SELECT (WITH w AS (SELECT k AS z) SELECT (SELECT count(*) FROM w) FROM ab LIMIT 1) FROM kv", pgerr.FeatureNotSupported},
		{"SELECT DISTINCT ON (v) k FROM kv ORDER BY k", pgerr.InvalidColumnRef},
		{"SELECT k FROM kv WHERE row_number() OVER () > 1", "42P20"},
		{"SELECT rank() OVER (ORDER BY k) FROM kv GROUP BY 1", "42P20"},
		{"SELECT sum(k) OVER (ORDER BY k GROUPS 1 PRECEDING) FROM kv", pgerr.FeatureNotSupported},
		{"SELECT count(*) OVER (ORDER BY v RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM kv", pgerr.FeatureNotSupported},
		{"SELECT count(*) OVER (ORDER BY k, v RANGE 1 PRECEDING) FROM kv", "42P20"},
		{"SELECT sum(k) OVER (ROWS k PRECEDING) FROM kv", pgerr.InvalidColumnRef},
		{"SELECT sum(k) OVER (ORDER BY k ROWS BETWEEN CURRENT ROW AND CURRENT ROW EXCLUDE TIES) FROM kv", pgerr.FeatureNotSupported},
		{"SELECT rank() OVER v FROM kv WINDOW w AS (ORDER BY k ROWS 1 PRECEDING), v AS (w)", "42P20"},
		{"SELECT lag(k, 1, 'x') OVER () FROM kv", pgerr.InvalidTextRep},
	} {
		err := planErr(t, tc.sql)
		if got := pgerr.Code(err); got != tc.code {
			t.Errorf("%s: got %s (%v), want %s", tc.sql, got, err, tc.code)
		}
	}
}

// TestBindWith checks the WITH machinery a DML statement uses: the WITH
// queries are visible to FROM items planned while bound, and gone after.
func TestBindWith(t *testing.T) {
	tree, err := pg.Parse("WITH a AS (SELECT k FROM kv), b(x) AS (SELECT k + 1 FROM a) SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	wc := tree.Stmts[0].Stmt.GetSelectStmt().WithClause
	s := newStmtScope(catalog())
	pop, err := bindWith(wc, s)
	if err != nil {
		t.Fatal(err)
	}
	body := s.child(nil)
	rel, err := buildFrom(&pg.Node{Node: &pg.Node_RangeVar{RangeVar: &pg.RangeVar{Relname: "b", Inh: true}}}, body)
	if err != nil {
		t.Fatal(err)
	}
	if cols := rel.Cols(); len(cols) != 1 || cols[0].Name != "x" || cols[0].Table != "b" {
		t.Errorf("got columns %+v, want b.x", cols)
	}
	pop()
	if _, err := buildFrom(&pg.Node{Node: &pg.Node_RangeVar{RangeVar: &pg.RangeVar{Relname: "b", Inh: true}}}, body); pgerr.Code(err) != pgerr.UndefinedTable {
		t.Errorf("after pop: got %v, want 42P01", err)
	}
}

// TestWindowPlan checks that window calls become columns of one Window
// operator, a call used twice computed once.
func TestWindowPlan(t *testing.T) {
	p := plan(t, "SELECT k, rank() OVER (ORDER BY v), sum(k) OVER w, rank() OVER (ORDER BY v) + 1 FROM kv WINDOW w AS (PARTITION BY v) ORDER BY sum(k) OVER w")
	var win *Window
	var walk func(r Rel)
	walk = func(r Rel) {
		switch r := r.(type) {
		case *Window:
			win = r
		case *Project:
			walk(r.Input)
		case *Sort:
			walk(r.Input)
		}
	}
	walk(p.(*Select).Root)
	if win == nil {
		t.Fatal("no Window operator in the plan")
	}
	if len(win.Funcs) != 2 {
		t.Fatalf("got %d window functions, want 2: %v", len(win.Funcs), win.Funcs)
	}
	if win.Funcs[1].Agg == nil || len(win.Funcs[1].Partition) != 1 || win.Funcs[1].Frame != defaultFrame {
		t.Errorf("sum(k) OVER w planned as %s", win.Funcs[1])
	}
}

func TestOutputNames(t *testing.T) {
	p := plan(t, "SELECT (SELECT count(*) FROM kv), (SELECT v AS w FROM kv), EXISTS (SELECT 1), count(*)::int, (k + 1)::text, 1::int::text, CASE WHEN true THEN 1 END, coalesce(k, 1), greatest(1, 2), nullif(k, 1), k + 1 FROM kv GROUP BY k")
	want := []string{"count", "w", "exists", "count", "text", "text", "case", "coalesce", "greatest", "nullif", "?column?"}
	var got []string
	for _, c := range p.(*Select).Root.Cols() {
		got = append(got, c.Name)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: got %q, want %q", i, got[i], want[i])
		}
	}
}
