package planner

import (
	"bytes"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
)

// testCatalog is the planner's catalog input for tests: tables by name.
type testCatalog map[string]*Table

func (c testCatalog) Table(name string) (*Table, error) {
	if t, ok := c[name]; ok {
		return t, nil
	}
	return nil, UndefinedTable(name)
}

func catalog() testCatalog {
	kv := &Table{ID: 100, Name: "kv", Columns: []Column{
		{ID: 1, Name: "k", Type: types.Int8}, {ID: 2, Name: "v", Type: types.Text, Nullable: true},
	}, PK: []int{0}, PKDesc: []bool{false}}
	ab := &Table{ID: 101, Name: "ab", Columns: []Column{
		{ID: 1, Name: "a", Type: types.Int4}, {ID: 2, Name: "b", Type: types.Text}, {ID: 3, Name: "c", Type: types.Float8, Nullable: true},
	}, PK: []int{0, 1}, PKDesc: []bool{false, false}}
	return testCatalog{"kv": kv, "ab": ab}
}

func plan(t *testing.T, sql string) Plan {
	t.Helper()
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	p, err := Build(tree.Stmts[0].Stmt, catalog())
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return p
}

func key(t *testing.T, table uint32, vals ...types.Datum) []byte {
	k, err := rowenc.EncodeRowKey(table, vals, make([]bool, len(vals)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAccess(t *testing.T) {
	i := types.NewInt
	s := types.NewString
	rowStart, rowEnd := keys.RowSpan(100)
	nullEnd := keys.PrefixEnd(keys.EncodeNullAscending(keys.RowPrefix(100)))
	for _, tc := range []struct {
		sql   string
		point []byte
		spans []Span
		none  bool
	}{
		{sql: "SELECT * FROM kv WHERE k = 5", point: key(t, 100, i(5))},
		{sql: "SELECT * FROM kv WHERE 5 = k AND v = 'x'", point: key(t, 100, i(5))},
		{sql: "SELECT * FROM kv WHERE k >= 5 AND k < 10", spans: []Span{{key(t, 100, i(5)), key(t, 100, i(10))}}},
		{sql: "SELECT * FROM kv WHERE k > 5 AND k <= 10", spans: []Span{{keys.PrefixEnd(key(t, 100, i(5))), keys.PrefixEnd(key(t, 100, i(10)))}}},
		{sql: "SELECT * FROM kv WHERE k < 3", spans: []Span{{nullEnd, key(t, 100, i(3))}}},
		{sql: "SELECT * FROM kv WHERE k BETWEEN 1 AND 2", spans: []Span{{key(t, 100, i(1)), keys.PrefixEnd(key(t, 100, i(2)))}}},
		{sql: "SELECT * FROM kv WHERE v = 'x'", spans: []Span{{rowStart, rowEnd}}},
		{sql: "SELECT * FROM kv WHERE k = 5 OR k = 6", spans: []Span{{rowStart, rowEnd}}},
		{sql: "SELECT * FROM kv", spans: []Span{{rowStart, rowEnd}}},
		{sql: "SELECT * FROM kv WHERE k = 1 AND k = 2", none: true},
		{sql: "SELECT * FROM kv WHERE k > 10 AND k < 5", none: true},
		{sql: "SELECT * FROM ab WHERE a = 1 AND b = 'x'", point: key(t, 101, i(1), s("x"))},
		{sql: "SELECT * FROM ab WHERE a = 1", spans: []Span{{key(t, 101, i(1)), keys.PrefixEnd(key(t, 101, i(1)))}}},
		{sql: "SELECT * FROM ab WHERE b = 'x'", spans: []Span{{keys.RowPrefix(101), keys.PrefixEnd(keys.RowPrefix(101))}}},
	} {
		acc := findScan(plan(t, tc.sql).(*Select).Root).Access
		switch {
		case tc.none:
			if acc.Point != nil || len(acc.Spans) != 0 {
				t.Errorf("%s: want no access, got %+v", tc.sql, acc)
			}
		case tc.point != nil:
			if !bytes.Equal(acc.Point, tc.point) {
				t.Errorf("%s: point %q, want %q", tc.sql, acc.Point, tc.point)
			}
		default:
			if acc.Point != nil || len(acc.Spans) != len(tc.spans) {
				t.Fatalf("%s: got %+v, want spans %q", tc.sql, acc, tc.spans)
			}
			for j := range tc.spans {
				if !bytes.Equal(acc.Spans[j].Start, tc.spans[j].Start) || !bytes.Equal(acc.Spans[j].End, tc.spans[j].End) {
					t.Errorf("%s: span %q, want %q", tc.sql, acc.Spans[j], tc.spans[j])
				}
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	for sql, code := range map[string]string{
		"SELECT * FROM nope":                                    pgerr.UndefinedTable,
		"SELECT x FROM kv":                                      pgerr.UndefinedColumn,
		"SELECT * FROM kv WHERE k = 'abc'":                      pgerr.InvalidTextRep,
		"SELECT * FROM kv WHERE v + 1 = 2":                      pgerr.UndefinedFunction,
		"SELECT * FROM kv WHERE k":                              pgerr.DatatypeMismatch,
		"INSERT INTO kv VALUES (1, 'a', 3)":                     pgerr.SyntaxError,
		"INSERT INTO kv (k, k) VALUES (1, 2)":                   pgerr.DuplicateColumn,
		"INSERT INTO kv (zz) VALUES (1)":                        pgerr.UndefinedColumn,
		"UPDATE kv SET zz = 1":                                  pgerr.UndefinedColumn,
		"SELECT k, count(*) FROM kv":                            pgerr.GroupingError,
		"SELECT * FROM kv ORDER BY 3":                           pgerr.InvalidColumnRef,
		"CREATE TABLE t (a INT, a INT)":                         pgerr.DuplicateColumn,
		"CREATE TABLE t (a INT PRIMARY KEY, b INT PRIMARY KEY)": pgerr.InvalidTableDef,
		"CREATE TABLE t (a blob)":                               pgerr.UndefinedObject,
		"SELECT * FROM kv LIMIT -1":                             "2201W",
	} {
		tree, err := pg.Parse(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		_, err = Build(tree.Stmts[0].Stmt, catalog())
		if got := pgerr.Code(err); got != code {
			t.Errorf("%s: code %s (%v), want %s", sql, got, err, code)
		}
	}
}

func TestCreateTable(t *testing.T) {
	p := plan(t, "CREATE TABLE t (a INT NOT NULL, b VARCHAR(5) DEFAULT 'x', c TEXT, PRIMARY KEY (c, a))").(*CreateTable)
	tb := p.Table
	if len(tb.Columns) != 3 || tb.Columns[1].Type != types.Varchar(5) || tb.Columns[1].Default != "'x'" {
		t.Fatalf("columns %+v", tb.Columns)
	}
	if len(tb.PK) != 2 || tb.PK[0] != 2 || tb.PK[1] != 0 || tb.Columns[2].Nullable {
		t.Fatalf("primary key %v, c nullable %v", tb.PK, tb.Columns[2].Nullable)
	}
	p = plan(t, "CREATE TABLE t (a INT)").(*CreateTable)
	if n := len(p.Table.Columns); n != 2 || !p.Table.Columns[1].Hidden || !p.Table.Columns[1].RowID || p.Table.PK[0] != 1 {
		t.Fatalf("a table without a primary key should get a hidden rowid key: %+v", p.Table)
	}
}

func TestBuildCustom(t *testing.T) {
	p, ok, err := BuildCustom("alter table KV split at values (1000), (2000);", catalog())
	if !ok || err != nil {
		t.Fatalf("ok %v err %v", ok, err)
	}
	sp := p.(*Split)
	if len(sp.Keys) != 2 || !bytes.Equal(sp.Keys[0], key(t, 100, types.NewInt(1000))) {
		t.Fatalf("split keys %q", sp.Keys)
	}
	if _, ok, err := BuildCustom("SHOW RANGES FROM TABLE kv", catalog()); !ok || err != nil {
		t.Fatalf("show ranges: %v %v", ok, err)
	}
	if _, ok, _ := BuildCustom("SELECT 1", catalog()); ok {
		t.Fatal("SELECT 1 is not a custom statement")
	}
	if _, _, err := BuildCustom("ALTER TABLE kv SPLIT AT VALUES ('x')", catalog()); pgerr.Code(err) != pgerr.InvalidTextRep {
		t.Fatalf("bad split value: %v", err)
	}
}

func findScan(r Rel) *Scan {
	switch r := r.(type) {
	case *Scan:
		return r
	case *Project:
		return findScan(r.Input)
	case *Filter:
		return findScan(r.Input)
	case *Aggregate:
		return findScan(r.Input)
	case *Sort:
		return findScan(r.Input)
	case *Limit:
		return findScan(r.Input)
	}
	return nil
}
