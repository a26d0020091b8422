package exec

import (
	"context"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// noTables is a catalog without tables: the queries below read VALUES only,
// so they run without a KV.
type noTables struct{}

func (noTables) Table(name string) (*planner.Table, error) { return nil, planner.UndefinedTable(name) }

func runQuery(t *testing.T, sql string) string {
	t.Helper()
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Build(tree.Stmts[0].Stmt, noTables{})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var rows []string
	_, err = Run(context.Background(), p, nil, nil, func(row []types.Datum) error {
		vals := make([]string, len(row))
		for i, d := range row {
			vals[i] = d.String()
		}
		rows = append(rows, strings.Join(vals, " "))
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.Join(rows, ";")
}

// TestQueries checks window functions, DISTINCT ON and WITH against
// results PostgreSQL 15 gave for the same queries.
func TestQueries(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{
			"SELECT x, ntile(4) OVER (ORDER BY x), rank() OVER (ORDER BY x / 3), sum(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING), lag(x, 2, -1) OVER (ORDER BY x), count(*) OVER (ORDER BY x / 3 RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM (VALUES (1), (2), (3), (4), (5), (6), (7)) v(x) ORDER BY x",
			"1 1 1 6 -1 2;2 1 1 10 -1 2;3 2 3 14 1 5;4 2 3 18 2 5;5 3 3 22 3 5;6 3 6 18 4 5;7 4 6 13 5 5",
		},
		{
			"SELECT DISTINCT ON (x % 2) x % 2, x FROM (VALUES (5), (2), (3), (4)) v(x) ORDER BY x % 2, x DESC",
			"0 4;1 5",
		},
		{
			"WITH a(n) AS (VALUES (1), (2)), b AS (SELECT n * 10 AS m FROM a) SELECT n, m FROM a, b ORDER BY n, m",
			"1 10;1 20;2 10;2 20",
		},
	} {
		if got := runQuery(t, tc.sql); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.sql, got, tc.want)
		}
	}
}
