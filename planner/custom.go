package planner

import (
	"regexp"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
)

// The statements of our own, which PostgreSQL's grammar does not have.
const ident = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

var (
	splitRE      = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+` + ident + `\s+SPLIT\s+AT\s+(VALUES\s.*?)\s*;?\s*$`)
	showRangesRE = regexp.MustCompile(`(?is)^\s*SHOW\s+RANGES\s+FROM\s+TABLE\s+` + ident + `\s*;?\s*$`)
)

func identName(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}

// BuildCustom plans ShardSQL's own statements (ALTER TABLE ... SPLIT AT
// VALUES, SHOW RANGES FROM TABLE); ok is false for any other text.
func BuildCustom(sql string, cat Catalog) (p Plan, ok bool, err error) {
	if m := showRangesRE.FindStringSubmatch(sql); m != nil {
		t, err := cat.Table(identName(m[1]))
		if err != nil {
			return nil, true, err
		}
		return &ShowRanges{Table: t}, true, nil
	}
	m := splitRE.FindStringSubmatch(sql)
	if m == nil {
		return nil, false, nil
	}
	t, err := cat.Table(identName(m[1]))
	if err != nil {
		return nil, true, err
	}
	res, err := pg.Parse(m[2])
	if err != nil || len(res.Stmts) != 1 || res.Stmts[0].Stmt.GetSelectStmt() == nil {
		return nil, true, pgerr.New(pgerr.SyntaxError, "syntax error in SPLIT AT VALUES list")
	}
	split := &Split{Table: t}
	s := newStmtScope(nil)
	for _, vl := range res.Stmts[0].Stmt.GetSelectStmt().ValuesLists {
		items := vl.GetList().GetItems()
		if len(items) > len(t.PK) {
			return nil, true, pgerr.New(pgerr.SyntaxError, "too many columns in SPLIT AT data: the primary key of %q has %d", t.Name, len(t.PK))
		}
		key := keys.RowPrefix(t.ID)
		var vals []types.Datum
		for i, item := range items {
			e, err := s.buildExpr(item)
			if err != nil {
				return nil, true, err
			}
			c, isConst := e.(*Const)
			if !isConst {
				return nil, true, pgerr.New(pgerr.FeatureNotSupported, "SPLIT AT values must be constants")
			}
			d, err := types.Cast(c.Val, t.Columns[t.PK[i]].Type)
			if err != nil {
				return nil, true, err
			}
			if key, err = rowenc.EncodeKeyDatum(key, d, t.PKDesc[i]); err != nil {
				return nil, true, err
			}
			vals = append(vals, d)
		}
		split.Keys = append(split.Keys, key)
		split.Values = append(split.Values, vals)
	}
	return split, true, nil
}
