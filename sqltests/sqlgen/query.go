package sqlgen

import (
	"fmt"
	"math"
	"strings"
)

// OrderKey is one ORDER BY term of a query's top level: Col is the output
// column (0-based).
type OrderKey struct {
	Col        int
	Desc       bool
	NullsFirst bool
}

// Query is a generated query. When Order is set, it orders by every
// output column (a total order up to rows that sort equal), and Limited
// says whether LIMIT/OFFSET cut the result.
type Query struct {
	SQL     string
	Order   []OrderKey
	Limited bool
}

// col is a column visible in a scope.
type col struct {
	ref string
	typ Type
}

// scope is what an expression may reference: cols of its own query
// level, and outer (for correlated subqueries).
type scope struct {
	cols  []col
	outer *scope
}

// ectx is an expression's context.
type ectx struct {
	sc      *scope
	grouped bool  // a grouped query: bare columns must be group keys
	keys    []col // the group keys when grouped
	all     []col // every column of the level (aggregate arguments)
	aggOK   bool  // aggregates may appear
	risky   bool  // may fail (overflow, division by zero): see the package doc
	depth   int
	qdepth  int // subquery nesting
}

// limits of the integer types (as bounds on |value|).
//
// Doubles are kept below 2^53 outside risky contexts: PostgreSQL's
// shortest-exact output (Ryu) differs from the shortest form for some
// large doubles (see the report of the differential test:
// 1000000000001000000::float8 prints as 1.0000000000009999e+18 there).
var typeMax = map[Type]float64{Int4: 2147483647, Int8: 9223372036854775807, Numeric: 1e100, Float8: 9e15}

// expr is a generated expression: its SQL, a bound on its absolute value
// (numeric types) and whether it is a constant.
type expr struct {
	sql   string
	bound float64
	cnst  bool
	lit   bool // a plain literal
}

func (g *Gen) pick(s []string) string { return s[g.intn(len(s))] }

// Query generates a top-level query.
func (g *Gen) Query() Query {
	g.alias = 0
	if g.F.DistinctOn && g.chance(0.08) {
		return g.distinctOnQuery()
	}
	var with string
	var ctes []cte
	if g.F.CTE && g.chance(0.2) {
		with, ctes = g.withClause()
	}
	limit := g.chance(0.25)
	order := limit || g.chance(0.4)
	var sql string
	var types []Type
	if g.chance(0.2) {
		sql, types = g.setOp(ctes)
	} else {
		sql, types = g.selectStmt(selOpts{risky: !limit && g.chance(0.3), ctes: ctes, window: g.F.Window})
	}
	q := Query{SQL: with + sql}
	if order {
		perm := g.r.Perm(len(types))
		var terms []string
		for _, c := range perm {
			k := OrderKey{Col: c, Desc: g.chance(0.4)}
			term := fmt.Sprint(c + 1)
			if k.Desc {
				term += " DESC"
			}
			k.NullsFirst = k.Desc
			switch g.intn(3) {
			case 0:
				term += " NULLS FIRST"
				k.NullsFirst = true
			case 1:
				term += " NULLS LAST"
				k.NullsFirst = false
			}
			q.Order = append(q.Order, k)
			terms = append(terms, term)
		}
		q.SQL += " ORDER BY " + strings.Join(terms, ", ")
	}
	if limit {
		q.Limited = true
		q.SQL += fmt.Sprintf(" LIMIT %d", g.intn(12))
		if g.chance(0.4) {
			q.SQL += fmt.Sprintf(" OFFSET %d", g.intn(8))
		}
	}
	return q
}

// selOpts shape a SELECT.
type selOpts struct {
	types  []Type // required output types (nil: any)
	risky  bool
	outer  *scope
	qdepth int
	ctes   []cte
	window bool
}

type cte struct {
	name  string
	cols  []col // refs are bare column names
	types []Type
}

func (g *Gen) newAlias(p string) string {
	g.alias++
	return fmt.Sprintf("%s%d", p, g.alias)
}

