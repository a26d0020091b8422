package planner

import "github.com/shardsql/shardsql/internal/types"

// Plan is a planned statement.
type Plan interface{ plan() }

// Span is a key span [Start, End).
type Span struct{ Start, End []byte }

// Access says which keys of a table a statement reads.
type Access struct {
	// Point, when set, is the one row key to read (primary-key equality).
	Point []byte
	// Spans are read when Point is nil: a primary-key range, or the whole table.
	Spans []Span
	// Full is true when Spans cover the whole table.
	Full bool
	// Deferred is set when the spans depend on statement parameters: the
	// executor derives them with AccessFor once the values are bound
	// (Point and Spans then hold the whole table).
	Deferred bool
}

// Output is one result column.
type Output struct {
	Name string
	E    Expr
}

// Order is one ORDER BY term.
type Order struct {
	E          Expr
	Desc       bool
	NullsFirst bool
}

// CreateTable creates a table (ID and Version are assigned by the catalog).
type CreateTable struct {
	Table       *Table
	IfNotExists bool
	// Sequences are created with the table for its SERIAL and identity
	// columns (whose defaults are set once their names are chosen).
	Sequences []OwnedSequence
}

// DropTable drops tables.
type DropTable struct {
	Names    []string
	IfExists bool
}

// Insert writes rows; each row of Rows (or of Source) has one value per
// table column.
type Insert struct {
	Table  *Table
	Rows   [][]Expr
	Source Rel
	// OnConflict, when set, handles rows that conflict with a unique key.
	OnConflict *OnConflict
	// Returning, when non-nil, is computed over each written table row.
	Returning []Output
}

// SetCol assigns E to column Ord.
type SetCol struct {
	Ord int
	E   Expr
}

// Update changes the rows Source reads.
type Update struct {
	Table  *Table
	Source *Scan
	Sets   []SetCol
	// From, when set (UPDATE ... FROM), replaces Source: its rows are the
	// target row followed by the FROM items' columns; Sets are over it.
	From Rel
	// Returning, when non-nil, is computed over the new row followed by
	// the FROM items' columns.
	Returning []Output
}

// Delete removes the rows Source reads.
type Delete struct {
	Table  *Table
	Source *Scan
	// Using, when set (DELETE ... USING), replaces Source: its rows are
	// the target row followed by the USING items' columns.
	Using Rel
	// Returning, when non-nil, is computed over the deleted (joined) row.
	Returning []Output
}

// Split splits the table's ranges at the given primary-key prefixes.
type Split struct {
	Table  *Table
	Keys   [][]byte
	Values [][]types.Datum
}

// ShowRanges lists the ranges of a table.
type ShowRanges struct {
	Table *Table
}

func (*CreateTable) plan() {}
func (*DropTable) plan()   {}
func (*Insert) plan()      {}
func (*Update) plan()      {}
func (*Delete) plan()      {}
func (*Split) plan()       {}
func (*ShowRanges) plan()  {}

// CreateIndex adds a secondary index to a table and fills it.
type CreateIndex struct {
	Table       *Table
	Index       Index
	IfNotExists bool
}

// DropIndex removes secondary indexes.
type DropIndex struct {
	Names    []string
	IfExists bool
}

// CreateView stores a view: its query's SQL and result columns.
type CreateView struct {
	Name    string
	Query   string
	Columns []ColInfo
	Replace bool
}

// DropView removes views.
type DropView struct {
	Names    []string
	IfExists bool
}

func (*CreateIndex) plan() {}
func (*DropIndex) plan()   {}
func (*CreateView) plan()  {}
func (*DropView) plan()    {}
