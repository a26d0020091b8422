package planner

import (
	"fmt"
	"strconv"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// Select is a planned query: Root produces the result rows.
type Select struct {
	Root Rel
	// Lock, for SELECT ... FOR UPDATE/SHARE, names the scan whose rows the
	// statement locks.
	Lock *RowLock
}

// RowLock is a SELECT's row-locking clause.
type RowLock struct {
	// Scans are the table scans whose rows are locked (FOR UPDATE OF
	// names some of them; else all of the query's tables).
	Scans []*Scan
	// NoWait fails at once (55P03) instead of waiting for a held lock.
	NoWait bool
	// SkipLocked leaves out the rows other transactions hold locked.
	SkipLocked bool
}

func (*Select) plan() {}

func buildSelect(ss *pg.SelectStmt, cat Catalog) (Plan, error) {
	var lock *pg.LockingClause
	if len(ss.LockingClause) > 0 {
		lock = ss.LockingClause[0].GetLockingClause()
		if len(ss.LockingClause) > 1 {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "more than one locking clause is not supported yet")
		}
		ss.LockingClause = nil
		if ss.WithClause != nil {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "FOR UPDATE/SHARE with WITH is not supported yet")
		}
	}
	rel, _, err := buildQuery(ss, newStmtScope(cat))
	if err != nil {
		return nil, err
	}
	p := &Select{Root: rel}
	if lock != nil {
		if p.Lock, err = rowLock(ss, rel, lock); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// rowLock checks a FOR UPDATE/SHARE clause and finds the scan it locks:
// like PostgreSQL, it is refused with DISTINCT, GROUP BY, HAVING,
// aggregates and set operations; here also over joins (not yet).
func rowLock(ss *pg.SelectStmt, rel Rel, lc *pg.LockingClause) (*RowLock, error) {
	what := "FOR UPDATE"
	if lc.Strength == pg.LockClauseStrength_LCS_FORSHARE || lc.Strength == pg.LockClauseStrength_LCS_FORKEYSHARE {
		what = "FOR SHARE"
	}
	switch {
	case ss.Op != pg.SetOperation_SETOP_NONE:
		return nil, pgerr.New(pgerr.FeatureNotSupported, "%s is not allowed with UNION/INTERSECT/EXCEPT", what)
	case len(ss.DistinctClause) > 0:
		return nil, pgerr.New(pgerr.FeatureNotSupported, "%s is not allowed with DISTINCT clause", what)
	case len(ss.GroupClause) > 0 || ss.HavingClause != nil:
		return nil, pgerr.New(pgerr.FeatureNotSupported, "%s is not allowed with GROUP BY clause", what)
	}
	var scans []*Scan
	var walk func(r Rel) bool
	walk = func(r Rel) bool {
		switch r := r.(type) {
		case *Scan:
			scans = append(scans, r)
			return true
		case *Project:
			return walk(r.Input)
		case *Filter:
			return walk(r.Input)
		case *Sort:
			return walk(r.Input)
		case *Limit:
			return walk(r.Input)
		case *Join:
			return walk(r.Left) && walk(r.Right)
		case *Values:
			return true
		}
		return false
	}
	if !walk(rel) {
		if _, isAgg := findAgg(rel); isAgg {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "%s is not allowed with aggregate functions", what)
		}
		return nil, pgerr.New(pgerr.FeatureNotSupported, "%s is not supported on this query yet", what)
	}
	if len(lc.LockedRels) > 0 {
		// FOR UPDATE OF t, ...: only the named tables.
		named := map[string]bool{}
		for _, n := range lc.LockedRels {
			named[n.GetRangeVar().GetRelname()] = true
		}
		var kept []*Scan
		for _, sc := range scans {
			if named[sc.Alias] || named[sc.Table.Name] {
				kept = append(kept, sc)
				delete(named, sc.Alias)
				delete(named, sc.Table.Name)
			}
		}
		for n := range named {
			return nil, pgerr.New(pgerr.UndefinedTable, "relation %q in %s clause not found in FROM clause", n, what)
		}
		scans = kept
	}
	for _, sc := range scans {
		if sc.Table.ViewQuery != "" {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "%s on a view is not supported yet", what)
		}
	}
	return &RowLock{Scans: scans, NoWait: lc.WaitPolicy == pg.LockWaitPolicy_LockWaitError, SkipLocked: lc.WaitPolicy == pg.LockWaitPolicy_LockWaitSkip}, nil
}