// fromItem is a table, CTE or derived table with an alias.
func (g *Gen) fromItem(o selOpts) (string, []col) {
	if o.qdepth < 2 && g.chance(0.15) {
		// A derived table.
		sub, types := g.selectStmt(selOpts{qdepth: o.qdepth + 1, ctes: o.ctes, window: o.window, outer: nil})
		a := g.newAlias("d")
		var names []string
		var cols []col
		for i, t := range types {
			n := fmt.Sprintf("x%d", i)
			names = append(names, n)
			cols = append(cols, col{a + "." + n, t})
		}
		if g.chance(0.2) {
			// LIMIT under an ORDER BY of every column: defined.
			var ord []string
			for i := range types {
				ord = append(ord, fmt.Sprintf("%d%s", i+1, g.pick([]string{"", " DESC", " NULLS FIRST"})))
			}
			sub += fmt.Sprintf(" ORDER BY %s LIMIT %d", strings.Join(ord, ", "), g.intn(8))
		}
		return fmt.Sprintf("(%s) AS %s(%s)", sub, a, strings.Join(names, ", ")), cols
	}
	if len(o.ctes) > 0 && g.chance(0.4) {
		c := o.ctes[g.intn(len(o.ctes))]
		a := g.newAlias("w")
		var cols []col
		for _, cc := range c.cols {
			cols = append(cols, col{a + "." + cc.ref, cc.typ})
		}
		return c.name + " AS " + a, cols
	}
	t := g.Tables[g.intn(len(g.Tables))]
	a := g.newAlias("a")
	var cols []col
	for _, c := range t.Cols {
		cols = append(cols, col{a + "." + c.Name, c.Type})
	}
	return t.Name + " AS " + a, cols
}

// from builds a FROM clause of 1-3 items joined in random ways.
func (g *Gen) from(o selOpts) (string, []col) {
	n := 1
	switch r := g.r.Float64(); {
	case r < 0.35:
		n = 2
	case r < 0.45:
		n = 3
	}
	if o.qdepth > 0 && n > 2 {
		n = 2
	}
	sql, cols := g.fromItem(o)
	crossed := false
	for i := 1; i < n; i++ {
		isql, icols := g.fromItem(o)
		pairs := eqPairs(cols, icols)
		all := append(append([]col{}, cols...), icols...)
		sc := &scope{cols: all, outer: o.outer}
		cond := func() string {
			var cs []string
			if len(pairs) > 0 && g.chance(0.85) {
				p := pairs[g.intn(len(pairs))]
				cs = append(cs, p[0].ref+" = "+p[1].ref)
			}
			if len(cs) == 0 || g.chance(0.3) {
				cs = append(cs, g.boolExpr(&ectx{sc: sc, depth: 2, qdepth: o.qdepth + 1}).sql)
			}
			return strings.Join(cs, " AND ")
		}
		if i == 1 && g.chance(0.15) {
			// USING a column name both sides have with the same type
			// (only after a single item: a name appearing twice on the
			// left would be ambiguous).
			var names []string
			for _, p := range pairs {
				ln, rn := p[0].ref[strings.Index(p[0].ref, ".")+1:], p[1].ref[strings.Index(p[1].ref, ".")+1:]
				if ln == rn && p[0].typ == p[1].typ {
					names = append(names, ln)
				}
			}
			if len(names) > 0 {
				sql += " " + g.pick([]string{"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"}) + " " + isql + " USING (" + g.pick(names) + ")"
				cols = all
				continue
			}
		}
		switch r := g.intn(10); {
		case r < 4:
			sql += " JOIN " + isql + " ON " + cond()
		case r < 6:
			sql += " LEFT JOIN " + isql + " ON " + cond()
		case r < 7:
			sql += " RIGHT JOIN " + isql + " ON " + cond()
		case r < 8 && len(pairs) > 0:
			// FULL JOIN needs merge- or hash-joinable conditions.
			p := pairs[g.intn(len(pairs))]
			c := p[0].ref + " = " + p[1].ref
			if len(pairs) > 1 && g.chance(0.3) {
				q := pairs[g.intn(len(pairs))]
				c += " AND " + q[0].ref + " = " + q[1].ref
			}
			sql += " FULL JOIN " + isql + " ON " + c
		case !crossed && g.chance(0.5):
			crossed = true
			if i < n-1 || g.chance(0.5) {
				// (After a comma, later ON clauses could not see the
				// items before it.)
				sql += " CROSS JOIN " + isql
			} else {
				sql += ", " + isql
			}
		default:
			sql += " JOIN " + isql + " ON " + cond()
		}
		cols = all
	}
	return sql, cols
}

// eqPairs are the column pairs (one from each side) an equi-join may use.
func eqPairs(l, r []col) [][2]col {
	var out [][2]col
	for _, a := range l {
		for _, b := range r {
			if a.typ == b.typ || (a.typ.integer() && b.typ.integer()) {
				out = append(out, [2]col{a, b})
			}
		}
	}
	return out
}

