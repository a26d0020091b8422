package planner

import (
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// PKArbiter stands for the primary key in OnConflict.Arbiters.
const PKArbiter = -1

// OnConflict is the ON CONFLICT clause of an INSERT.
type OnConflict struct {
	// Arbiters are the unique keys whose conflicts the clause handles:
	// PKArbiter, or ordinals into Table.Indexes (unique ones).
	Arbiters []int
	// DoUpdate: DO UPDATE SET Sets WHERE Where; else DO NOTHING. Sets and
	// Where are evaluated over the existing row followed by the proposed
	// row (EXCLUDED).
	DoUpdate bool
	Sets     []SetCol
	Where    Expr
}

// Truncate removes every row of the tables.
type Truncate struct {
	Tables []*Table
}

func (*Truncate) plan() {}

// ReturningCols returns the RETURNING columns of a DML plan (nil, false
// when it has no RETURNING clause).
func ReturningCols(p Plan) ([]Output, bool) {
	switch p := p.(type) {
	case *Insert:
		return p.Returning, p.Returning != nil
	case *Update:
		return p.Returning, p.Returning != nil
	case *Delete:
		return p.Returning, p.Returning != nil
	}
	return nil, false
}

// buildReturning plans a RETURNING list over the columns of s.
func buildReturning(list []*pg.Node, s *scope) ([]Output, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := []Output{}
	for _, tn := range list {
		rt := tn.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			qual := ""
			if len(cr.Fields) > 1 {
				qual = cr.Fields[len(cr.Fields)-2].GetString_().GetSval()
			}
			n := 0
			for i, c := range s.cols {
				if c.Hidden || (qual != "" && c.Table != qual) {
					continue
				}
				out = append(out, Output{Name: c.Name, E: &ColRef{Ord: i, Name: c.Name, T: c.T}})
				n++
			}
			if qual != "" && n == 0 && !s.hasTable(qual) {
				return nil, errAt(pgerr.UndefinedTable, cr.Location, "missing FROM-clause entry for table %q", qual)
			}
			continue
		}
		e, err := s.buildExpr(rt.Val)
		if err != nil {
			return nil, err
		}
		if e.Type().Family == types.UnknownFamily {
			if e, err = castTo(e, types.Text); err != nil {
				return nil, err
			}
		}
		out = append(out, Output{Name: outputName(rt), E: e})
	}
	return out, nil
}

// targetCols are the columns of a DML statement's target table.
func targetCols(t *Table, alias string) []ColInfo {
	out := make([]ColInfo, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = ColInfo{Name: c.Name, Table: alias, T: c.Type, Hidden: c.Hidden}
	}
	return out
}