func findAgg(r Rel) (*Aggregate, bool) {
	for {
		switch x := r.(type) {
		case *Aggregate:
			return x, true
		case *Project:
			r = x.Input
		case *Filter:
			r = x.Input
		case *Sort:
			r = x.Input
		case *Limit:
			r = x.Input
		default:
			return nil, false
		}
	}
}

// buildQuery plans a SELECT, a set operation or VALUES as a new query level
// under outer, returning its relation and its level's info.
func buildQuery(ss *pg.SelectStmt, outer *scope) (Rel, *queryInfo, error) {
	if ss.WithClause != nil {
		pop, err := bindWith(ss.WithClause, outer)
		defer pop()
		if err != nil {
			return nil, nil, err
		}
	}
	if len(ss.LockingClause) > 0 {
		return nil, nil, pgerr.New(pgerr.FeatureNotSupported, "FOR UPDATE/SHARE is supported on the outermost query only, for now")
	}
	if ss.IntoClause != nil {
		return nil, nil, pgerr.New(pgerr.FeatureNotSupported, "this form of SELECT is not supported yet")
	}
	s := outer.child(nil)
	var rel Rel
	var err error
	switch {
	case ss.Op != pg.SetOperation_SETOP_NONE:
		rel, err = buildSetOp(ss, outer, s)
	case len(ss.ValuesLists) > 0:
		rel, err = buildValues(ss, s)
	default:
		return buildSelectCore(ss, s)
	}
	if err != nil {
		return nil, nil, err
	}
	// ORDER BY / LIMIT of a set operation or VALUES name output columns.
	rel, err = orderAndLimit(ss, rel, s)
	return rel, s.q, err
}

func buildSetOp(ss *pg.SelectStmt, outer, s *scope) (Rel, error) {
	l, lq, err := buildQuery(ss.Larg, outer)
	if err != nil {
		return nil, err
	}
	r, rq, err := buildQuery(ss.Rarg, outer)
	if err != nil {
		return nil, err
	}
	s.q.correlated = lq.correlated || rq.correlated
	op := map[pg.SetOperation]string{pg.SetOperation_SETOP_UNION: "union", pg.SetOperation_SETOP_INTERSECT: "intersect", pg.SetOperation_SETOP_EXCEPT: "except"}[ss.Op]
	lc, rc := l.Cols(), r.Cols()
	if len(lc) != len(rc) {
		return nil, pgerr.New(pgerr.SyntaxError, "each %s query must have the same number of columns", map[string]string{"union": "UNION", "intersect": "INTERSECT", "except": "EXCEPT"}[op])
	}
	// Unify column types: cast both sides to the common type where needed.
	var lx, rx []Expr
	cols := make([]ColInfo, len(lc))
	needL, needR := false, false
	for i := range lc {
		t, err := commonType([]types.T{lc[i].T, rc[i].T}, "UNION", -1)
		if err != nil {
			return nil, err
		}
		cols[i] = ColInfo{Name: lc[i].Name, T: t}
		le, err := castTo(&ColRef{Ord: i, Name: lc[i].Name, T: lc[i].T}, t)
		if err != nil {
			return nil, err
		}
		re, err := castTo(&ColRef{Ord: i, Name: rc[i].Name, T: rc[i].T}, t)
		if err != nil {
			return nil, err
		}
		needL = needL || lc[i].T != t
		needR = needR || rc[i].T != t
		lx, rx = append(lx, le), append(rx, re)
	}
	if needL {
		l = &Project{Input: l, Exprs: lx, Columns: cols}
	}
	if needR {
		r = &Project{Input: r, Exprs: rx, Columns: cols}
	}
	return &SetOp{Op: op, All: ss.All, Left: l, Right: r}, nil
}

