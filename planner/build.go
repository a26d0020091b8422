package planner

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// Build plans one parsed statement.
func Build(stmt *pg.Node, cat Catalog) (Plan, error) {
	switch {
	case stmt.GetCreateStmt() != nil:
		return buildCreateTable(stmt.GetCreateStmt())
	case stmt.GetDropStmt() != nil:
		return buildDrop(stmt.GetDropStmt())
	case stmt.GetInsertStmt() != nil:
		return buildInsert(stmt.GetInsertStmt(), cat)
	case stmt.GetSelectStmt() != nil:
		return buildSelect(stmt.GetSelectStmt(), cat)
	case stmt.GetUpdateStmt() != nil:
		return buildUpdate(stmt.GetUpdateStmt(), cat)
	case stmt.GetDeleteStmt() != nil:
		return buildDelete(stmt.GetDeleteStmt(), cat)
	case stmt.GetIndexStmt() != nil:
		return buildCreateIndex(stmt.GetIndexStmt(), cat)
	case stmt.GetViewStmt() != nil:
		return buildCreateView(stmt.GetViewStmt(), cat)
	case stmt.GetExplainStmt() != nil:
		return buildExplain(stmt.GetExplainStmt(), cat)
	case stmt.GetTruncateStmt() != nil:
		return buildTruncate(stmt.GetTruncateStmt(), cat)
	case stmt.GetCreateSeqStmt() != nil:
		return buildCreateSequence(stmt.GetCreateSeqStmt())
	case stmt.GetAlterSeqStmt() != nil:
		return buildAlterSequence(stmt.GetAlterSeqStmt())
	case stmt.GetAlterTableStmt() != nil:
		return buildAlterTable(stmt.GetAlterTableStmt(), cat)
	case stmt.GetRenameStmt() != nil:
		return buildRename(stmt.GetRenameStmt(), cat)
	}
	return nil, pgerr.New(pgerr.FeatureNotSupported, "statement is not supported yet: %s", stmtKind(stmt))
}

func stmtKind(n *pg.Node) string {
	s := fmt.Sprintf("%T", n.GetNode())
	s = strings.TrimPrefix(s, "*pg_query.Node_")
	return s
}

