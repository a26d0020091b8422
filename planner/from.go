package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// buildFrom plans one FROM item.
func buildFrom(n *pg.Node, s *scope) (Rel, error) {
	switch {
	case n.GetRangeVar() != nil:
		rv := n.GetRangeVar()
		t, alias, err := tableOf(rv, s.catalog())
		if err != nil {
			return nil, err
		}
		if t.ViewQuery != "" {
			return buildView(t, alias, s)
		}
		rowStart, rowEnd := t.rowSpan()
		return &Scan{Table: t, Alias: alias, Access: Access{Spans: []Span{{Start: rowStart, End: rowEnd}}, Full: true}}, nil
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		if rs.Lateral {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "LATERAL is not supported yet")
		}
		// A derived table cannot see the FROM items beside it: plan it
		// under the enclosing query's parent.
		rel, _, err := buildQuery(rs.Subquery.GetSelectStmt(), s.parent)
		if err != nil {
			return nil, err
		}
		alias := ""
		var colNames []string
		if rs.Alias != nil {
			alias = rs.Alias.Aliasname
			for _, c := range rs.Alias.Colnames {
				colNames = append(colNames, c.GetString_().GetSval())
			}
		}
		return renameCols(rel, alias, colNames)
	case n.GetJoinExpr() != nil:
		return buildJoin(n.GetJoinExpr(), s)
	}
	return nil, pgerr.New(pgerr.FeatureNotSupported, "this FROM item is not supported yet")
}

// renameCols requalifies a relation's columns with alias (and new names).
func renameCols(rel Rel, alias string, names []string) (Rel, error) {
	cols := rel.Cols()
	if len(names) > len(cols) {
		return nil, pgerr.New(pgerr.InvalidColumnRef, "table %q has %d columns available but %d columns specified", alias, len(cols), len(names))
	}
	exprs := make([]Expr, len(cols))
	out := make([]ColInfo, len(cols))
	for i, c := range cols {
		exprs[i] = &ColRef{Ord: i, Name: c.Name, T: c.T}
		out[i] = ColInfo{Name: c.Name, Table: alias, T: c.T, Hidden: c.Hidden}
		if i < len(names) {
			out[i].Name = names[i]
		}
	}
	return &Project{Input: rel, Exprs: exprs, Columns: out}, nil
}

func buildJoin(je *pg.JoinExpr, s *scope) (Rel, error) {
	l, err := buildFrom(je.Larg, s)
	if err != nil {
		return nil, err
	}
	r, err := buildFrom(je.Rarg, s)
	if err != nil {
		return nil, err
	}
	j := &Join{Left: l, Right: r}
	switch je.Jointype {
	case pg.JoinType_JOIN_INNER:
		j.Kind = InnerJoin
	case pg.JoinType_JOIN_LEFT:
		j.Kind = LeftJoin
	case pg.JoinType_JOIN_RIGHT:
		j.Kind = RightJoin
	case pg.JoinType_JOIN_FULL:
		j.Kind = FullJoin
	default:
		return nil, pgerr.New(pgerr.FeatureNotSupported, "this join type is not supported yet")
	}
	lc, rc := l.Cols(), r.Cols()
	js := s.with(j.Cols())
	var using []string
	for _, u := range je.UsingClause {
		using = append(using, u.GetString_().GetSval())
	}
	if je.IsNatural {
		for _, a := range lc {
			for _, b := range rc {
				if !a.Hidden && !b.Hidden && a.Name == b.Name {
					using = append(using, a.Name)
				}
			}
		}
	}
	var conds []Expr
	var rel Rel = j
	if len(using) > 0 {
		hide := map[int]bool{}
		for _, name := range using {
			li, err := s.with(lc).lookup("", name, -1)
			if err != nil {
				return nil, err
			}
			ri, err := s.with(rc).lookup("", name, -1)
			if err != nil {
				return nil, err
			}
			if li < 0 || ri < 0 {
				return nil, pgerr.New(pgerr.UndefinedColumn, "column %q specified in USING clause does not exist in both tables", name)
			}
			eq, err := binary(OpEq, &ColRef{Ord: li, Name: name, T: lc[li].T}, &ColRef{Ord: len(lc) + ri, Name: name, T: rc[ri].T}, -1)
			if err != nil {
				return nil, err
			}
			conds = append(conds, eq)
			hide[len(lc)+ri] = true
		}
		// The right-hand copies of USING columns are hidden from * and from
		// unqualified names (a FULL join would merge them with COALESCE).
		cols := j.Cols()
		exprs := make([]Expr, len(cols))
		for i, c := range cols {
			exprs[i] = &ColRef{Ord: i, Name: c.Name, T: c.T}
			if hide[i] {
				cols[i].Hidden = true
			}
		}
		rel = &Project{Input: j, Exprs: exprs, Columns: cols}
	}
	if je.Quals != nil {
		on, err := js.buildExpr(je.Quals)
		if err != nil {
			return nil, err
		}
		if on, err = coerceBool(on, -1); err != nil {
			return nil, err
		}
		conds = append(conds, on)
	}
	if len(conds) == 1 {
		j.On = conds[0]
	} else if len(conds) > 1 {
		j.On = &And{Args: conds}
	}
	if je.Alias != nil {
		return renameCols(rel, je.Alias.Aliasname, nil)
	}
	return rel, nil
}

