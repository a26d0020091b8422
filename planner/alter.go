package planner

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardsql/shardsql/internal/pgerr"
)

// AlterOp is one action of ALTER TABLE.
type AlterOp int

// The ALTER TABLE actions.
const (
	AlterAddColumn AlterOp = iota
	AlterDropColumn
	AlterRenameColumn
	AlterRenameTable
	AlterSetDefault
	AlterDropDefault
	AlterSetNotNull
	AlterDropNotNull
	AlterAddCheck
	AlterDropConstraint
)

// AlterCmd is one action of an ALTER TABLE statement.
type AlterCmd struct {
	Op AlterOp
	// Column is the column acted on; NewName the new column or table name.
	Column, NewName string
	// IfExists is IF EXISTS (drops) or IF NOT EXISTS (ADD COLUMN).
	IfExists bool
	// Constraint is the constraint name (ADD/DROP CONSTRAINT).
	Constraint string
	// NotValid skips validating a new check against existing rows.
	NotValid bool
	def      *pg.ColumnDef
	expr     *pg.Node
}

// AlterTable changes a table's definition. The actions apply, in order,
// to the descriptor current when it runs (ApplyAlter).
type AlterTable struct {
	Name string
	// MissingOk is ALTER TABLE IF EXISTS.
	MissingOk bool
	Cmds      []AlterCmd
}

func (*AlterTable) plan() {}

// AlterResult is what ApplyAlter makes of an ALTER TABLE.
type AlterResult struct {
	// Table is the new definition.
	Table *Table
	// Notices are the "does not exist, skipping" messages.
	Notices []string
	// NotNull names the columns that became NOT NULL and Checks the checks
	// that were added (to be validated against the existing rows).
	NotNull []string
	Checks  []string
	// Missing holds, per id of an added column with a default, the default
	// expression: its value (evaluated once) is what existing rows read for
	// the column.
	Missing map[uint32]Expr
	// Interim, when set, must be published (and seen by every frontend)
	// before Table: the old definition with the dropped NOT NULL columns
	// made nullable, so no frontend still enforces NOT NULL on a column
	// that rows written under the new definition lack.
	Interim *Table
}

func buildAlterTable(as *pg.AlterTableStmt, cat Catalog) (Plan, error) {
	if as.Objtype != pg.ObjectType_OBJECT_TABLE {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "ALTER %s is not supported yet", strings.TrimPrefix(as.Objtype.String(), "OBJECT_"))
	}
	p := &AlterTable{Name: as.Relation.Relname, MissingOk: as.MissingOk}
	for _, n := range as.Cmds {
		c := n.GetAlterTableCmd()
		cmd := AlterCmd{Column: c.Name, IfExists: c.MissingOk}
		switch c.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			cmd.Op, cmd.def = AlterAddColumn, c.Def.GetColumnDef()
			cmd.Column = cmd.def.Colname
		case pg.AlterTableType_AT_DropColumn:
			cmd.Op = AlterDropColumn
			if c.Behavior == pg.DropBehavior_DROP_CASCADE {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "DROP COLUMN ... CASCADE is not supported yet")
			}
		case pg.AlterTableType_AT_ColumnDefault:
			cmd.Op, cmd.expr = AlterSetDefault, c.Def
			if c.Def == nil {
				cmd.Op = AlterDropDefault
			}
		case pg.AlterTableType_AT_SetNotNull:
			cmd.Op = AlterSetNotNull
		case pg.AlterTableType_AT_DropNotNull:
			cmd.Op = AlterDropNotNull
		case pg.AlterTableType_AT_AddConstraint:
			con := c.Def.GetConstraint()
			if con.Contype != pg.ConstrType_CONSTR_CHECK {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "ADD CONSTRAINT %s is not supported yet", strings.TrimPrefix(con.Contype.String(), "CONSTR_"))
			}
			cmd.Op, cmd.Constraint, cmd.expr, cmd.NotValid = AlterAddCheck, con.Conname, con.RawExpr, con.SkipValidation
		case pg.AlterTableType_AT_DropConstraint:
			cmd.Op, cmd.Constraint = AlterDropConstraint, c.Name
		default:
			return nil, pgerr.New(pgerr.FeatureNotSupported, "this form of ALTER TABLE is not supported yet (%s)", strings.TrimPrefix(c.Subtype.String(), "AT_"))
		}
		p.Cmds = append(p.Cmds, cmd)
	}
	return p, checkAlterTarget(p, as.Relation, cat)
}

