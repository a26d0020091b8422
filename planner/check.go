package planner

import (
	"strconv"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// duplicateObject is SQLSTATE 42710.
const duplicateObject = "42710"

// checkCatalog is the catalog a CHECK expression sees: none, so a
// subquery in it fails as in PostgreSQL.
type checkCatalog struct{}

func (checkCatalog) Table(string) (*Table, error) {
	return nil, pgerr.New(pgerr.FeatureNotSupported, "cannot use subquery in check constraint")
}

// BindCheck binds the SQL text of a CHECK expression over a row of t (one
// value per column, in order) and returns it with the ordinals of the
// columns it reads.
func BindCheck(t *Table, sql string) (Expr, []int, error) {
	res, err := pg.Parse("SELECT " + sql)
	if err != nil || len(res.Stmts) != 1 {
		return nil, nil, pgerr.New(pgerr.SyntaxError, "CHECK expression: %v", err)
	}
	return bindCheckNode(t, res.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val)
}

func bindCheckNode(t *Table, n *pg.Node) (Expr, []int, error) {
	src := newScan(t, t.Name)
	s := newStmtScope(checkCatalog{}).child(src.Cols())
	e, err := s.buildExpr(n)
	if err != nil {
		return nil, nil, err
	}
	var cols []int
	seen := map[int]bool{}
	var bad error
	visitExpr(e, func(x Expr) {
		switch x := x.(type) {
		case *ColRef:
			if !seen[x.Ord] {
				seen[x.Ord] = true
				cols = append(cols, x.Ord)
			}
		case *AggCall:
			bad = pgerr.New(pgerr.GroupingError, "aggregate functions are not allowed in check constraints")
		case *Subquery:
			bad = pgerr.New(pgerr.FeatureNotSupported, "cannot use subquery in check constraint")
		}
	})
	if bad != nil {
		return nil, nil, bad
	}
	switch typ := e.Type(); typ.Family {
	case types.BoolFamily:
	case types.UnknownFamily:
		if e, err = castTo(e, types.Bool); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, pgerr.New(pgerr.DatatypeMismatch, "argument of CHECK must be type boolean, not type %s", typ)
	}
	return e, cols, nil
}

// BindChecks binds every CHECK constraint of t into t.BoundChecks. A check
// that does not bind is left nil there (writes then fail) and reported.
func BindChecks(t *Table) error {
	t.BoundChecks = make([]Expr, len(t.Checks))
	var first error
	for i, c := range t.Checks {
		e, _, err := BindCheck(t, c.Expr)
		if err != nil && first == nil {
			first = err
		}
		t.BoundChecks[i] = e
	}
	return first
}

// CheckColumns returns the ordinals of the columns check c reads.
func CheckColumns(t *Table, c Check) []int {
	_, cols, _ := BindCheck(t, c.Expr)
	return cols
}

// newCheck builds a CHECK constraint of t from its parse tree: its SQL
// text, and its name (PostgreSQL's default when name is ""). col is the
// column a column constraint is written on ("" for a table constraint).
func newCheck(t *Table, name string, raw *pg.Node) (Check, error) {
	_, cols, err := bindCheckNode(t, raw)
	if err != nil {
		return Check{}, err
	}
	text, err := deparseExpr(raw)
	if err != nil {
		return Check{}, pgerr.Wrap(err, pgerr.FeatureNotSupported, "CHECK expression")
	}
	if name == "" {
		col := ""
		if len(cols) == 1 {
			col = t.Columns[cols[0]].Name
		}
		name = ChooseCheckName(t, col)
	} else if t.HasConstraint(name) {
		return Check{}, pgerr.New(duplicateObject, "constraint %q for relation %q already exists", name, t.Name)
	}
	return Check{Name: name, Expr: text}, nil
}

// HasConstraint reports whether t has a constraint (check, primary key or
// index) with the name.
func (t *Table) HasConstraint(name string) bool {
	if name == t.PKName() && !t.hasRowID() {
		return true
	}
	for _, c := range t.Checks {
		if c.Name == name {
			return true
		}
	}
	return t.IndexByName(name) != nil
}

// CheckByName returns the index of the named check in t.Checks, or -1.
func (t *Table) CheckByName(name string) int {
	for i, c := range t.Checks {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func (t *Table) hasRowID() bool {
	return len(t.PK) == 1 && t.Columns[t.PK[0]].RowID
}

// ChooseCheckName returns PostgreSQL's name for an unnamed check:
// <table>_<column>_check when it reads one column, <table>_check
// otherwise, with a number appended until it is unused.
func ChooseCheckName(t *Table, col string) string {
	base := t.Name + "_check"
	if col != "" {
		base = t.Name + "_" + col + "_check"
	}
	name := base
	for i := 1; t.HasConstraint(name); i++ {
		name = base + strconv.Itoa(i)
	}
	return name
}

// pendingCheck is a CHECK constraint of CREATE TABLE, bound once every
// column is known.
type pendingCheck struct {
	name string
	expr *pg.Node
}