// selectStmt generates a SELECT (no ORDER BY/LIMIT) and its output types.
func (g *Gen) selectStmt(o selOpts) (string, []Type) {
	fromSQL, cols := g.from(o)
	sc := &scope{cols: cols, outer: o.outer}
	var b strings.Builder
	ec := &ectx{sc: sc, qdepth: o.qdepth, risky: o.risky}

	grouped := g.chance(0.3)
	var keys []col
	if grouped && g.chance(0.8) {
		perm := g.r.Perm(len(cols))
		for _, i := range perm[:1+g.intn(min(3, len(cols)))] {
			keys = append(keys, cols[i])
		}
	}
	types := o.types
	if types == nil {
		n := 1 + g.intn(4)
		for i := 0; i < n; i++ {
			types = append(types, Type(g.intn(int(numTypes))))
		}
	}
	distinct := g.chance(0.15)
	b.WriteString("SELECT ")
	if distinct {
		b.WriteString("DISTINCT ")
	}
	var items []string
	// In a risky select list no NULL literal: PostgreSQL folds a strict
	// operator with a NULL constant to NULL at plan time, so NULL + (x %
	// 0) never fails there.
	prevNoNull := g.noNull
	g.noNull = o.risky
	defer func() { g.noNull = prevNoNull }()
	for i, t := range types {
		var e expr
		if grouped {
			e = g.exprOf(&ectx{sc: &scope{cols: keys, outer: o.outer}, grouped: true, keys: keys, all: cols, aggOK: true, risky: o.risky, qdepth: o.qdepth, depth: 0}, t)
		} else if o.window && !distinct && g.chance(0.3) {
			e = g.windowExpr(ec, t)
		} else {
			e = g.exprOf(&ectx{sc: sc, risky: o.risky, qdepth: o.qdepth}, t)
		}
		items = append(items, fmt.Sprintf("%s AS r%d", e.sql, i))
	}
	b.WriteString(strings.Join(items, ", "))
	b.WriteString(" FROM " + fromSQL)
	if g.chance(0.6) {
		b.WriteString(" WHERE " + g.boolExpr(&ectx{sc: sc, qdepth: o.qdepth}).sql)
	}
	if grouped {
		if len(keys) > 0 {
			var ks []string
			for _, k := range keys {
				ks = append(ks, k.ref)
			}
			b.WriteString(" GROUP BY " + strings.Join(ks, ", "))
		}
		if g.chance(0.4) {
			b.WriteString(" HAVING " + g.boolExpr(&ectx{sc: &scope{cols: keys, outer: o.outer}, grouped: true, keys: keys, all: cols, aggOK: true, qdepth: o.qdepth}).sql)
		}
	}
	return b.String(), types
}

// setOp generates a UNION/INTERSECT/EXCEPT of two or three SELECTs.
func (g *Gen) setOp(ctes []cte) (string, []Type) {
	n := 1 + g.intn(3)
	var types []Type
	for i := 0; i < n; i++ {
		types = append(types, Type(g.intn(int(numTypes))))
	}
	parts := 2
	if g.chance(0.2) {
		parts = 3
	}
	var sql string
	for i := 0; i < parts; i++ {
		s, _ := g.selectStmt(selOpts{types: types, ctes: ctes})
		if i == 0 {
			sql = s
			continue
		}
		op := g.pick([]string{"UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL", "UNION", "UNION ALL"})
		if g.chance(0.3) {
			sql = "(" + sql + ") " + op + " (" + s + ")"
		} else {
			sql = sql + " " + op + " " + s
		}
	}
	return sql, types
}

// ---- expressions ----

func (g *Gen) colsOf(sc *scope, t Type) []col {
	var out []col
	for _, c := range sc.cols {
		if c.typ == t {
			out = append(out, c)
		}
	}
	return out
}

// columnRef picks a column of type t from the scope (sometimes from an
// outer scope: a correlated reference); ok is false if none fits.
func (g *Gen) columnRef(ec *ectx, t Type) (expr, bool) {
	sc := ec.sc
	if sc.outer != nil && g.chance(0.25) {
		if cs := g.colsOf(sc.outer, t); len(cs) > 0 {
			return expr{sql: cs[g.intn(len(cs))].ref, bound: typeMax[t]}, true
		}
	}
	cs := g.colsOf(sc, t)
	if len(cs) == 0 {
		return expr{}, false
	}
	return expr{sql: cs[g.intn(len(cs))].ref, bound: typeMax[t]}, true
}

// literal is a constant of type t.
func (g *Gen) literal(t Type) expr {
	if !g.noNull && g.chance(0.05) {
		return expr{sql: "CAST(NULL AS " + t.SQL() + ")", cnst: true, lit: true}
	}
	switch t {
	case Int4:
		v := g.intn(21) - 10
		return expr{sql: fmt.Sprint(v), bound: math.Abs(float64(v)), cnst: true, lit: true}
	case Int8:
		v := g.intn(21) - 10
		return expr{sql: fmt.Sprintf("%d::bigint", v), bound: math.Abs(float64(v)), cnst: true, lit: true}
	case Text:
		return expr{sql: g.pick(textVals), cnst: true, lit: true}
	case Numeric:
		s := g.pick([]string{"0", "1.5", "-3.25", "2", "0.5", "100.001", "1.50", "-7", "10"})
		if !strings.Contains(s, ".") {
			s += "::numeric"
		}
		return expr{sql: s, bound: 101, cnst: true, lit: true}
	case Bool:
		return expr{sql: g.pick(boolVals), cnst: true, lit: true}
	default:
		s := g.pick([]string{"0", "1.5", "-2.25", "0.5", "3.75", "1024", "-1"})
		return expr{sql: "(" + s + ")::float8", bound: 1024, cnst: true, lit: true}
	}
}