func buildRename(rs *pg.RenameStmt, cat Catalog) (Plan, error) {
	if rs.RelationType != pg.ObjectType_OBJECT_TABLE && rs.RenameType != pg.ObjectType_OBJECT_TABLE {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "ALTER %s ... RENAME is not supported yet", strings.TrimPrefix(rs.RelationType.String(), "OBJECT_"))
	}
	p := &AlterTable{Name: rs.Relation.Relname, MissingOk: rs.MissingOk}
	switch rs.RenameType {
	case pg.ObjectType_OBJECT_TABLE:
		p.Cmds = []AlterCmd{{Op: AlterRenameTable, NewName: rs.Newname}}
	case pg.ObjectType_OBJECT_COLUMN:
		p.Cmds = []AlterCmd{{Op: AlterRenameColumn, Column: rs.Subname, NewName: rs.Newname}}
	default:
		return nil, pgerr.New(pgerr.FeatureNotSupported, "ALTER TABLE ... RENAME %s is not supported yet", strings.TrimPrefix(rs.RenameType.String(), "OBJECT_"))
	}
	return p, checkAlterTarget(p, rs.Relation, cat)
}

// checkAlterTarget reports a missing table (unless IF EXISTS) and a view.
func checkAlterTarget(p *AlterTable, rv *pg.RangeVar, cat Catalog) error {
	t, _, err := tableOf(rv, cat)
	if err != nil {
		if p.MissingOk && pgerr.Code(err) == pgerr.UndefinedTable {
			return nil
		}
		return err
	}
	if t.ViewQuery != "" {
		return pgerr.New(pgerr.WrongObjectType, "ALTER action cannot be performed on relation %q", t.Name).WithDetail("This operation is not supported for views.")
	}
	return nil
}

// ApplyAlter applies the actions of p to cur (which it does not change).
func ApplyAlter(cur *Table, p *AlterTable) (*AlterResult, error) {
	t := cur.clone()
	if t.NextColumnID == 0 {
		t.NextColumnID = nextID(t)
	}
	res := &AlterResult{Table: t, Missing: map[uint32]Expr{}}
	droppedNotNull := map[uint32]bool{}
	for _, c := range p.Cmds {
		col := -1
		switch c.Op {
		case AlterDropColumn, AlterRenameColumn, AlterSetDefault, AlterDropDefault, AlterSetNotNull, AlterDropNotNull:
			col = t.ColumnIndex(c.Column)
			if col >= 0 && t.Columns[col].Hidden {
				col = -1
			}
			if col < 0 {
				if c.Op == AlterDropColumn && c.IfExists {
					res.Notices = append(res.Notices, fmt.Sprintf("column %q of relation %q does not exist, skipping", c.Column, t.Name))
					continue
				}
				if c.Op == AlterRenameColumn {
					return nil, pgerr.New(pgerr.UndefinedColumn, "column %q does not exist", c.Column)
				}
				if c.Op == AlterDropColumn {
					return nil, pgerr.New(pgerr.UndefinedColumn, "column %q of relation %q does not exist", c.Column, t.Name)
				}
				return nil, pgerr.New(pgerr.UndefinedColumn, "column %q of relation %q does not exist", c.Column, t.Name)
			}
		}
		switch c.Op {
		case AlterAddColumn:
			if err := addColumn(t, c, res); err != nil {
				return nil, err
			}
		case AlterDropColumn:
			if isPKOrd(t, col) {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "cannot drop column %q of relation %q: it is part of the primary key", c.Column, t.Name)
			}
			for _, idx := range t.Indexes {
				for _, o := range idx.Cols {
					if o == col {
						return nil, pgerr.New(pgerr.FeatureNotSupported, "cannot drop column %q of relation %q: index %q uses it", c.Column, t.Name, idx.Name).
							WithHint("Drop the index first.")
					}
				}
			}
			if !t.Columns[col].Nullable {
				droppedNotNull[t.Columns[col].ID] = true
			}
			// Checks that read the column go with it, as in PostgreSQL.
			var keep []Check
			for _, ck := range t.Checks {
				reads := false
				for _, o := range CheckColumns(t, ck) {
					reads = reads || o == col
				}
				if !reads {
					keep = append(keep, ck)
				} else {
					res.Checks = remove(res.Checks, ck.Name)
				}
			}
			t.Checks = keep
			t.removeColumn(col)
			res.NotNull = remove(res.NotNull, c.Column)
		case AlterRenameColumn:
			if t.ColumnIndex(c.NewName) >= 0 {
				return nil, pgerr.New(pgerr.DuplicateColumn, "column %q of relation %q already exists", c.NewName, t.Name)
			}
			for i := range t.Checks {
				s, err := renameColumnRefs(t.Checks[i].Expr, c.Column, c.NewName)
				if err != nil {
					return nil, err
				}
				t.Checks[i].Expr = s
			}
			t.Columns[col].Name = c.NewName
			for i, n := range res.NotNull {
				if n == c.Column {
					res.NotNull[i] = c.NewName
				}
			}
		case AlterRenameTable:
			t.Name = c.NewName
		case AlterSetDefault:
			text, err := deparseExpr(c.expr)
			if err != nil {
				return nil, pgerr.Wrap(err, pgerr.FeatureNotSupported, "DEFAULT expression")
			}
			t.Columns[col].Default = text
			if _, err := DefaultExpr(t, t.Columns[col]); err != nil {
				return nil, err
			}
		case AlterDropDefault:
			t.Columns[col].Default = ""
		case AlterSetNotNull:
			if t.Columns[col].Nullable {
				t.Columns[col].Nullable = false
				res.NotNull = append(res.NotNull, c.Column)
			}
		case AlterDropNotNull:
			if isPKOrd(t, col) {
				return nil, pgerr.New(pgerr.InvalidTableDef, "column %q is in a primary key", c.Column)
			}
			t.Columns[col].Nullable = true
			res.NotNull = remove(res.NotNull, c.Column)
		case AlterAddCheck:
			ck, err := newCheck(t, c.Constraint, c.expr)
			if err != nil {
				return nil, err
			}
			t.Checks = append(t.Checks, ck)
			if !c.NotValid {
				res.Checks = append(res.Checks, ck.Name)
			}
		case AlterDropConstraint:
			i := t.CheckByName(c.Constraint)
			if i < 0 {
				if t.HasConstraint(c.Constraint) {
					return nil, pgerr.New(pgerr.FeatureNotSupported, "dropping constraint %q is not supported yet (only CHECK constraints)", c.Constraint)
				}
				if c.IfExists {
					res.Notices = append(res.Notices, fmt.Sprintf("constraint %q of relation %q does not exist, skipping", c.Constraint, t.Name))
					continue
				}
				return nil, pgerr.New(pgerr.UndefinedObject, "constraint %q of relation %q does not exist", c.Constraint, t.Name)
			}
			t.Checks = append(t.Checks[:i:i], t.Checks[i+1:]...)
			res.Checks = remove(res.Checks, c.Constraint)
		}
	}
	if len(droppedNotNull) > 0 {
		in := cur.clone()
		for i := range in.Columns {
			if droppedNotNull[in.Columns[i].ID] {
				in.Columns[i].Nullable = true
			}
		}
		res.Interim = in
	}
	return res, nil
}

