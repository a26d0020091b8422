package planner

import (
	"bytes"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/types"
)

func buildParams(t *testing.T, sql string, declared ...types.T) (Plan, []types.T) {
	t.Helper()
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	p, pt, err := BuildParams(tree.Stmts[0].Stmt, catalog(), declared)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return p, pt
}

func TestParamTypes(t *testing.T) {
	cases := []struct {
		sql      string
		declared []types.T
		want     []types.T
	}{
		{"SELECT v FROM kv WHERE k = $1", nil, []types.T{types.Int8}},
		{"SELECT * FROM ab WHERE a > $2 AND b = $1", nil, []types.T{types.Text, types.Int4}},
		{"SELECT $1", nil, []types.T{types.Text}},
		{"SELECT $1::int + $2", nil, []types.T{types.Int4, types.Int4}},
		{"INSERT INTO kv VALUES ($1, $2)", nil, []types.T{types.Int8, types.Text}},
		{"UPDATE ab SET c = $1 WHERE a = $2", nil, []types.T{types.Float8, types.Int4}},
		{"SELECT v FROM kv WHERE k = $1", []types.T{types.Int4}, []types.T{types.Int4}},
		{"SELECT v FROM kv WHERE k = 1", []types.T{types.Unknown, types.Bool}, []types.T{types.Text, types.Bool}},
	}
	for _, c := range cases {
		_, got := buildParams(t, c.sql, c.declared...)
		if len(got) != len(c.want) {
			t.Errorf("%s: parameter types %v, want %v", c.sql, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: $%d is %v, want %v", c.sql, i+1, got[i], c.want[i])
			}
		}
	}
	if _, err := Build(mustParse(t, "SELECT $1"), catalog()); err == nil {
		t.Error("a parameter outside a prepared statement should be an error")
	}
}

func mustParse(t *testing.T, sql string) *pg.Node {
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	return tree.Stmts[0].Stmt
}

// TestDeferredAccess checks that a primary-key predicate on a parameter
// becomes a point read or span once the value is bound.
func TestDeferredAccess(t *testing.T) {
	p, _ := buildParams(t, "SELECT v FROM kv WHERE k = $1")
	s := findScan(p.(*Select).Root)
	if !s.Access.Deferred {
		t.Fatalf("access should wait for the parameter: %+v", s.Access)
	}
	a := AccessFor(s.Table, s.Filter, []types.Datum{types.NewInt(42)})
	if !bytes.Equal(a.Point, key(t, 100, types.NewInt(42))) {
		t.Errorf("bound access = %+v, want the point of k = 42", a)
	}
	p, _ = buildParams(t, "SELECT * FROM ab WHERE a = $1 AND b >= $2")
	s = findScan(p.(*Select).Root)
	a = AccessFor(s.Table, s.Filter, []types.Datum{types.NewInt(7), types.NewString("m")})
	if a.Point != nil || len(a.Spans) != 1 || a.Full || !bytes.HasPrefix(a.Spans[0].Start, key(t, 101, types.NewInt(7))) {
		t.Errorf("bound access = %+v, want one span under a = 7", a)
	}
	p, _ = buildParams(t, "SELECT v FROM kv WHERE v = $1")
	if findScan(p.(*Select).Root).Access.Deferred {
		t.Error("a predicate off the primary key does not make the access wait")
	}
}