// compareLiteral is a constant for comparing with a column of type t:
// often one of the data values, so comparisons hit.
func (g *Gen) compareLiteral(t Type) expr {
	if g.chance(0.5) {
		return g.literal(t)
	}
	v := g.pick(pool(t))
	if t != Text && t != Bool {
		v = "CAST(" + v + " AS " + t.SQL() + ")"
	}
	return expr{sql: v, bound: typeMax[t], cnst: true, lit: true}
}

// exprOf generates an expression of type t. In risky contexts a
// constant subexpression is a plain literal: PostgreSQL folds constants
// at plan time (CASE WHEN <false> THEN x END is NULL, and NULL - (a / a)
// then NULL too), so around a constant that folds to NULL it never
// evaluates what may fail.
func (g *Gen) exprOf(ec *ectx, t Type) expr {
	e := g.exprOf1(ec, t)
	if ec.risky && e.cnst && !e.lit {
		return g.literal(t)
	}
	return e
}

func (g *Gen) exprOf1(ec *ectx, t Type) expr {
	if ec.depth > 2 {
		return g.leaf(ec, t)
	}
	child := *ec
	child.depth++
	c := &child
	r := g.intn(100)
	switch {
	case r < 40:
		return g.leaf(ec, t)
	case r < 50 && ec.aggOK:
		return g.aggregate(ec, t)
	case r < 53 && ec.qdepth < 2 && !ec.grouped:
		return g.scalarSubquery(ec, t)
	case r < 58:
		return g.caseExpr(c, t)
	case r < 64:
		a, b := g.exprOf(c, t), g.exprOf(c, t)
		fn := g.pick([]string{"COALESCE", "COALESCE", "GREATEST", "LEAST"})
		if t == Bool && fn != "COALESCE" {
			fn = "COALESCE"
		}
		return expr{sql: fmt.Sprintf("%s(%s, %s)", fn, a.sql, b.sql), bound: math.Max(a.bound, b.bound), cnst: a.cnst && b.cnst}
	case r < 67 && t != Bool:
		a, b := g.exprOf(c, t), g.exprOf(c, t)
		return expr{sql: fmt.Sprintf("NULLIF(%s, %s)", a.sql, b.sql), bound: a.bound, cnst: a.cnst && b.cnst}
	case r < 73:
		if e, ok := g.funcExpr(c, t); ok {
			return e
		}
	}
	switch t {
	case Bool:
		return g.boolExpr(ec)
	case Text:
		return g.textExpr(c)
	default:
		return g.arith(c, t)
	}
}

// leaf is a column of type t (cast from another type sometimes) or a literal.
func (g *Gen) leaf(ec *ectx, t Type) expr {
	if g.chance(0.75) {
		if e, ok := g.columnRef(ec, t); ok {
			return e
		}
		if g.chance(0.5) {
			if e, ok := g.castLeaf(ec, t); ok {
				return e
			}
		}
	}
	if ec.grouped && ec.aggOK && g.chance(0.5) {
		return g.aggregate(ec, t)
	}
	return g.literal(t)
}

// castLeaf is a column of another type cast to t, where the cast cannot fail.
func (g *Gen) castLeaf(ec *ectx, t Type) (expr, bool) {
	var from []Type
	switch t {
	case Int8:
		from = []Type{Int4}
	case Numeric:
		from = []Type{Int4, Int8}
	case Float8:
		from = []Type{Int4, Numeric}
	case Text:
		from = []Type{Int4, Int8, Numeric, Bool, Float8}
	}
	if len(from) == 0 {
		return expr{}, false
	}
	f := from[g.intn(len(from))]
	e, ok := g.columnRef(ec, f)
	if !ok {
		return expr{}, false
	}
	b := e.bound
	if t == Float8 {
		b = math.Min(b, 1e19)
	}
	return expr{sql: fmt.Sprintf("CAST(%s AS %s)", e.sql, t.SQL()), bound: b}, true
}