func addColumn(t *Table, c AlterCmd, res *AlterResult) error {
	cd := c.def
	if i := t.ColumnIndex(cd.Colname); i >= 0 {
		if c.IfExists {
			res.Notices = append(res.Notices, fmt.Sprintf("column %q of relation %q already exists, skipping", cd.Colname, t.Name))
			return nil
		}
		return pgerr.New(pgerr.DuplicateColumn, "column %q of relation %q already exists", cd.Colname, t.Name)
	}
	typ, err := typeFromName(cd.TypeName)
	if err != nil {
		return err
	}
	col := Column{ID: t.NextColumnID, Name: cd.Colname, Type: typ, Nullable: !cd.IsNotNull}
	t.NextColumnID++
	var checks []pendingCheck
	for _, cn := range cd.Constraints {
		con := cn.GetConstraint()
		switch con.Contype {
		case pg.ConstrType_CONSTR_NOTNULL:
			col.Nullable = false
		case pg.ConstrType_CONSTR_NULL:
			col.Nullable = true
		case pg.ConstrType_CONSTR_DEFAULT:
			if col.Default, err = deparseExpr(con.RawExpr); err != nil {
				return pgerr.Wrap(err, pgerr.FeatureNotSupported, "DEFAULT expression")
			}
		case pg.ConstrType_CONSTR_CHECK:
			checks = append(checks, pendingCheck{con.Conname, con.RawExpr})
		default:
			return errAt(pgerr.FeatureNotSupported, con.Location, "ADD COLUMN with constraint %s is not supported yet", strings.TrimPrefix(con.Contype.String(), "CONSTR_"))
		}
	}
	t.Columns = append(t.Columns, col)
	if col.Default != "" {
		e, err := DefaultExpr(t, col)
		if err != nil {
			return err
		}
		if volatile(e) {
			return pgerr.New(pgerr.FeatureNotSupported, "ADD COLUMN with a volatile DEFAULT is not supported yet (existing rows would need a rewrite)")
		}
		res.Missing[col.ID] = e
	}
	if !col.Nullable {
		res.NotNull = append(res.NotNull, col.Name)
	}
	for _, pc := range checks {
		ck, err := newCheck(t, pc.name, pc.expr)
		if err != nil {
			return err
		}
		t.Checks = append(t.Checks, ck)
		res.Checks = append(res.Checks, ck.Name)
	}
	return nil
}