// placeFilter puts each conjunct of a WHERE clause as low in the tree as
// it can go: into a table scan when it reads one table, onto the lowest
// inner join that covers its columns, else into a Filter on top.
func placeFilter(rel Rel, pred Expr) Rel {
	var rest []Expr
	for _, c := range conjuncts(pred) {
		if !place(rel, c, 0) {
			rest = append(rest, c)
		}
	}
	switch len(rest) {
	case 0:
		return rel
	case 1:
		return &Filter{Input: rel, Pred: rest[0]}
	}
	return &Filter{Input: rel, Pred: &And{Args: rest}}
}

// colRange returns the lowest and highest column ordinals e reads, and
// whether it can move (no subqueries, nothing non-deterministic).
func colRange(e Expr) (lo, hi int, movable bool) {
	lo, hi, movable = -1, -1, true
	visitExpr(e, func(x Expr) {
		switch x := x.(type) {
		case *ColRef:
			if lo < 0 || x.Ord < lo {
				lo = x.Ord
			}
			if x.Ord > hi {
				hi = x.Ord
			}
		case *Subquery, *UniqueRowID, *AggCall:
			movable = false
		}
	})
	return lo, hi, movable
}

// place tries to attach conjunct c (over rel's row, which starts at column
// off of c's row) inside rel; it reports whether it did.
func place(rel Rel, c Expr, off int) bool {
	lo, hi, movable := colRange(c)
	if !movable {
		return false
	}
	n := len(rel.Cols())
	if lo >= 0 && (lo < off || hi >= off+n) {
		return false
	}
	switch r := rel.(type) {
	case *Scan:
		shifted := shift(c, -off)
		if r.Filter == nil {
			r.Filter = shifted
		} else {
			r.Filter = &And{Args: append(conjuncts(r.Filter), shifted)}
		}
		return true
	case *Join:
		if r.Kind != InnerJoin {
			return false
		}
		ln := len(r.Left.Cols())
		if lo >= 0 && place(r.Left, c, off) {
			return true
		}
		if lo >= off+ln && place(r.Right, c, off+ln) {
			return true
		}
		shifted := shift(c, -off)
		if r.On == nil {
			r.On = shifted
		} else {
			r.On = &And{Args: append(conjuncts(r.On), shifted)}
		}
		return true
	}
	return false
}

