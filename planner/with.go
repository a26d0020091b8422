package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// cte is a WITH query bound into a statement: its plan, shared by every
// reference (each reference runs it again; the plans are the same query
// over the same snapshot, so they see the same rows).
type cte struct {
	name string
	rel  Rel
	// outer is the scope the WITH query's body was planned under; a body
	// that reads columns of enclosing queries (correlated) may only be
	// referenced from FROM items planned under the same scope.
	outer      *scope
	correlated bool
}

// bindWith plans the queries of a WITH clause under outer and makes them
// visible, by name, to everything planned until pop is called: the
// statement the clause belongs to, its subqueries and derived tables (not
// views). Each query sees the ones before it. SELECT, set operations and
// VALUES plan their WITH clauses through buildQuery; a DML statement
// calls bindWith itself before planning its parts.
func bindWith(wc *pg.WithClause, outer *scope) (pop func(), err error) {
	st := outer.q.stmt
	n := len(st.ctes)
	pop = func() { st.ctes = st.ctes[:n] }
	if wc == nil {
		return pop, nil
	}
	if wc.Recursive {
		return pop, errAt(pgerr.FeatureNotSupported, wc.Location, "WITH RECURSIVE is not supported yet")
	}
	seen := map[string]bool{}
	for _, node := range wc.Ctes {
		ce := node.GetCommonTableExpr()
		if ce == nil {
			pop()
			return pop, pgerr.New(pgerr.FeatureNotSupported, "this WITH item is not supported yet")
		}
		if seen[ce.Ctename] {
			pop()
			return pop, errAt("42712", ce.Location, "WITH query name %q specified more than once", ce.Ctename)
		}
		seen[ce.Ctename] = true
		sel := ce.Ctequery.GetSelectStmt()
		if sel == nil {
			pop()
			return pop, errAt(pgerr.FeatureNotSupported, ce.Location, "data-modifying statements in WITH are not supported yet")
		}
		rel, q, err := buildQuery(sel, outer)
		if err != nil {
			pop()
			return pop, err
		}
		var names []string
		for _, c := range ce.Aliascolnames {
			names = append(names, c.GetString_().GetSval())
		}
		if cols := rel.Cols(); len(names) > visibleCols(cols) {
			pop()
			return pop, errAt(pgerr.InvalidColumnRef, ce.Location, "WITH query %q has %d columns available but %d columns specified", ce.Ctename, visibleCols(cols), len(names))
		}
		if rel, err = renameCols(rel, ce.Ctename, names); err != nil {
			pop()
			return pop, err
		}
		st.ctes = append(st.ctes, &cte{name: ce.Ctename, rel: rel, outer: outer, correlated: q.correlated})
	}
	return pop, nil
}

func visibleCols(cols []ColInfo) int {
	n := 0
	for _, c := range cols {
		if !c.Hidden {
			n++
		}
	}
	return n
}

// lookupCTE finds the innermost visible WITH query of that name, or nil.
func (s *scope) lookupCTE(name string) *cte {
	ctes := s.q.stmt.ctes
	for i := len(ctes) - 1; i >= 0; i-- {
		if ctes[i].name == name {
			return ctes[i]
		}
	}
	return nil
}

// cteRef plans a FROM-clause reference to a WITH query, in scope s.
func (s *scope) cteRef(c *cte, rv *pg.RangeVar) (Rel, error) {
	if c.correlated {
		if s.parent != c.outer {
			return nil, errAt(pgerr.FeatureNotSupported, rv.Location, "a WITH query that reads outer columns is supported only at its own query level, for now")
		}
		s.q.correlated = true // the referencing query reads the outer row too
	}
	alias := c.name
	var names []string
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
		for _, n := range rv.Alias.Colnames {
			names = append(names, n.GetString_().GetSval())
		}
	}
	return renameCols(c.rel, alias, names)
}