// buildOnConflict plans the ON CONFLICT clause of an INSERT into t.
func buildOnConflict(oc *pg.OnConflictClause, t *Table, alias string, cat Catalog) (*OnConflict, error) {
	p := &OnConflict{DoUpdate: oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE}
	inf := oc.Infer
	switch {
	case inf == nil:
		if p.DoUpdate {
			e := pgerr.New(pgerr.SyntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name").
				WithHint("For example, ON CONFLICT (column_name).")
			e.Position = int(oc.Location) + 1
			return nil, e
		}
		p.Arbiters = append(p.Arbiters, PKArbiter)
		for i, idx := range t.Indexes {
			if idx.Unique {
				p.Arbiters = append(p.Arbiters, i)
			}
		}
	case inf.Conname != "":
		if inf.Conname == t.PKName() && !t.Columns[t.PK[0]].RowID {
			p.Arbiters = []int{PKArbiter}
		} else {
			for i, idx := range t.Indexes {
				if idx.Unique && idx.Name == inf.Conname {
					p.Arbiters = []int{i}
				}
			}
		}
		if len(p.Arbiters) == 0 {
			return nil, pgerr.New(pgerr.UndefinedObject, "constraint %q for table %q does not exist", inf.Conname, t.Name)
		}
	default:
		if inf.WhereClause != nil {
			// The predicate only lets partial unique indexes be inferred;
			// there are none, and a full one always qualifies. Check it
			// is a valid condition and drop it.
			if _, err := newStmtScope(cat).child(targetCols(t, alias)).where(inf.WhereClause); err != nil {
				return nil, err
			}
		}
		var want []int
		for _, n := range inf.IndexElems {
			el := n.GetIndexElem()
			if el.Expr != nil {
				return nil, errAt(pgerr.FeatureNotSupported, inf.Location, "ON CONFLICT on an expression is not supported yet")
			}
			i := t.ColumnIndex(el.Name)
			if i < 0 || t.Columns[i].Hidden {
				return nil, errAt(pgerr.UndefinedColumn, inf.Location, "column %q does not exist", el.Name)
			}
			want = append(want, i)
		}
		if sameSet(want, t.PK) && !t.Columns[t.PK[0]].RowID {
			p.Arbiters = append(p.Arbiters, PKArbiter)
		}
		for i, idx := range t.Indexes {
			if idx.Unique && sameSet(want, idx.Cols) {
				p.Arbiters = append(p.Arbiters, i)
			}
		}
		if len(p.Arbiters) == 0 {
			return nil, pgerr.New(pgerr.InvalidColumnRef, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
		}
	}
	if !p.DoUpdate {
		return p, nil
	}
	// DO UPDATE: the target row, then EXCLUDED (an unqualified name of
	// both is ambiguous, as in PostgreSQL).
	cols := targetCols(t, alias)
	cols = append(cols, targetCols(t, "excluded")...)
	s := newStmtScope(cat).child(cols)
	sets, err := buildSets(oc.TargetList, t, s)
	if err != nil {
		return nil, err
	}
	p.Sets = sets
	if p.Where, err = s.where(oc.WhereClause); err != nil {
		return nil, err
	}
	return p, nil
}

// buildSets plans the SET list of an UPDATE (or of ON CONFLICT DO UPDATE).
func buildSets(list []*pg.Node, t *Table, s *scope) ([]SetCol, error) {
	var sets []SetCol
	seen := map[int]bool{}
	for _, tn := range list {
		rt := tn.GetResTarget()
		i := t.ColumnIndex(rt.Name)
		if i < 0 || t.Columns[i].Hidden {
			return nil, errAt(pgerr.UndefinedColumn, rt.Location, "column %q of relation %q does not exist", rt.Name, t.Name)
		}
		if seen[i] {
			return nil, errAt(pgerr.SyntaxError, rt.Location, "multiple assignments to same column %q", rt.Name)
		}
		seen[i] = true
		if err := identityUpdate(t.Columns[i], rt.Val); err != nil {
			return nil, err
		}
		val := rt.Val
		if mar := val.GetMultiAssignRef(); mar != nil {
			// SET (a, b) = (x, y): this column's item of the row.
			row := mar.Source.GetRowExpr()
			if sl := mar.Source.GetSubLink(); row == nil && sl != nil {
				e, err := s.multiAssignSubquery(sl, int(mar.Colno), int(mar.Ncolumns))
				if err != nil {
					return nil, err
				}
				if e, err = assignCast(e, t.Columns[i]); err != nil {
					return nil, err
				}
				sets = append(sets, SetCol{Ord: i, E: e})
				continue
			}
			if row == nil {
				return nil, pgerr.New(pgerr.SyntaxError, "source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression")
			}
			if len(row.Args) != int(mar.Ncolumns) {
				return nil, errAt(pgerr.SyntaxError, row.Location, "number of columns does not match number of values")
			}
			val = row.Args[mar.Colno-1]
		}
		var e Expr
		var err error
		if val.GetSetToDefault() != nil {
			e, err = DefaultExpr(t, t.Columns[i])
		} else {
			e, err = s.buildExpr(val)
		}
		if err != nil {
			return nil, err
		}
		if e, err = assignCast(e, t.Columns[i]); err != nil {
			return nil, err
		}
		sets = append(sets, SetCol{Ord: i, E: e})
	}
	return sets, nil
}

func sameSet(a, b []int) bool {
	x := append([]int(nil), a...)
	y := append([]int(nil), b...)
	sort.Ints(x)
	sort.Ints(y)
	// Duplicates in the inference list do not matter.
	x = dedupInts(x)
	y = dedupInts(y)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func dedupInts(x []int) []int {
	var out []int
	for i, v := range x {
		if i == 0 || v != x[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// buildJoinedSource plans the rows an UPDATE ... FROM or DELETE ... USING
// reads: the target table joined with the other FROM items under WHERE;
// the target's columns come first. It returns the relation and the scope
// over its columns.
func buildJoinedSource(target *Scan, from []*pg.Node, where *pg.Node, cat Catalog) (Rel, *scope, error) {
	s := newStmtScope(cat).child(nil)
	items := []Rel{target}
	var rel Rel = target
	for _, item := range from {
		if rv := item.GetRangeVar(); rv != nil {
			alias := rv.Relname
			if rv.Alias != nil {
				alias = rv.Alias.Aliasname
			}
			if alias == target.Alias {
				return nil, nil, errAt("42712", rv.Location, "table name %q specified more than once", alias)
			}
		}
		r, err := buildFrom(item, s)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, r)
		rel = &Join{Kind: InnerJoin, Left: rel, Right: r}
	}
	s.cols = rel.Cols()
	w, err := s.where(where)
	if err != nil {
		return nil, nil, err
	}
	if w != nil {
		if len(items) > 2 {
			rel = orderJoins(items, w)
		} else {
			rel = placeFilter(rel, w)
		}
	}
	finishScans(rel)
	return rel, s, nil
}

// buildTruncate plans TRUNCATE.
func buildTruncate(ts *pg.TruncateStmt, cat Catalog) (Plan, error) {
	p := &Truncate{}
	seen := map[string]bool{}
	for _, n := range ts.Relations {
		rv := n.GetRangeVar()
		t, _, err := tableOf(rv, cat)
		if err != nil {
			return nil, err
		}
		if t.ViewQuery != "" {
			return nil, errAt(pgerr.WrongObjectType, rv.Location, "%q is not a table", t.Name)
		}
		if seen[strings.ToLower(t.Name)] {
			continue
		}
		seen[strings.ToLower(t.Name)] = true
		p.Tables = append(p.Tables, t)
	}
	return p, nil
}

// buildUpdateExt plans UPDATE with FROM and/or RETURNING.
func buildUpdateExt(us *pg.UpdateStmt, t *Table, alias string, cat Catalog) (Plan, error) {
	src := newScan(t, alias)
	p := &Update{Table: t}
	var s *scope
	if len(us.FromClause) > 0 {
		rel, js, err := buildJoinedSource(src, us.FromClause, us.WhereClause, cat)
		if err != nil {
			return nil, err
		}
		p.From, s = rel, js
	} else {
		s = newStmtScope(cat).child(src.Cols())
		var err error
		if src.Filter, err = s.where(us.WhereClause); err != nil {
			return nil, err
		}
		src.withAccess()
		p.Source = src
	}
	var err error
	if p.Sets, err = buildSets(us.TargetList, t, s); err != nil {
		return nil, err
	}
	if p.Returning, err = buildReturning(us.ReturningList, s); err != nil {
		return nil, err
	}
	return p, nil
}

// buildDeleteExt plans DELETE with USING and/or RETURNING.
func buildDeleteExt(ds *pg.DeleteStmt, t *Table, alias string, cat Catalog) (Plan, error) {
	src := newScan(t, alias)
	p := &Delete{Table: t}
	var s *scope
	if len(ds.UsingClause) > 0 {
		rel, js, err := buildJoinedSource(src, ds.UsingClause, ds.WhereClause, cat)
		if err != nil {
			return nil, err
		}
		p.Using, s = rel, js
	} else {
		s = newStmtScope(cat).child(src.Cols())
		var err error
		if src.Filter, err = s.where(ds.WhereClause); err != nil {
			return nil, err
		}
		src.withAccess()
		p.Source = src
	}
	var err error
	if p.Returning, err = buildReturning(ds.ReturningList, s); err != nil {
		return nil, err
	}
	return p, nil
}

// multiAssignSubquery plans column colno (1-based) of the sub-SELECT of
// SET (a, b, ...) = (SELECT ...) as a scalar subquery (no row: NULL; more
// than one: an error, as in PostgreSQL). Each column gets its own copy.
func (s *scope) multiAssignSubquery(sl *pg.SubLink, colno, ncols int) (Expr, error) {
	sel := sl.Subselect.GetSelectStmt()
	if sel == nil {
		return nil, errAt(pgerr.FeatureNotSupported, sl.Location, "this subquery is not supported")
	}
	rel, q, err := buildQuery(sel, s)
	if err != nil {
		return nil, err
	}
	var visible []int
	for i, c := range rel.Cols() {
		if !c.Hidden {
			visible = append(visible, i)
		}
	}
	if len(visible) != ncols {
		return nil, errAt(pgerr.SyntaxError, sl.Location, "number of columns does not match number of values")
	}
	c := rel.Cols()[visible[colno-1]]
	one := &Project{Input: rel, Exprs: []Expr{&ColRef{Ord: visible[colno-1], Name: c.Name, T: c.T}}, Columns: []ColInfo{{Name: c.Name, T: c.T}}}
	s.q.stmt.subqueries++
	return &Subquery{Rel: one, Correlated: q.correlated, ID: s.q.stmt.subqueries, Mode: SubScalar, T: c.T}, nil
}