func buildCreateTable(cs *pg.CreateStmt) (Plan, error) {
	t := &Table{Name: cs.Relation.Relname}
	var pkNames []string
	var pkLoc int32
	var owned []OwnedSequence
	var checks []pendingCheck
	for _, elt := range cs.TableElts {
		if cd := elt.GetColumnDef(); cd != nil {
			if t.ColumnIndex(cd.Colname) >= 0 {
				return nil, errAt(pgerr.DuplicateColumn, cd.Location, "column %q specified more than once", cd.Colname)
			}
			col := Column{ID: uint32(len(t.Columns) + 1), Name: cd.Colname, Nullable: !cd.IsNotNull}
			if seq, err := serialColumn(t, cd, &col); err != nil {
				return nil, err
			} else if seq != nil {
				owned = append(owned, *seq)
			} else if col.Type, err = typeFromName(cd.TypeName); err != nil {
				return nil, err
			}
			for _, cn := range cd.Constraints {
				c := cn.GetConstraint()
				switch c.Contype {
				case pg.ConstrType_CONSTR_NOTNULL:
					col.Nullable = false
				case pg.ConstrType_CONSTR_NULL:
					col.Nullable = true
				case pg.ConstrType_CONSTR_PRIMARY:
					if len(pkNames) > 0 {
						return nil, errAt(pgerr.InvalidTableDef, c.Location, "multiple primary keys for table %q are not allowed", t.Name)
					}
					pkNames, pkLoc = []string{cd.Colname}, c.Location
				case pg.ConstrType_CONSTR_DEFAULT:
					def, err := deparseExpr(c.RawExpr)
					if err != nil {
						return nil, pgerr.Wrap(err, pgerr.FeatureNotSupported, "DEFAULT expression")
					}
					col.Default = def
				case pg.ConstrType_CONSTR_IDENTITY:
					seq, err := identityColumn(t, cd, &col, c)
					if err != nil {
						return nil, err
					}
					owned = append(owned, *seq)
				case pg.ConstrType_CONSTR_CHECK:
					checks = append(checks, pendingCheck{c.Conname, c.RawExpr})
				default:
					return nil, errAt(pgerr.FeatureNotSupported, c.Location, "constraint %s is not supported yet", strings.TrimPrefix(c.Contype.String(), "CONSTR_"))
				}
			}
			t.Columns = append(t.Columns, col)
			continue
		}
		if c := elt.GetConstraint(); c != nil {
			if c.Contype == pg.ConstrType_CONSTR_CHECK {
				checks = append(checks, pendingCheck{c.Conname, c.RawExpr})
				continue
			}
			if c.Contype != pg.ConstrType_CONSTR_PRIMARY {
				return nil, errAt(pgerr.FeatureNotSupported, c.Location, "constraint %s is not supported yet", strings.TrimPrefix(c.Contype.String(), "CONSTR_"))
			}
			if len(pkNames) > 0 {
				return nil, errAt(pgerr.InvalidTableDef, c.Location, "multiple primary keys for table %q are not allowed", t.Name)
			}
			for _, k := range c.Keys {
				pkNames = append(pkNames, k.GetString_().GetSval())
			}
			pkLoc = c.Location
			continue
		}
		return nil, pgerr.New(pgerr.FeatureNotSupported, "table element is not supported yet")
	}
	for _, name := range pkNames {
		i := t.ColumnIndex(name)
		if i < 0 {
			return nil, errAt(pgerr.UndefinedColumn, pkLoc, "column %q named in key does not exist", name)
		}
		if !t.Columns[i].Type.Keyable() {
			return nil, errAt(pgerr.FeatureNotSupported, pkLoc, "a primary key column of type %s is not supported", t.Columns[i].Type)
		}
		t.Columns[i].Nullable = false
		t.PK = append(t.PK, i)
		t.PKDesc = append(t.PKDesc, false)
	}
	if len(t.PK) == 0 {
		t.Columns = append(t.Columns, Column{ID: uint32(len(t.Columns) + 1), Name: "rowid", Type: types.Int8, Hidden: true, RowID: true})
		t.PK = []int{len(t.Columns) - 1}
		t.PKDesc = []bool{false}
	}
	for _, c := range t.Columns {
		if c.Default != "" {
			if _, err := DefaultExpr(t, c); err != nil {
				return nil, err
			}
		}
	}
	for _, pc := range checks {
		if pc.name != "" && t.CheckByName(pc.name) >= 0 {
			return nil, pgerr.New(duplicateObject, "check constraint %q already exists", pc.name)
		}
		c, err := newCheck(t, pc.name, pc.expr)
		if err != nil {
			return nil, err
		}
		t.Checks = append(t.Checks, c)
	}
	return &CreateTable{Table: t, IfNotExists: cs.IfNotExists, Sequences: owned}, nil
}

// DefaultExpr returns the expression that fills column c when an INSERT
// does not name it.
func DefaultExpr(t *Table, c Column) (Expr, error) {
	if c.RowID {
		return &UniqueRowID{}, nil
	}
	if c.Default == "" {
		return &Const{Val: types.Null, T: c.Type}, nil
	}
	res, err := pg.Parse("SELECT " + c.Default)
	if err != nil {
		return nil, pgerr.Wrap(err, pgerr.SyntaxError, "DEFAULT expression")
	}
	target := res.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val
	s := newStmtScope(nil)
	e, err := s.buildExpr(target)
	if err != nil {
		return nil, err
	}
	return assignCast(e, c)
}

// assignCast converts e for storing into column c (assignment cast rules).
func assignCast(e Expr, c Column) (Expr, error) {
	et := e.Type()
	if et.Family == types.UnknownFamily || et == c.Type {
		return castTo(e, c.Type)
	}
	ok := et.Family == c.Type.Family ||
		(isNumeric(et) && isNumeric(c.Type)) ||
		c.Type.Family == types.StringFamily ||
		(isDateTime(et) && isDateTime(c.Type))
	if !ok {
		return nil, pgerr.New(pgerr.DatatypeMismatch, "column %q is of type %s but expression is of type %s", c.Name, c.Type, et).
			WithDetail("You will need to rewrite or cast the expression.")
	}
	return castTo(e, c.Type)
}