func buildValues(ss *pg.SelectStmt, s *scope) (Rel, error) {
	v := &Values{}
	var width int
	for i, vl := range ss.ValuesLists {
		items := vl.GetList().GetItems()
		if i == 0 {
			width = len(items)
		} else if len(items) != width {
			return nil, pgerr.New(pgerr.SyntaxError, "VALUES lists must all be the same length")
		}
		row := make([]Expr, len(items))
		for j, it := range items {
			e, err := s.buildExpr(it)
			if err != nil {
				return nil, err
			}
			row[j] = e
		}
		v.Rows = append(v.Rows, row)
	}
	for j := 0; j < width; j++ {
		col := make([]Expr, len(v.Rows))
		for i := range v.Rows {
			col[i] = v.Rows[i][j]
		}
		t, err := commonType(argTypes(col), "VALUES", -1)
		if err != nil {
			return nil, err
		}
		for i := range v.Rows {
			if v.Rows[i][j], err = castTo(v.Rows[i][j], t); err != nil {
				return nil, err
			}
		}
		v.Columns = append(v.Columns, ColInfo{Name: "column" + strconv.Itoa(j+1), T: t})
	}
	return v, nil
}

// orderAndLimit applies ORDER BY (by output name or position) and LIMIT.
func orderAndLimit(ss *pg.SelectStmt, rel Rel, s *scope) (Rel, error) {
	cols := rel.Cols()
	if len(ss.SortClause) > 0 {
		var keys []SortKey
		for _, sn := range ss.SortClause {
			sb := sn.GetSortBy()
			k := sortKey(sb)
			idx := -1
			if c := sb.Node.GetAConst(); c != nil && c.GetIval() != nil {
				idx = int(c.GetIval().Ival) - 1
				if idx < 0 || idx >= len(cols) {
					return nil, errAt(pgerr.InvalidColumnRef, c.Location, "ORDER BY position %d is not in select list", idx+1)
				}
			} else if cr := sb.Node.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
				name := cr.Fields[0].GetString_().GetSval()
				for i, c := range cols {
					if c.Name == name {
						idx = i
						break
					}
				}
			}
			if idx < 0 {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "ORDER BY on a UNION/INTERSECT/EXCEPT result must name a result column")
			}
			k.Col = idx
			keys = append(keys, k)
		}
		rel = &Sort{Input: rel, Keys: keys}
	}
	return limit(ss, rel)
}

func sortKey(sb *pg.SortBy) SortKey {
	k := SortKey{Desc: sb.SortbyDir == pg.SortByDir_SORTBY_DESC}
	k.NullsFirst = k.Desc
	switch sb.SortbyNulls {
	case pg.SortByNulls_SORTBY_NULLS_FIRST:
		k.NullsFirst = true
	case pg.SortByNulls_SORTBY_NULLS_LAST:
		k.NullsFirst = false
	}
	return k
}

func limit(ss *pg.SelectStmt, rel Rel) (Rel, error) {
	if ss.LimitCount == nil && ss.LimitOffset == nil {
		return rel, nil
	}
	l := &Limit{Input: rel, Count: -1}
	var err error
	if ss.LimitCount != nil {
		if l.Count, err = constInt(ss.LimitCount, "LIMIT"); err != nil {
			return nil, err
		}
	}
	if ss.LimitOffset != nil {
		if l.Offset, err = constInt(ss.LimitOffset, "OFFSET"); err != nil {
			return nil, err
		}
		if l.Offset < 0 {
			l.Offset = 0
		}
	}
	return l, nil
}