// arith is arithmetic of numeric type t. Outside risky contexts an
// operation whose result could overflow wraps its operands in % K first.
func (g *Gen) arith(ec *ectx, t Type) expr {
	a := g.exprOf(ec, t)
	if g.chance(0.15) {
		// Unary minus or abs.
		if t.integer() && a.bound >= typeMax[t] && !(ec.risky && !a.cnst) {
			a = g.wrap(a, t)
		}
		if g.chance(0.5) {
			return expr{sql: "(- " + a.sql + ")", bound: a.bound, cnst: a.cnst}
		}
		return expr{sql: "abs(" + a.sql + ")", bound: a.bound, cnst: a.cnst}
	}
	b := g.exprOf(ec, t)
	op := g.pick([]string{"+", "-", "*", "/", "%", "+", "-"})
	if t == Float8 && op == "%" {
		op = "*"
	}
	bound := func(x, y expr) float64 {
		switch op {
		case "+", "-":
			return x.bound + y.bound
		case "*":
			return x.bound * y.bound
		case "/":
			if t == Float8 {
				return x.bound * 8 // the smallest nonzero |float| in the data is 0.125
			}
			if t == Numeric {
				return x.bound * 1e4
			}
			return x.bound + 1
		default:
			return math.Min(x.bound, y.bound)
		}
	}
	// Doubles stay below 2^53 even in risky contexts (typeMax).
	safe := !ec.risky || (a.cnst && b.cnst) || t == Float8
	if safe {
		lim := typeMax[t]
		for i := 0; i < 3 && bound(a, b) >= lim; i++ {
			if a.bound >= b.bound {
				a = g.wrap(a, t)
			} else {
				b = g.wrap(b, t)
			}
		}
		if bound(a, b) >= lim {
			return a
		}
	}
	bs := b.sql
	if op == "/" || op == "%" {
		if safe || g.chance(0.5) {
			if b.cnst {
				if t == Float8 {
					bs = "(" + g.pick([]string{"1.5", "-2", "0.5", "3"}) + ")::float8"
					b.bound = 3
				} else {
					bs = fmt.Sprint(g.pick([]string{"3", "7", "-2", "10"}))
					if t == Numeric {
						bs += "::numeric"
					} else if t == Int8 {
						bs += "::bigint"
					}
				}
			} else {
				bs = "NULLIF(" + bs + ", 0)"
			}
		}
	}
	return expr{sql: "(" + a.sql + " " + op + " " + bs + ")", bound: bound(a, b), cnst: a.cnst && b.cnst}
}

// wrap bounds an expression: (e % K) for integers and numerics, a
// division-free scaling for floats (which only overflow near 1e308).
func (g *Gen) wrap(e expr, t Type) expr {
	k := []int{3, 7, 10, 100, 1000}[g.intn(5)]
	switch t {
	case Int8:
		return expr{sql: fmt.Sprintf("(%s %% %d::bigint)", e.sql, k), bound: float64(k - 1), cnst: e.cnst}
	case Numeric:
		return expr{sql: fmt.Sprintf("(%s %% %d::numeric)", e.sql, k), bound: float64(k), cnst: e.cnst}
	case Float8:
		return expr{sql: fmt.Sprintf("LEAST(GREATEST(%s, -1e6::float8), 1e6::float8)", e.sql), bound: 1e6, cnst: e.cnst}
	default:
		return expr{sql: fmt.Sprintf("(%s %% %d)", e.sql, k), bound: float64(k - 1), cnst: e.cnst}
	}
}

func (g *Gen) textExpr(ec *ectx) expr {
	switch g.intn(7) {
	case 0:
		a, b := g.exprOf(ec, Text), g.exprOf(ec, Text)
		return expr{sql: "(" + a.sql + " || " + b.sql + ")", cnst: a.cnst && b.cnst}
	case 1:
		a := g.exprOf(ec, Text)
		return expr{sql: g.pick([]string{"lower", "upper", "btrim"}) + "(" + a.sql + ")", cnst: a.cnst}
	case 2:
		a := g.exprOf(ec, Text)
		return expr{sql: fmt.Sprintf("substr(%s, %d, %d)", a.sql, g.intn(4), g.intn(4)), cnst: a.cnst}
	case 3:
		a := g.exprOf(ec, Text)
		return expr{sql: fmt.Sprintf("replace(%s, 'a', 'Q')", a.sql), cnst: a.cnst}
	case 4:
		a, b := g.exprOf(ec, Text), g.exprOf(ec, Text)
		return expr{sql: "concat(" + a.sql + ", " + b.sql + ")", cnst: a.cnst && b.cnst}
	case 5:
		t := []Type{Int4, Int8, Numeric, Bool}[g.intn(4)]
		a := g.exprOf(ec, t)
		return expr{sql: "CAST(" + a.sql + " AS text)", cnst: a.cnst}
	default:
		return g.leaf(ec, Text)
	}
}