func buildDrop(ds *pg.DropStmt) (Plan, error) {
	var names []string
	for _, o := range ds.Objects {
		items := o.GetList().GetItems()
		names = append(names, items[len(items)-1].GetString_().GetSval())
	}
	switch ds.RemoveType {
	case pg.ObjectType_OBJECT_TABLE:
		return &DropTable{Names: names, IfExists: ds.MissingOk}, nil
	case pg.ObjectType_OBJECT_INDEX:
		return &DropIndex{Names: names, IfExists: ds.MissingOk}, nil
	case pg.ObjectType_OBJECT_VIEW:
		return &DropView{Names: names, IfExists: ds.MissingOk}, nil
	case pg.ObjectType_OBJECT_SEQUENCE:
		return &DropSequence{Names: names, IfExists: ds.MissingOk}, nil
	}
	return nil, pgerr.New(pgerr.FeatureNotSupported, "DROP %s is not supported yet", strings.TrimPrefix(ds.RemoveType.String(), "OBJECT_"))
}

func buildCreateIndex(is *pg.IndexStmt, cat Catalog) (Plan, error) {
	if is.WhereClause != nil || len(is.IndexIncludingParams) > 0 {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "partial indexes and INCLUDE are not supported yet")
	}
	t, _, err := tableOf(is.Relation, cat)
	if err != nil {
		return nil, err
	}
	if t.ViewQuery != "" {
		return nil, pgerr.New(pgerr.WrongObjectType, "%q is not a table", t.Name)
	}
	idx := Index{Name: is.Idxname, Unique: is.Unique}
	for _, p := range is.IndexParams {
		el := p.GetIndexElem()
		if el.Expr != nil {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "expression indexes are not supported yet")
		}
		i := t.ColumnIndex(el.Name)
		if i < 0 {
			return nil, pgerr.New(pgerr.UndefinedColumn, "column %q does not exist", el.Name)
		}
		if !t.Columns[i].Type.Keyable() {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "an index on a column of type %s is not supported", t.Columns[i].Type)
		}
		idx.Cols = append(idx.Cols, i)
		idx.Desc = append(idx.Desc, el.Ordering == pg.SortByDir_SORTBY_DESC)
	}
	if idx.Name == "" {
		idx.Name = t.Name
		for _, o := range idx.Cols {
			idx.Name += "_" + t.Columns[o].Name
		}
		idx.Name += "_idx"
		if idx.Unique {
			idx.Name = strings.TrimSuffix(idx.Name, "_idx") + "_key"
		}
	}
	return &CreateIndex{Table: t, Index: idx, IfNotExists: is.IfNotExists}, nil
}

func buildCreateView(vs *pg.ViewStmt, cat Catalog) (Plan, error) {
	sel := vs.Query.GetSelectStmt()
	if sel == nil {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "this view query is not supported")
	}
	rel, _, err := buildQuery(sel, newStmtScope(cat))
	if err != nil {
		return nil, err
	}
	text, err := deparseSelect(vs.Query)
	if err != nil {
		return nil, err
	}
	p := &CreateView{Name: vs.View.Relname, Query: text, Replace: vs.Replace}
	for _, c := range rel.Cols() {
		if !c.Hidden {
			p.Columns = append(p.Columns, ColInfo{Name: c.Name, T: c.T})
		}
	}
	for i, a := range vs.Aliases {
		if i < len(p.Columns) {
			p.Columns[i].Name = a.GetString_().GetSval()
		}
	}
	return p, nil
}

// deparseSelect returns the SQL text of a query node.
func deparseSelect(n *pg.Node) (string, error) {
	tree := &pg.ParseResult{Stmts: []*pg.RawStmt{{Stmt: n}}}
	base, err := pg.Parse("SELECT 1")
	if err != nil {
		return "", err
	}
	tree.Version = base.Version
	return pg.Deparse(tree)
}

// writableTable returns the table a DML statement writes: not a view.
func writableTable(rv *pg.RangeVar, cat Catalog, verb string) (*Table, string, error) {
	t, alias, err := tableOf(rv, cat)
	if err == nil && t.ViewQuery != "" {
		return nil, "", errAt(pgerr.FeatureNotSupported, rv.Location, "cannot %s view %q", verb, t.Name)
	}
	return t, alias, err
}

