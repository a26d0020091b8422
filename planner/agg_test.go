package planner

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// TestAggClausesNotIgnored: an aggregate's FILTER, and string_agg's ORDER
// BY, reach the plan (found by the differential test, when they were
// silently dropped: count(*) FILTER (WHERE false) counted every row).
func TestAggClausesNotIgnored(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT count(*) FILTER (WHERE false) FROM kv": "filter",
		"SELECT string_agg(v, ',' ORDER BY v) FROM kv": "order",
		"SELECT string_agg(v, ','), sum(k) FROM kv":    "",
	} {
		tree, err := pg.Parse(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		p, err := Build(tree.Stmts[0].Stmt, catalog())
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		a, ok := findAgg(p.(*Select).Root)
		if !ok {
			t.Fatalf("%s: no aggregate in the plan", sql)
		}
		c := a.Aggs[0]
		got := ""
		switch {
		case c.Filter != nil:
			got = "filter"
		case len(c.Order) > 0:
			got = "order"
		}
		if got != want {
			t.Errorf("%s: the aggregate has %q, want %q", sql, got, want)
		}
	}
}
