package planner

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// stmtInfo is shared by every query level of one statement.
type stmtInfo struct {
	cat        Catalog
	subqueries int
	viewDepth  int
	// ctes are the WITH queries visible where planning is (bindWith).
	ctes []*cte
}

// queryInfo is one query level (a SELECT, or a subquery).
type queryInfo struct {
	stmt *stmtInfo
	// aggs collects the aggregate calls met while building the select
	// list, HAVING and ORDER BY; nil where aggregates are not allowed.
	aggs *[]*AggCall
	// correlated is set when an expression of this level (or below) read a
	// column of an enclosing level.
	correlated bool
	// wins collects the window function calls met while building the
	// select list and ORDER BY; nil where window functions are not
	// allowed (winClause then names the clause, for the error).
	wins      *[]*WindowCall
	winClause string
	// windows are the named windows of the WINDOW clause.
	windows []*pg.WindowDef
}

// scope resolves column names against the row of one operator, and
// through parent against the rows of enclosing queries.
type scope struct {
	cols   []ColInfo
	parent *scope
	q      *queryInfo
	// inAgg is set while building an aggregate's argument.
	inAgg bool
	// inWin is set while building a window function's arguments and window.
	inWin bool
}

func newStmtScope(cat Catalog) *scope {
	return &scope{q: &queryInfo{stmt: &stmtInfo{cat: cat}}}
}

// child returns a scope for a nested query level.
func (s *scope) child(cols []ColInfo) *scope {
	return &scope{cols: cols, parent: s, q: &queryInfo{stmt: s.q.stmt}}
}

// with returns a scope of the same query level over other columns.
func (s *scope) with(cols []ColInfo) *scope {
	return &scope{cols: cols, parent: s.parent, q: s.q, inAgg: s.inAgg, inWin: s.inWin}
}

func (s *scope) catalog() Catalog { return s.q.stmt.cat }

// lookup finds a column in this level's columns: -1 when absent.
func (s *scope) lookup(qual, name string, loc int32) (int, error) {
	found, foundHidden := -1, -1
	for i, c := range s.cols {
		if c.Name != name || (qual != "" && c.Table != qual) {
			continue
		}
		if c.Hidden && qual == "" {
			if foundHidden < 0 {
				foundHidden = i
			}
			continue
		}
		if found >= 0 {
			ref := name
			if qual != "" {
				ref = qual + "." + name
			}
			return 0, errAt(pgerr.AmbiguousColumn, loc, "column reference %q is ambiguous", ref)
		}
		found = i
	}
	if found < 0 {
		found = foundHidden
	}
	return found, nil
}

func (s *scope) hasTable(qual string) bool {
	for _, c := range s.cols {
		if c.Table == qual {
			return true
		}
	}
	return false
}

func (s *scope) resolve(ref *pg.ColumnRef) (Expr, error) {
	var names []string
	for _, f := range ref.Fields {
		if f.GetAStar() != nil {
			return nil, errAt(pgerr.FeatureNotSupported, ref.Location, "* is not allowed here")
		}
		names = append(names, f.GetString_().GetSval())
	}
	col := names[len(names)-1]
	qual := ""
	if len(names) > 1 {
		qual = names[len(names)-2]
	}
	depth := 0
	qualSeen := false
	for cur := s; cur != nil; cur, depth = cur.parent, depth+1 {
		if qual != "" && cur.hasTable(qual) {
			qualSeen = true
		}
		i, err := cur.lookup(qual, col, ref.Location)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue
		}
		c := cur.cols[i]
		if depth == 0 {
			return &ColRef{Ord: i, Name: c.Name, T: c.T}, nil
		}
		for l := s; l != cur; l = l.parent {
			l.q.correlated = true
		}
		return &OuterRef{Depth: depth, Ord: i, Name: c.Name, T: c.T}, nil
	}
	if qual != "" && !qualSeen {
		return nil, errAt(pgerr.UndefinedTable, ref.Location, "missing FROM-clause entry for table %q", qual)
	}
	return nil, errAt(pgerr.UndefinedColumn, ref.Location, "column %q does not exist", strings.Join(names, "."))
}
