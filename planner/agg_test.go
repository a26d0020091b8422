package planner

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// TestAggClausesNotIgnored: an aggregate's FILTER, and string_agg's ORDER
// BY, are refused rather than ignored (found by the differential test:
// count(*) FILTER (WHERE false) counted every row).
func TestAggClausesNotIgnored(t *testing.T) {
	for sql, code := range map[string]string{
		"SELECT count(*) FILTER (WHERE false) FROM kv": pgerr.FeatureNotSupported,
		"SELECT string_agg(v, ',' ORDER BY v) FROM kv": pgerr.FeatureNotSupported,
		"SELECT max(v ORDER BY v), count(*) FROM kv":   "",
		"SELECT string_agg(v, ','), sum(k) FROM kv":    "",
	} {
		tree, err := pg.Parse(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		_, err = Build(tree.Stmts[0].Stmt, catalog())
		got := ""
		if err != nil {
			got = pgerr.Code(err)
		}
		if got != code {
			t.Errorf("%s: code %q (%v), want %q", sql, got, err, code)
		}
	}
}