func tableOf(rv *pg.RangeVar, cat Catalog) (*Table, string, error) {
	if rv.Schemaname != "" && rv.Schemaname != "public" {
		return nil, "", errAt(pgerr.UndefinedTable, rv.Location, "relation \"%s.%s\" does not exist", rv.Schemaname, rv.Relname)
	}
	t, err := cat.Table(rv.Relname)
	if err != nil {
		if pe, ok := err.(*pgerr.Error); ok && pe.Position == 0 {
			pe.Position = int(rv.Location) + 1
		}
		return nil, "", err
	}
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	return t, alias, nil
}

func buildInsert(is *pg.InsertStmt, cat Catalog) (Plan, error) {
	if is.WithClause != nil {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "INSERT with WITH is not supported yet")
	}
	t, alias, err := writableTable(is.Relation, cat, "insert into")
	if err != nil {
		return nil, err
	}
	p, err := buildInsertRows(is, t, cat)
	if err != nil {
		return nil, err
	}
	if is.OnConflictClause != nil {
		if p.OnConflict, err = buildOnConflict(is.OnConflictClause, t, alias, cat); err != nil {
			return nil, err
		}
	}
	if p.Returning, err = buildReturning(is.ReturningList, newStmtScope(cat).child(targetCols(t, alias))); err != nil {
		return nil, err
	}
	return p, nil
}

// buildInsertRows plans the rows an INSERT proposes.
func buildInsertRows(is *pg.InsertStmt, t *Table, cat Catalog) (*Insert, error) {
	var err error
	// Target columns: named, or every visible column in order.
	var targets []int
	if len(is.Cols) == 0 {
		for i, c := range t.Columns {
			if !c.Hidden {
				targets = append(targets, i)
			}
		}
	} else {
		seen := map[int]bool{}
		for _, cn := range is.Cols {
			rt := cn.GetResTarget()
			i := t.ColumnIndex(rt.Name)
			if i < 0 {
				return nil, errAt(pgerr.UndefinedColumn, rt.Location, "column %q of relation %q does not exist", rt.Name, t.Name)
			}
			if seen[i] {
				return nil, errAt(pgerr.DuplicateColumn, rt.Location, "column %q specified more than once", rt.Name)
			}
			seen[i] = true
			targets = append(targets, i)
		}
	}
	if err := identityInsert(t, targets, is); err != nil {
		return nil, err
	}
	defaults := make([]Expr, len(t.Columns))
	for i, c := range t.Columns {
		if defaults[i], err = DefaultExpr(t, c); err != nil {
			return nil, err
		}
	}
	sel := is.SelectStmt.GetSelectStmt()
	if is.SelectStmt == nil {
		// DEFAULT VALUES: one row of defaults.
		return &Insert{Table: t, Rows: [][]Expr{defaults}}, nil
	}
	if sel == nil {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "this INSERT source is not supported yet")
	}
	if len(sel.ValuesLists) == 0 || sel.Op != pg.SetOperation_SETOP_NONE {
		return buildInsertSelect(t, targets, len(is.Cols) > 0, defaults, sel, cat)
	}
	s := newStmtScope(cat)
	p := &Insert{Table: t}
	for i, vl := range sel.ValuesLists {
		items := vl.GetList().GetItems()
		if i > 0 && len(items) != len(sel.ValuesLists[0].GetList().GetItems()) {
			return nil, pgerr.New(pgerr.SyntaxError, "VALUES lists must all be the same length")
		}
		if len(items) > len(targets) {
			return nil, pgerr.New(pgerr.SyntaxError, "INSERT has more expressions than target columns")
		}
		if len(items) < len(targets) && len(is.Cols) > 0 {
			return nil, pgerr.New(pgerr.SyntaxError, "INSERT has more target columns than expressions")
		}
		row := append([]Expr(nil), defaults...)
		for j, item := range items {
			ord := targets[j]
			if item.GetSetToDefault() != nil {
				continue
			}
			e, err := s.buildExpr(item)
			if err != nil {
				return nil, err
			}
			if row[ord], err = assignCast(e, t.Columns[ord]); err != nil {
				return nil, err
			}
		}
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

func constInt(n *pg.Node, what string) (int64, error) {
	e, err := newStmtScope(nil).buildExpr(n)
	if err != nil {
		return 0, err
	}
	c, ok := e.(*Const)
	if !ok {
		return 0, pgerr.New(pgerr.FeatureNotSupported, "%s must be a constant", what)
	}
	if c.Val.IsNull() {
		return -1, nil
	}
	d, err := types.Cast(c.Val, types.Int8)
	if err != nil {
		return 0, err
	}
	if d.Int() < 0 {
		code := "2201W"
		if what == "OFFSET" {
			code = "2201X"
		}
		return 0, pgerr.New(code, "%s must not be negative", what)
	}
	return d.Int(), nil
}

func buildUpdate(us *pg.UpdateStmt, cat Catalog) (Plan, error) {
	if us.WithClause != nil {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "UPDATE with WITH is not supported yet")
	}
	t, alias, err := writableTable(us.Relation, cat, "update")
	if err != nil {
		return nil, err
	}
	if len(us.FromClause) > 0 || len(us.ReturningList) > 0 {
		return buildUpdateExt(us, t, alias, cat)
	}
	src := newScan(t, alias)
	s := newStmtScope(cat).child(src.Cols())
	p := &Update{Table: t, Source: src}
	if p.Sets, err = buildSets(us.TargetList, t, s); err != nil {
		return nil, err
	}
	if src.Filter, err = s.where(us.WhereClause); err != nil {
		return nil, err
	}
	src.withAccess()
	return p, nil
}