// buildSelectCore plans SELECT ... FROM ... WHERE ... GROUP BY ... HAVING
// ... ORDER BY ... LIMIT in scope s (a fresh query level).
func buildSelectCore(ss *pg.SelectStmt, s *scope) (Rel, *queryInfo, error) {
	var rel Rel
	if len(ss.FromClause) == 0 {
		rel = &Values{Rows: [][]Expr{{}}}
	}
	s.q.winClause = "JOIN conditions"
	var items []Rel
	for _, item := range ss.FromClause {
		r, err := buildFrom(item, s)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, r)
		if rel == nil {
			rel = r
		} else {
			rel = &Join{Kind: InnerJoin, Left: rel, Right: r}
		}
	}
	s.cols = rel.Cols()

	if ss.WhereClause != nil {
		s.q.winClause = "WHERE"
		w, err := s.buildExpr(ss.WhereClause)
		if err != nil {
			return nil, nil, err
		}
		if w, err = coerceBool(w, -1); err != nil {
			return nil, nil, err
		}
		if len(items) > 2 {
			rel = orderJoins(items, w)
		} else {
			rel = placeFilter(rel, w)
		}
	}
	finishScans(rel)

	var aggs []*AggCall
	s.q.aggs = &aggs
	if err := s.q.setWindows(ss.WindowClause); err != nil {
		return nil, nil, err
	}
	var wins []*WindowCall
	s.q.wins = &wins
	// The select list.
	var outs []Expr
	var names []string
	for _, tn := range ss.TargetList {
		rt := tn.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			qual := ""
			if len(cr.Fields) > 1 {
				qual = cr.Fields[len(cr.Fields)-2].GetString_().GetSval()
			}
			if len(ss.FromClause) == 0 {
				return nil, nil, errAt(pgerr.SyntaxError, cr.Location, "SELECT * with no tables specified is not valid")
			}
			n := 0
			for i, c := range s.cols {
				if c.Hidden || (qual != "" && c.Table != qual) {
					continue
				}
				outs = append(outs, &ColRef{Ord: i, Name: c.Name, T: c.T})
				names = append(names, c.Name)
				n++
			}
			if qual != "" && n == 0 && !s.hasTable(qual) {
				return nil, nil, errAt(pgerr.UndefinedTable, cr.Location, "missing FROM-clause entry for table %q", qual)
			}
			continue
		}
		e, err := s.buildExpr(rt.Val)
		if err != nil {
			return nil, nil, err
		}
		if e.Type().Family == types.UnknownFamily {
			if e, err = castTo(e, types.Text); err != nil {
				return nil, nil, err
			}
		}
		outs = append(outs, e)
		names = append(names, outputName(rt))
	}

	// GROUP BY: expressions over the input, output positions or names.
	var groups []Expr
	s.q.aggs = nil
	s.q.wins, s.q.winClause = nil, "GROUP BY"
	for _, g := range ss.GroupClause {
		e, err := s.groupExpr(g, outs, names)
		if err != nil {
			return nil, nil, err
		}
		if hasWindowCall(e) { // GROUP BY 1 naming a window function's output
			return nil, nil, pgerr.New("42P20", "window functions are not allowed in GROUP BY")
		}
		groups = append(groups, e)
	}
	s.q.aggs = &aggs
	var having Expr
	s.q.winClause = "HAVING"
	if ss.HavingClause != nil {
		h, err := s.buildExpr(ss.HavingClause)
		if err != nil {
			return nil, nil, err
		}
		if having, err = coerceBool(h, -1); err != nil {
			return nil, nil, err
		}
	}
	// ORDER BY: an output position or name, else an expression (an extra,
	// hidden output column).
	s.q.wins = &wins
	var keys []SortKey
	var extras []Expr
	distinct := len(ss.DistinctClause) > 0
	distinctOn := distinct && ss.DistinctClause[0].GetNode() != nil
	for _, sn := range ss.SortClause {
		sb := sn.GetSortBy()
		k := sortKey(sb)
		idx, err := outputIndex(sb.Node, names, s)
		if err != nil {
			return nil, nil, err
		}
		if idx < 0 {
			e, err := s.buildExpr(sb.Node)
			if err != nil {
				return nil, nil, err
			}
			for i, o := range outs {
				if o.String() == e.String() {
					idx = i
				}
			}
			if idx < 0 {
				if distinct && !distinctOn {
					return nil, nil, pgerr.New(pgerr.InvalidColumnRef, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
				}
				idx = len(outs) + len(extras)
				extras = append(extras, e)
			}
		}
		k.Col = idx
		keys = append(keys, k)
	}
	var onCols []int
	if distinctOn {
		var err error
		if onCols, keys, extras, err = s.distinctOn(ss.DistinctClause, names, outs, extras, keys); err != nil {
			return nil, nil, err
		}
	}
	s.q.aggs, s.q.wins = nil, nil

	all := append(append([]Expr{}, outs...), extras...)
	if len(groups) > 0 || len(aggs) > 0 || having != nil {
		agg := &Aggregate{Input: rel, Group: groups, Aggs: aggs}
		for i, g := range groups {
			agg.Columns = append(agg.Columns, ColInfo{Name: fmt.Sprintf("group%d", i), T: g.Type()})
		}
		for i, a := range aggs {
			agg.Columns = append(agg.Columns, ColInfo{Name: fmt.Sprintf("agg%d", i), T: a.T})
		}
		rw := &aggRewriter{groups: groups, aggs: aggs}
		for i, e := range all {
			r, err := rw.rewrite(e)
			if err != nil {
				return nil, nil, err
			}
			all[i] = r
		}
		rel = agg
		if having != nil {
			h, err := rw.rewrite(having)
			if err != nil {
				return nil, nil, err
			}
			rel = &Filter{Input: rel, Pred: h}
		}
		if sc, ok := agg.Input.(*Scan); ok && len(groups) == 0 && sc.Filter == nil && onlyCountStar(aggs) {
			sc.KeysOnly = true
		}
	}
	if len(wins) > 0 {
		var err error
		if rel, err = addWindow(rel, all); err != nil {
			return nil, nil, err
		}
	}
	cols := make([]ColInfo, len(all))
	for i, e := range all {
		name := "?column?"
		if i < len(names) {
			name = names[i]
		}
		cols[i] = ColInfo{Name: name, T: e.Type(), Hidden: i >= len(outs)}
	}
	rel = &Project{Input: rel, Exprs: all, Columns: cols}
	if distinctOn {
		// The first row of each DISTINCT ON group in ORDER BY order.
		rel = &Distinct{Input: &Sort{Input: rel, Keys: keys}, Keys: onCols}
	} else {
		if distinct {
			rel = &Distinct{Input: rel}
		}
		if len(keys) > 0 {
			rel = &Sort{Input: rel, Keys: keys}
		}
	}
	rel, err := limit(ss, rel)
	if err != nil {
		return nil, nil, err
	}
	if len(extras) > 0 {
		trim := make([]Expr, len(outs))
		for i := range outs {
			trim[i] = &ColRef{Ord: i, Name: cols[i].Name, T: cols[i].T}
		}
		rel = &Project{Input: rel, Exprs: trim, Columns: cols[:len(outs)]}
	}
	return rel, s.q, nil
}