// shift moves every column reference of e by d.
func shift(e Expr, d int) Expr {
	if d == 0 {
		return e
	}
	out, _ := mapExpr(e, func(x Expr) (Expr, error) {
		if c, ok := x.(*ColRef); ok {
			return &ColRef{Ord: c.Ord + d, Name: c.Name, T: c.T}, nil
		}
		return x, nil
	})
	return out
}

// finishScans derives every scan's key spans from its pushed-down filter,
// and pushes the single-side conjuncts of inner joins' ON clauses down too.
func finishScans(rel Rel) {
	switch r := rel.(type) {
	case *Scan:
		r.Access = access(r.Table, r.Filter)
	case *Join:
		if r.Kind == InnerJoin && r.On != nil {
			on := r.On
			r.On = nil
			var rest []Expr
			for _, c := range conjuncts(on) {
				if !placeBelow(r, c) {
					rest = append(rest, c)
				}
			}
			switch len(rest) {
			case 0:
			case 1:
				r.On = rest[0]
			default:
				r.On = &And{Args: rest}
			}
		}
		if r.On != nil {
			// Append: a derived table's joins are finished when it is
			// built and again with the enclosing query, and the second
			// pass must keep the keys the first one took out of On.
			lk, rk, rest := equiKeys(r.On, len(r.Left.Cols()))
			r.LeftKeys = append(r.LeftKeys, lk...)
			r.RightKeys = append(r.RightKeys, rk...)
			r.On = rest
		}
		finishScans(r.Left)
		finishScans(r.Right)
	case *Filter:
		finishScans(r.Input)
	case *Project:
		finishScans(r.Input)
	}
}

// placeBelow places an inner join's ON conjunct into one of its sides, or
// back onto the join itself.
func placeBelow(j *Join, c Expr) bool {
	lo, hi, movable := colRange(c)
	ln := len(j.Left.Cols())
	if !movable || lo < 0 {
		return false
	}
	if hi < ln {
		return place(j.Left, c, 0)
	}
	if lo >= ln {
		return place(j.Right, c, ln)
	}
	return false
}

// equiKeys splits a join condition into hashable equalities between a
// left-side and a right-side expression, and the rest.
func equiKeys(on Expr, nl int) (lk, rk []Expr, rest Expr) {
	var others []Expr
	for _, c := range conjuncts(on) {
		b, ok := c.(*Binary)
		if ok && b.Op == OpEq && hashable(b.L.Type(), b.R.Type()) {
			llo, lhi, lm := colRange(b.L)
			rlo, rhi, rm := colRange(b.R)
			if lm && rm && llo >= 0 && rlo >= 0 {
				switch {
				case lhi < nl && rlo >= nl:
					lk, rk = append(lk, b.L), append(rk, shift(b.R, -nl))
					continue
				case rhi < nl && llo >= nl:
					lk, rk = append(lk, b.R), append(rk, shift(b.L, -nl))
					continue
				}
			}
		}
		others = append(others, c)
	}
	switch len(others) {
	case 0:
	case 1:
		rest = others[0]
	default:
		rest = &And{Args: others}
	}
	return lk, rk, rest
}

// hashable reports whether equal values of the two types always have the
// same hash key (exec's canonical encoding unifies int and numeric).
func hashable(a, b types.T) bool {
	exact := func(t types.T) bool { return t.Family == types.IntFamily || t.Family == types.DecimalFamily }
	return a.Family == b.Family || (exact(a) && exact(b))
}

// maxViewDepth bounds views defined over views.
const maxViewDepth = 32