// volatile reports whether e calls a function whose value changes from
// call to call within a statement.
func volatile(e Expr) bool {
	found := false
	visitExpr(e, func(x Expr) {
		if f, ok := x.(*Func); ok {
			switch f.Name {
			case "random", "clock_timestamp", "timeofday", "nextval", "gen_random_uuid", "setseed", "statement_timestamp":
				found = true
			}
		}
		if _, ok := x.(*UniqueRowID); ok {
			found = true
		}
	})
	return found
}

func (t *Table) clone() *Table {
	c := *t
	c.Columns = append([]Column(nil), t.Columns...)
	c.PK = append([]int(nil), t.PK...)
	c.PKDesc = append([]bool(nil), t.PKDesc...)
	c.Checks = append([]Check(nil), t.Checks...)
	c.BoundChecks = nil
	c.Indexes = nil
	for _, idx := range t.Indexes {
		idx.Cols = append([]int(nil), idx.Cols...)
		c.Indexes = append(c.Indexes, idx)
	}
	return &c
}

// removeColumn removes the column at ordinal o, renumbering the ordinals
// of the primary key and indexes (none of which may use it).
func (t *Table) removeColumn(o int) {
	t.Columns = append(t.Columns[:o:o], t.Columns[o+1:]...)
	fix := func(ords []int) {
		for i := range ords {
			if ords[i] > o {
				ords[i]--
			}
		}
	}
	fix(t.PK)
	for i := range t.Indexes {
		fix(t.Indexes[i].Cols)
	}
}

func nextID(t *Table) uint32 {
	var n uint32
	for _, c := range t.Columns {
		n = max(n, c.ID)
	}
	return n + 1
}

func isPKOrd(t *Table, o int) bool {
	for _, p := range t.PK {
		if p == o {
			return true
		}
	}
	return false
}

func remove(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// renameColumnRefs rewrites the column references named old in the SQL
// text of an expression to new.
func renameColumnRefs(sql, old, new string) (string, error) {
	res, err := pg.Parse("SELECT " + sql)
	if err != nil {
		return "", err
	}
	n := res.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val
	walkMessages(n.ProtoReflect(), func(m protoreflect.Message) {
		cr, ok := m.Interface().(*pg.ColumnRef)
		if !ok || len(cr.Fields) == 0 {
			return
		}
		if s := cr.Fields[len(cr.Fields)-1].GetString_(); s != nil && s.Sval == old {
			s.Sval = new
		}
	})
	return deparseExpr(n)
}

// walkMessages calls f for m and every message below it.
func walkMessages(m protoreflect.Message, f func(protoreflect.Message)) {
	f(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkMessages(l.Get(i).Message(), f)
			}
		case fd.Message() != nil && !fd.IsMap():
			walkMessages(v.Message(), f)
		}
		return true
	})
}

// ViewReads reports whether the SQL of a view's query reads the table and,
// when column is not "", whether it may read that column of it (a column
// reference of that name, or a *). It errs on the side of yes.
func ViewReads(query, table, column string) bool {
	res, err := pg.Parse(query)
	if err != nil {
		return true
	}
	readsTable, readsColumn := false, false
	for _, st := range res.Stmts {
		walkMessages(st.ProtoReflect(), func(m protoreflect.Message) {
			switch n := m.Interface().(type) {
			case *pg.RangeVar:
				readsTable = readsTable || n.Relname == table
			case *pg.ColumnRef:
				if len(n.Fields) > 0 {
					last := n.Fields[len(n.Fields)-1]
					readsColumn = readsColumn || last.GetAStar() != nil || last.GetString_().GetSval() == column
				}
			}
		})
	}
	if column == "" {
		return readsTable
	}
	return readsTable && readsColumn
}

// ViewConflict returns the error for an action of p that would break a
// view reading the table (views store their query as SQL text, which a
// rename or a dropped column would leave pointing at nothing), or nil.
func ViewConflict(p *AlterTable, table, view, query string) error {
	for _, c := range p.Cmds {
		switch c.Op {
		case AlterRenameTable:
			if ViewReads(query, table, "") {
				return pgerr.New(pgerr.FeatureNotSupported, "cannot rename table %q: view %q depends on it", table, view)
			}
		case AlterRenameColumn:
			if ViewReads(query, table, c.Column) {
				return pgerr.New(pgerr.FeatureNotSupported, "cannot rename column %q of table %q: view %q may depend on it", c.Column, table, view)
			}
		case AlterDropColumn:
			if ViewReads(query, table, c.Column) {
				return pgerr.New("2BP01", "cannot drop column %s of table %s because other objects depend on it", c.Column, table).
					WithDetail("view %s depends on column %s of table %s", view, c.Column, table).
					WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
			}
		}
	}
	return nil
}