func buildDelete(ds *pg.DeleteStmt, cat Catalog) (Plan, error) {
	if ds.WithClause != nil {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "DELETE with WITH is not supported yet")
	}
	t, alias, err := writableTable(ds.Relation, cat, "delete from")
	if err != nil {
		return nil, err
	}
	if len(ds.UsingClause) > 0 || len(ds.ReturningList) > 0 {
		return buildDeleteExt(ds, t, alias, cat)
	}
	src := newScan(t, alias)
	s := newStmtScope(cat).child(src.Cols())
	p := &Delete{Table: t, Source: src}
	if src.Filter, err = s.where(ds.WhereClause); err != nil {
		return nil, err
	}
	src.withAccess()
	return p, nil
}

// deparseExpr returns the SQL text of an expression.
func deparseExpr(n *pg.Node) (string, error) {
	tree, err := pg.Parse("SELECT 1")
	if err != nil {
		return "", err
	}
	tree.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val = n
	s, err := pg.Deparse(tree)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(s, "SELECT "), nil
}

func newScan(t *Table, alias string) *Scan {
	start, end := t.rowSpan()
	return &Scan{Table: t, Alias: alias, Access: Access{Spans: []Span{{Start: start, End: end}}, Full: true}}
}

// buildInsertSelect plans INSERT ... SELECT: the query's rows, cast to the
// target columns, become whole table rows (defaults elsewhere).
func buildInsertSelect(t *Table, targets []int, named bool, defaults []Expr, sel *pg.SelectStmt, cat Catalog) (*Insert, error) {
	src, _, err := buildQuery(sel, newStmtScope(cat))
	if err != nil {
		return nil, err
	}
	cols := src.Cols()
	if len(cols) > len(targets) {
		return nil, pgerr.New(pgerr.SyntaxError, "INSERT has more expressions than target columns")
	}
	if len(cols) < len(targets) {
		if named {
			return nil, pgerr.New(pgerr.SyntaxError, "INSERT has more target columns than expressions")
		}
		targets = targets[:len(cols)]
	}
	row := append([]Expr(nil), defaults...)
	for j, ord := range targets {
		e, err := assignCast(&ColRef{Ord: j, Name: cols[j].Name, T: cols[j].T}, t.Columns[ord])
		if err != nil {
			return nil, err
		}
		row[ord] = e
	}
	out := make([]ColInfo, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = ColInfo{Name: c.Name, T: c.Type}
	}
	return &Insert{Table: t, Source: &Project{Input: src, Exprs: row, Columns: out}}, nil
}

// where builds a WHERE clause (nil when absent) as a boolean filter.
func (s *scope) where(n *pg.Node) (Expr, error) {
	if n == nil {
		return nil, nil
	}
	f, err := s.buildExpr(n)
	if err != nil {
		return nil, err
	}
	return coerceBool(f, -1)
}