func onlyCountStar(aggs []*AggCall) bool {
	for _, a := range aggs {
		if a.Name != "count" || a.Arg != nil {
			return false
		}
	}
	return true
}

// outputIndex resolves an ORDER BY term that is an output position, or an
// output name that is not also an input column; -1 otherwise.
func outputIndex(n *pg.Node, names []string, s *scope) (int, error) {
	if c := n.GetAConst(); c != nil && c.GetIval() != nil {
		i := int(c.GetIval().Ival)
		if i < 1 || i > len(names) {
			return 0, errAt(pgerr.InvalidColumnRef, c.Location, "ORDER BY position %d is not in select list", i)
		}
		return i - 1, nil
	}
	if cr := n.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
		name := cr.Fields[0].GetString_().GetSval()
		for i, nm := range names {
			if nm == name {
				return i, nil
			}
		}
	}
	return -1, nil
}

// groupExpr resolves a GROUP BY item: a position or an output name that is
// not an input column refer to the select list; anything else is an
// expression over the input.
func (s *scope) groupExpr(g *pg.Node, outs []Expr, names []string) (Expr, error) {
	if c := g.GetAConst(); c != nil && c.GetIval() != nil {
		i := int(c.GetIval().Ival)
		if i < 1 || i > len(outs) {
			return nil, errAt(pgerr.InvalidColumnRef, c.Location, "GROUP BY position %d is not in select list", i)
		}
		return outs[i-1], nil
	}
	if cr := g.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
		name := cr.Fields[0].GetString_().GetSval()
		if i, _ := s.lookup("", name, -1); i < 0 {
			for j, nm := range names {
				if nm == name {
					return outs[j], nil
				}
			}
		}
	}
	return s.buildExpr(g)
}