// aggregate is an aggregate call returning t; its arguments reference
// the query's own columns only (not the keys: any column of the level).
func (g *Gen) aggregate(ec *ectx, t Type) expr {
	// Never risky: PostgreSQL moves HAVING conditions on group keys
	// into WHERE, so it may not aggregate the rows ShardSQL does.
	in := &ectx{sc: &scope{cols: g.levelCols(ec)}, qdepth: ec.qdepth + 1, depth: 2}
	in.qdepth = ec.qdepth + 2 // no subqueries inside aggregates
	arg := func(t Type) string {
		if g.chance(0.5) {
			if e, ok := g.columnRef(in, t); ok {
				return e.sql
			}
		}
		return g.exprOf(in, t).sql
	}
	distinct := ""
	if g.chance(0.2) {
		distinct = "DISTINCT "
	}
	switch t {
	case Int8:
		switch g.intn(3) {
		case 0:
			return expr{sql: "count(*)", bound: 1e6}
		case 1:
			at := Type(g.intn(int(numTypes)))
			return expr{sql: "count(" + distinct + arg(at) + ")", bound: 1e6}
		default:
			return expr{sql: "sum(" + distinct + arg(Int4) + ")", bound: 1e16}
		}
	case Numeric:
		if g.chance(0.5) {
			at := []Type{Int4, Int8, Numeric}[g.intn(3)]
			return expr{sql: "avg(" + distinct + arg(at) + ")", bound: typeMax[Int8]}
		}
		at := []Type{Int8, Numeric}[g.intn(2)]
		return expr{sql: "sum(" + distinct + arg(at) + ")", bound: 1e22}
	case Float8:
		fn := g.pick([]string{"sum", "avg", "min", "max"})
		return expr{sql: fn + "(" + distinct + arg(Float8) + ")", bound: 1e8}
	case Bool:
		fn := g.pick([]string{"bool_and", "bool_or"})
		return expr{sql: fn + "(" + arg(Bool) + ")"}
	default:
		fn := g.pick([]string{"min", "max"})
		return expr{sql: fn + "(" + distinct + arg(t) + ")", bound: typeMax[t]}
	}
}

// levelCols are all columns of the query level (for aggregate arguments).
func (g *Gen) levelCols(ec *ectx) []col {
	if ec.all != nil {
		return ec.all
	}
	return ec.sc.cols
}

func (g *Gen) caseExpr(ec *ectx, t Type) expr {
	cond := &ectx{sc: ec.sc, grouped: ec.grouped, keys: ec.keys, all: ec.all, aggOK: ec.aggOK, depth: ec.depth + 1, qdepth: ec.qdepth}
	n := 1 + g.intn(2)
	var b strings.Builder
	b.WriteString("CASE")
	bound := 0.0
	cnst := true
	for i := 0; i < n; i++ {
		w := g.boolExpr(cond)
		v := g.exprOf(ec, t)
		bound = math.Max(bound, v.bound)
		cnst = cnst && w.cnst && v.cnst
		b.WriteString(" WHEN " + w.sql + " THEN " + v.sql)
	}
	if ec.risky || g.chance(0.7) {
		// (Risky: no CASE that folds to NULL, see exprOf.)
		v := g.exprOf(ec, t)
		bound = math.Max(bound, v.bound)
		cnst = cnst && v.cnst
		b.WriteString(" ELSE " + v.sql)
	}
	b.WriteString(" END")
	return expr{sql: b.String(), bound: bound, cnst: cnst}
}

// comparable types for a comparison with a value of type t.
func (g *Gen) comparableType(t Type) Type {
	if t.numeric() && g.chance(0.3) {
		ts := []Type{Int4, Int8, Numeric}
		if t == Float8 || g.chance(0.2) {
			ts = []Type{Int4, Float8}
		}
		return ts[g.intn(len(ts))]
	}
	return t
}

// boolExpr is a predicate; never risky (AND/OR evaluation order is not
// defined).
func (g *Gen) boolExpr(ec0 *ectx) expr {
	ec := *ec0
	ec.risky = false
	ec.depth++
	c := &ec
	if ec.depth > 3 {
		return g.simplePred(c)
	}
	switch r := g.intn(100); {
	case r < 15:
		a, b := g.boolExpr(c), g.boolExpr(c)
		return expr{sql: "(" + a.sql + " AND " + b.sql + ")", cnst: a.cnst && b.cnst}
	case r < 27:
		a, b := g.boolExpr(c), g.boolExpr(c)
		return expr{sql: "(" + a.sql + " OR " + b.sql + ")", cnst: a.cnst && b.cnst}
	case r < 32:
		a := g.boolExpr(c)
		return expr{sql: "(NOT " + a.sql + ")", cnst: a.cnst}
	case r < 40 && ec.qdepth < 2:
		return g.subqueryPred(c)
	default:
		return g.simplePred(c)
	}
}