// buildView plans a view as a derived table with the view's columns.
func buildView(t *Table, alias string, s *scope) (Rel, error) {
	s.q.stmt.viewDepth++
	defer func() { s.q.stmt.viewDepth-- }()
	if s.q.stmt.viewDepth > maxViewDepth {
		return nil, pgerr.New(pgerr.ProgramLimitExceeded, "views nested too deeply (at %q)", t.Name)
	}
	tree, err := pg.Parse(t.ViewQuery)
	if err != nil || len(tree.Stmts) != 1 || tree.Stmts[0].Stmt.GetSelectStmt() == nil {
		return nil, pgerr.New(pgerr.Internal, "view %q has a bad definition", t.Name)
	}
	root := s
	for root.parent != nil {
		root = root.parent
	}
	rel, _, err := buildQuery(tree.Stmts[0].Stmt.GetSelectStmt(), root)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return renameCols(rel, alias, names)
}

// orderJoins builds a FROM list of several items as a left-deep tree of
// inner joins, choosing each next item so that a WHERE conjunct connects it
// to the items before it where one can (avoiding cross products), places
// the movable conjuncts in that tree, and restores the FROM order of the
// columns on top, where the rest of the query expects them.
func orderJoins(items []Rel, where Expr) Rel {
	n := len(items)
	off := make([]int, n)
	var cols []ColInfo
	for i, it := range items {
		off[i] = len(cols)
		cols = append(cols, it.Cols()...)
	}
	itemOf := func(ord int) int {
		for i := n - 1; i >= 0; i-- {
			if ord >= off[i] {
				return i
			}
		}
		return 0
	}
	type conj struct {
		e     Expr
		items map[int]bool
		moves bool
	}
	var cs []conj
	for _, c := range conjuncts(where) {
		_, _, movable := colRange(c)
		set := map[int]bool{}
		visitExpr(c, func(x Expr) {
			if r, ok := x.(*ColRef); ok {
				set[itemOf(r.Ord)] = true
			}
		})
		cs = append(cs, conj{e: c, items: set, moves: movable})
	}
	used := map[int]bool{0: true}
	order := []int{0}
	for len(order) < n {
		best, bestScore := -1, 0
		for j := 0; j < n; j++ {
			if used[j] {
				continue
			}
			score := 0
			for _, c := range cs {
				if !c.moves || !c.items[j] || len(c.items) < 2 {
					continue
				}
				inside := true
				for it := range c.items {
					if it != j && !used[it] {
						inside = false
					}
				}
				if inside {
					score++
				}
			}
			if score > bestScore {
				best, bestScore = j, score
			}
		}
		if best < 0 {
			for j := 0; j < n; j++ {
				if !used[j] {
					best = j
					break
				}
			}
		}
		used[best] = true
		order = append(order, best)
	}
	newOff := make([]int, n)
	pos := 0
	for _, i := range order {
		newOff[i] = pos
		pos += len(items[i].Cols())
	}
	remap := func(e Expr) Expr {
		out, _ := mapExpr(e, func(x Expr) (Expr, error) {
			if r, ok := x.(*ColRef); ok {
				i := itemOf(r.Ord)
				return &ColRef{Ord: newOff[i] + r.Ord - off[i], Name: r.Name, T: r.T}, nil
			}
			return x, nil
		})
		return out
	}
	var rel Rel = items[order[0]]
	for _, i := range order[1:] {
		rel = &Join{Kind: InnerJoin, Left: rel, Right: items[i]}
	}
	var moved, rest []Expr
	for _, c := range cs {
		if c.moves {
			moved = append(moved, remap(c.e))
		} else {
			rest = append(rest, c.e)
		}
	}
	if len(moved) > 0 {
		rel = placeFilter(rel, &And{Args: moved})
	}
	exprs := make([]Expr, len(cols))
	for ord, c := range cols {
		i := itemOf(ord)
		exprs[ord] = &ColRef{Ord: newOff[i] + ord - off[i], Name: c.Name, T: c.T}
	}
	rel = &Project{Input: rel, Exprs: exprs, Columns: cols}
	switch len(rest) {
	case 0:
		return rel
	case 1:
		return &Filter{Input: rel, Pred: rest[0]}
	}
	return &Filter{Input: rel, Pred: &And{Args: rest}}
}
