package planner

import (
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// Column is one column of a table.
type Column struct {
	ID       uint32
	Name     string
	Type     types.T
	Nullable bool
	Hidden   bool
	// Default is the SQL text of the DEFAULT expression, "" for none.
	Default string
	// RowID marks the implicit unique row id of a table without a primary key.
	RowID bool
	// Identity is IdentityAlways or IdentityByDefault for an identity
	// column, "" otherwise.
	Identity string
	// OwnedSeq is the id of the sequence the column owns (SERIAL, identity).
	OwnedSeq uint32
	// Missing, when HasMissing, is what rows written before the column was
	// added (which lack it) read as.
	Missing    types.Datum
	HasMissing bool
}

// Table is a table as the planner sees it.
type Table struct {
	ID      uint32
	Name    string
	Version uint64
	Columns []Column
	// PK holds the ordinals (into Columns) of the primary key, in key order.
	PK     []int
	PKDesc []bool
	// Indexes are the table's secondary indexes.
	Indexes []Index
	// ViewQuery, when set, makes this a view: the SQL of its query.
	ViewQuery string
	// Checks are the CHECK constraints; BoundChecks[i] is Checks[i] bound
	// over the table's row (set by BindChecks).
	Checks      []Check
	BoundChecks []Expr
	// NextColumnID is the id the next added column gets (ids of dropped
	// columns are never reused); 0 means len(Columns)+1.
	NextColumnID uint32
}

// Check is a CHECK constraint: a name and the SQL text of its expression.
type Check struct {
	Name string
	Expr string
}

// Index is a secondary index: its entries are keyed by Cols (then the
// primary key, unless Unique and no column is NULL) and hold the row key.
type Index struct {
	ID     uint32
	Name   string
	Cols   []int // ordinals into Table.Columns
	Desc   []bool
	Unique bool
}

// IndexByName returns the named index, or nil.
func (t *Table) IndexByName(name string) *Index {
	for i := range t.Indexes {
		if t.Indexes[i].Name == name {
			return &t.Indexes[i]
		}
	}
	return nil
}

// ColumnIndex returns the ordinal of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// PKName is the name of the primary-key constraint, as PostgreSQL names it.
func (t *Table) PKName() string { return t.Name + "_pkey" }

// PKTypes returns the types of the primary-key columns.
func (t *Table) PKTypes() []types.T {
	out := make([]types.T, len(t.PK))
	for i, o := range t.PK {
		out[i] = t.Columns[o].Type
	}
	return out
}

// Catalog looks tables up by name.
type Catalog interface {
	// Table returns the table, or an error with SQLSTATE 42P01.
	Table(name string) (*Table, error)
}

// UndefinedTable is the error for a missing table.
func UndefinedTable(name string) error {
	return pgerr.New(pgerr.UndefinedTable, "relation %q does not exist", name)
}

func (t *Table) rowSpan() (start, end []byte) { return keys.RowSpan(t.ID) }