// simplePred is a comparison, IS NULL, IN list, BETWEEN, LIKE or a
// boolean column.
func (g *Gen) simplePred(ec *ectx) expr {
	t := Type(g.intn(int(numTypes)))
	if t == Bool && g.chance(0.5) {
		a := g.leaf(ec, Bool)
		switch g.intn(4) {
		case 0:
			return expr{sql: a.sql + " IS TRUE"}
		case 1:
			return expr{sql: a.sql + " IS NOT FALSE"}
		}
		return a
	}
	sub := *ec
	sub.depth = max(ec.depth, 2)
	x := g.exprOf(&sub, t)
	if g.chance(0.6) {
		// Column against a constant: hits the data's values.
		if e, ok := g.columnRef(ec, t); ok {
			x = e
		}
	}
	switch r := g.intn(100); {
	case r < 45:
		op := g.pick([]string{"=", "<>", "<", "<=", ">", ">=", "="})
		var y expr
		if g.chance(0.5) {
			y = g.compareLiteral(t)
		} else {
			y = g.exprOf(&sub, g.comparableType(t))
		}
		if t == Bool {
			op = g.pick([]string{"=", "<>"})
		}
		return expr{sql: "(" + x.sql + " " + op + " " + y.sql + ")", cnst: x.cnst && y.cnst}
	case r < 55:
		y := g.exprOf(&sub, t)
		not := g.pick([]string{"", "NOT "})
		return expr{sql: "(" + x.sql + " IS " + not + "DISTINCT FROM " + y.sql + ")", cnst: x.cnst && y.cnst}
	case r < 68:
		return expr{sql: "(" + x.sql + " IS " + g.pick([]string{"", "NOT "}) + "NULL)", cnst: x.cnst}
	case r < 80:
		n := 1 + g.intn(4)
		var vs []string
		for i := 0; i < n; i++ {
			vs = append(vs, g.compareLiteral(t).sql)
		}
		return expr{sql: "(" + x.sql + " " + g.pick([]string{"IN", "IN", "NOT IN"}) + " (" + strings.Join(vs, ", ") + "))", cnst: x.cnst}
	case r < 88 && t != Bool:
		lo, hi := g.compareLiteral(t), g.compareLiteral(t)
		return expr{sql: "(" + x.sql + " " + g.pick([]string{"BETWEEN", "NOT BETWEEN", "BETWEEN"}) + " " + lo.sql + " AND " + hi.sql + ")", cnst: x.cnst}
	default:
		if e, ok := g.columnRef(ec, Text); ok {
			x = e
		} else {
			x = g.textExpr(&sub)
		}
		pat := g.pick([]string{"'a%'", "'%b%'", "'_'", "'%'", "'h_llo'", "'%\\%'", "'x\\_y'", "'%a'", "''", "'A%'"})
		return expr{sql: "(" + x.sql + " " + g.pick([]string{"LIKE", "NOT LIKE", "LIKE"}) + " " + pat + ")", cnst: x.cnst}
	}
}

// subqueryPred is EXISTS, IN (subquery) or a comparison with a scalar
// subquery; the subquery may reference the enclosing query's columns.
func (g *Gen) subqueryPred(ec *ectx) expr {
	t := Type(g.intn(int(numTypes)))
	o := selOpts{types: []Type{t}, outer: ec.sc, qdepth: ec.qdepth + 1}
	if ec.grouped {
		// ShardSQL: "correlated subqueries in an aggregating query's
		// results are not supported yet" (0A000); keep them uncorrelated.
		o.outer = nil
	}
	switch g.intn(4) {
	case 3:
		if t == Bool {
			t = Int4
			o.types = []Type{t}
		}
		sub, _ := g.selectStmt(o)
		x := g.exprOf(&ectx{sc: ec.sc, grouped: ec.grouped, keys: ec.keys, all: ec.all, aggOK: ec.aggOK, depth: 3, qdepth: ec.qdepth + 1}, t)
		op := g.pick([]string{"=", "<>", "<", ">="})
		return expr{sql: "(" + x.sql + " " + op + " " + g.pick([]string{"ANY", "ALL", "SOME"}) + " (" + sub + "))"}
	case 0:
		sub, _ := g.selectStmt(o)
		return expr{sql: "(" + g.pick([]string{"", "NOT "}) + "EXISTS (" + sub + "))"}
	case 1:
		sub, _ := g.selectStmt(o)
		x := g.exprOf(&ectx{sc: ec.sc, grouped: ec.grouped, keys: ec.keys, all: ec.all, aggOK: ec.aggOK, depth: 3, qdepth: ec.qdepth + 1}, t)
		return expr{sql: "(" + x.sql + " " + g.pick([]string{"IN", "NOT IN", "IN"}) + " (" + sub + "))"}
	default:
		x := g.exprOf(&ectx{sc: ec.sc, grouped: ec.grouped, keys: ec.keys, all: ec.all, aggOK: ec.aggOK, depth: 3, qdepth: ec.qdepth + 1}, t)
		s := g.scalarSubquery(ec, t)
		op := g.pick([]string{"=", "<>", "<", ">="})
		if t == Bool {
			op = "="
		}
		return expr{sql: "(" + x.sql + " " + op + " " + s.sql + ")"}
	}
}