// aggRewriter rewrites expressions over an aggregation's input into
// expressions over its output (group values, then aggregate results).
type aggRewriter struct {
	groups []Expr
	aggs   []*AggCall
}

func (rw *aggRewriter) rewrite(e Expr) (Expr, error) {
	if e == nil {
		return nil, nil
	}
	// A whole subtree equal to a grouping expression is that group column.
	for i, g := range rw.groups {
		if g.String() == e.String() {
			return &ColRef{Ord: i, Name: fmt.Sprintf("group%d", i), T: g.Type()}, nil
		}
	}
	switch x := e.(type) {
	case *AggCall:
		for i, a := range rw.aggs {
			if a == x {
				return &ColRef{Ord: len(rw.groups) + i, Name: a.Name, T: a.T}, nil
			}
		}
		return nil, pgerr.New(pgerr.Internal, "aggregate %s was not collected", x)
	case *ColRef:
		return nil, pgerr.New(pgerr.GroupingError, "column %q must appear in the GROUP BY clause or be used in an aggregate function", x.Name)
	case *Subquery:
		if x.Correlated {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "correlated subqueries in an aggregating query's results are not supported yet")
		}
		if x.Test != nil {
			t, err := rw.rewrite(x.Test)
			if err != nil {
				return nil, err
			}
			c := *x
			c.Test = t
			return &c, nil
		}
		return x, nil
	case *Const, *OuterRef, *UniqueRowID:
		return e, nil
	}
	return mapChildren(e, rw.rewrite)
}
func outputName(rt *pg.ResTarget) string {
	if rt.Name != "" {
		return rt.Name
	}
	if n := rt.Val; n.GetAArrayExpr() != nil || n.GetAIndirection() != nil {
		if name, ok := typedExprName(n); ok {
			return name
		}
	}
	name, _ := figureColname(rt.Val)
	return name
}

// figureColname names an unnamed select-list item as PostgreSQL does
// (FigureColname), with the strength of the guess: 2 for a column,
// function or subquery name, 1 for a type or keyword name that an
// enclosing cast may override, 0 for "?column?".
func figureColname(n *pg.Node) (string, int) {
	switch {
	case n == nil:
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		if s := f[len(f)-1].GetString_(); s != nil {
			return s.GetSval(), 2
		}
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		name, strength := figureColname(tc.Arg)
		if strength <= 1 && tc.TypeName != nil {
			names := tc.TypeName.Names
			return names[len(names)-1].GetString_().GetSval(), 1
		}
		return name, strength
	case n.GetFuncCall() != nil:
		fn := n.GetFuncCall().Funcname
		return fn[len(fn)-1].GetString_().GetSval(), 2
	case n.GetAExpr() != nil:
		if n.GetAExpr().Kind == pg.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif", 2
		}
	case n.GetCaseExpr() != nil:
		return "case", 1
	case n.GetCoalesceExpr() != nil:
		return "coalesce", 2
	case n.GetMinMaxExpr() != nil:
		if n.GetMinMaxExpr().Op == pg.MinMaxOp_IS_LEAST {
			return "least", 2
		}
		return "greatest", 2
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		switch sl.SubLinkType {
		case pg.SubLinkType_EXISTS_SUBLINK:
			return "exists", 2
		case pg.SubLinkType_ARRAY_SUBLINK:
			return "array", 2
		case pg.SubLinkType_EXPR_SUBLINK:
			sel := sl.Subselect.GetSelectStmt()
			for sel != nil && sel.Op != pg.SetOperation_SETOP_NONE {
				sel = sel.Larg
			}
			if sel != nil && len(sel.TargetList) > 0 {
				if rt := sel.TargetList[0].GetResTarget(); rt != nil {
					if cr := rt.Val.GetColumnRef(); rt.Name == "" && cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
						break // (SELECT * ...): the column's own name, not known here
					}
					return outputName(rt), 2
				}
			}
		}
	case n.GetSqlvalueFunction() != nil:
		switch n.GetSqlvalueFunction().Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
			return "current_date", 2
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
			return "current_timestamp", 2
		case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			return "localtimestamp", 2
		}
	}
	return "?column?", 0
}
