package sqlgen

import (
	"fmt"
	"strings"
)

// The optional features (Features): window functions, WITH and DISTINCT
// ON. Each generates only deterministic forms: no row_number (ties), and
// DISTINCT ON with an ORDER BY over every output column.

// windowExpr is a window function call of type t over the scope's columns.
func (g *Gen) windowExpr(ec *ectx, t Type) expr {
	cols := ec.sc.cols
	var parts []string
	for _, i := range g.r.Perm(len(cols))[:g.intn(min(2, len(cols))+1)] {
		parts = append(parts, cols[i].ref)
	}
	over := ""
	if len(parts) > 0 {
		over = "PARTITION BY " + strings.Join(parts, ", ")
	}
	if g.chance(0.5) {
		c := cols[g.intn(len(cols))]
		if over != "" {
			over += " "
		}
		over += "ORDER BY " + c.ref + g.pick([]string{"", " DESC", " NULLS FIRST"})
	}
	arg := func(t Type) (string, bool) {
		e, ok := g.columnRef(&ectx{sc: &scope{cols: cols}}, t)
		return e.sql, ok
	}
	call := ""
	switch t {
	case Int8:
		switch g.intn(3) {
		case 0:
			call = "count(*)"
		case 1:
			if strings.Contains(over, "ORDER BY") {
				call = g.pick([]string{"rank()", "dense_rank()"})
			} else {
				call = "count(*)"
			}
		default:
			if a, ok := arg(Int4); ok {
				call = "sum(" + a + ")"
			} else {
				call = "count(*)"
			}
		}
	case Numeric:
		if a, ok := arg([]Type{Int4, Int8, Numeric}[g.intn(3)]); ok {
			call = g.pick([]string{"sum", "avg"}) + "(" + a + ")"
		}
	case Float8:
		if a, ok := arg(Float8); ok {
			call = g.pick([]string{"sum", "avg", "min", "max"}) + "(" + a + ")"
		}
	case Bool:
		if a, ok := arg(Bool); ok {
			call = g.pick([]string{"bool_and", "bool_or"}) + "(" + a + ")"
		}
	default:
		if a, ok := arg(t); ok {
			call = g.pick([]string{"min", "max"}) + "(" + a + ")"
		}
	}
	if call == "" {
		return g.exprOf(ec, t)
	}
	return expr{sql: call + " OVER (" + over + ")", bound: typeMax[t]}
}

// withClause is WITH and 1-2 common table expressions (a later one may
// read an earlier one).
func (g *Gen) withClause() (string, []cte) {
	var ctes []cte
	var defs []string
	n := 1 + g.intn(2)
	for i := 0; i < n; i++ {
		sub, types := g.selectStmt(selOpts{qdepth: 1, ctes: ctes})
		c := cte{name: fmt.Sprintf("q%d", i), types: types}
		var names []string
		for j, t := range types {
			nm := fmt.Sprintf("x%d", j)
			names = append(names, nm)
			c.cols = append(c.cols, col{nm, t})
		}
		defs = append(defs, fmt.Sprintf("%s(%s) AS (%s)", c.name, strings.Join(names, ", "), sub))
		ctes = append(ctes, c)
	}
	return "WITH " + strings.Join(defs, ", ") + " ", ctes
}

// distinctOnQuery is SELECT DISTINCT ON (leading columns) ... ORDER BY
// every output column, so the row kept for each group is determined.
func (g *Gen) distinctOnQuery() Query {
	fromSQL, cols := g.from(selOpts{})
	sc := &scope{cols: cols}
	n := 2 + g.intn(3)
	var items []string
	for i := 0; i < n; i++ {
		t := Type(g.intn(int(numTypes)))
		e := g.exprOf(&ectx{sc: sc}, t)
		items = append(items, fmt.Sprintf("%s AS r%d", e.sql, i))
	}
	k := 1 + g.intn(n-1)
	var on, terms []string
	var order []OrderKey
	for i := 0; i < n; i++ {
		if i < k {
			on = append(on, fmt.Sprintf("r%d", i))
		}
		o := OrderKey{Col: i, Desc: g.chance(0.4)}
		o.NullsFirst = o.Desc
		term := fmt.Sprintf("r%d", i)
		if o.Desc {
			term += " DESC"
		}
		order = append(order, o)
		terms = append(terms, term)
	}
	sql := fmt.Sprintf("SELECT DISTINCT ON (%s) %s FROM %s", strings.Join(on, ", "), strings.Join(items, ", "), fromSQL)
	if g.chance(0.5) {
		sql += " WHERE " + g.boolExpr(&ectx{sc: sc}).sql
	}
	sql += " ORDER BY " + strings.Join(terms, ", ")
	return Query{SQL: sql, Order: order}
}