// scalarSubquery returns at most one row: an aggregate without GROUP BY,
// or ORDER BY 1 LIMIT 1 (deterministic: the one column is the order).
func (g *Gen) scalarSubquery(ec *ectx, t Type) expr {
	outer := ec.sc
	if ec.grouped {
		outer = nil // see subqueryPred
	}
	fromSQL, cols := g.from(selOpts{outer: outer, qdepth: ec.qdepth + 1})
	sc := &scope{cols: cols, outer: outer}
	in := &ectx{sc: sc, qdepth: ec.qdepth + 1, depth: 2}
	where := ""
	if g.chance(0.7) {
		where = " WHERE " + g.boolExpr(in).sql
	}
	if g.chance(0.6) {
		a := g.aggregate(&ectx{sc: sc, qdepth: ec.qdepth + 1}, t)
		return expr{sql: "(SELECT " + a.sql + " FROM " + fromSQL + where + ")", bound: a.bound}
	}
	e := g.exprOf(in, t)
	dir := g.pick([]string{"", " DESC", " NULLS FIRST", " DESC NULLS LAST"})
	return expr{sql: "(SELECT " + e.sql + " FROM " + fromSQL + where + " ORDER BY 1" + dir + " LIMIT 1)", bound: e.bound}
}

// funcExpr is a scalar function call returning t (ok false if none fits).
func (g *Gen) funcExpr(ec *ectx, t Type) (expr, bool) {
	switch t {
	case Int4:
		switch g.intn(3) {
		case 0:
			a := g.exprOf(ec, Text)
			return expr{sql: "length(" + a.sql + ")", bound: 1e4, cnst: a.cnst}, true
		case 1:
			a := g.exprOf(ec, Text)
			return expr{sql: "strpos(" + a.sql + ", " + g.pick([]string{"'a'", "'b'", "''", "'l'"}) + ")", bound: 1e4, cnst: a.cnst}, true
		default:
			a := g.exprOf(ec, Int4)
			return expr{sql: "mod(" + a.sql + ", " + g.pick([]string{"3", "-7", "10"}) + ")", bound: 10, cnst: a.cnst}, true
		}
	case Int8:
		// int4 and int8 mixed: the result is bigint.
		a, b := g.exprOf(ec, Int4), g.exprOf(ec, Int8)
		for i := 0; i < 2 && a.bound+b.bound >= typeMax[Int8]; i++ {
			b = g.wrap(b, Int8)
		}
		if a.bound+b.bound >= typeMax[Int8] {
			return expr{}, false
		}
		return expr{sql: "(" + a.sql + " " + g.pick([]string{"+", "-"}) + " " + b.sql + ")", bound: a.bound + b.bound, cnst: a.cnst && b.cnst}, true
	case Numeric:
		a := g.exprOf(ec, Numeric)
		switch g.intn(4) {
		case 0:
			return expr{sql: fmt.Sprintf("round(%s, %d)", a.sql, g.intn(4)-1), bound: a.bound + 10, cnst: a.cnst}, true
		case 1:
			return expr{sql: fmt.Sprintf("trunc(%s, %d)", a.sql, g.intn(3)), bound: a.bound, cnst: a.cnst}, true
		case 2:
			return expr{sql: g.pick([]string{"floor", "ceil", "round", "trunc", "sign"}) + "(" + a.sql + ")", bound: a.bound + 1, cnst: a.cnst}, true
		default:
			return expr{sql: "CASE " + a.sql + " WHEN 0 THEN 1.5 WHEN " + g.compareLiteral(Numeric).sql + " THEN -2 ELSE " + a.sql + " END", bound: a.bound + 2, cnst: a.cnst}, true
		}
	case Float8:
		a := g.exprOf(ec, Float8)
		switch g.intn(2) {
		case 0:
			return expr{sql: g.pick([]string{"floor", "ceil", "round", "trunc", "sign"}) + "(" + a.sql + ")", bound: a.bound + 1, cnst: a.cnst}, true
		default:
			return expr{sql: "sqrt(abs(" + a.sql + "))", bound: math.Sqrt(a.bound) + 1, cnst: a.cnst}, true
		}
	case Bool:
		if g.chance(0.5) {
			a := g.exprOf(ec, Int4)
			return expr{sql: "CAST(" + a.sql + " AS boolean)", cnst: a.cnst}, true
		}
		a := g.exprOf(ec, Bool)
		return expr{sql: "(CAST(" + a.sql + " AS int) = 1)", cnst: a.cnst}, true
	case Text:
		a := g.exprOf(ec, Text)
		return expr{sql: "CASE " + a.sql + " WHEN 'a' THEN 'A' WHEN " + g.compareLiteral(Text).sql + " THEN NULL ELSE " + a.sql + " END", cnst: a.cnst}, true
	}
	return expr{}, false
}
