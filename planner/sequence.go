package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// SequenceOpts are a sequence's options (PostgreSQL's pg_sequence row).
type SequenceOpts struct {
	Type      types.T
	Increment int64
	Min, Max  int64
	Start     int64
	Cache     int64
	Cycle     bool
}

// SeqOption is one option of CREATE/ALTER SEQUENCE as written.
type SeqOption struct {
	// Name is as, increment, minvalue, maxvalue, start, restart, cache or cycle.
	Name string
	// HasValue is false for NO MINVALUE, NO MAXVALUE and a bare RESTART.
	HasValue bool
	Int      int64
	Type     types.T
	Bool     bool
}

// OwnedSequence is a sequence CREATE TABLE creates for a SERIAL or identity
// column Col; Name is the name PostgreSQL would try first.
type OwnedSequence struct {
	Col           int
	Table, Column string
	Name          string
	Opts          SequenceOpts
}

// CreateSequence creates a sequence.
type CreateSequence struct {
	Name        string
	IfNotExists bool
	Opts        SequenceOpts
}

// AlterSequence changes a sequence's options; the options are applied to
// the stored ones with ApplySequenceOptions when it runs.
type AlterSequence struct {
	Name     string
	IfExists bool
	Options  []SeqOption
}

// DropSequence drops sequences.
type DropSequence struct {
	Names    []string
	IfExists bool
}

func (*CreateSequence) plan() {}
func (*AlterSequence) plan()  {}
func (*DropSequence) plan()   {}

// Identity kinds of a column (Column.Identity).
const (
	IdentityAlways    = "a"
	IdentityByDefault = "d"
)

// sequenceFuncs are the functions that read or change sequences. They are
// volatile: evaluated on every call, never moved or folded.
var sequenceFuncs = map[string]bool{
	"nextval": true, "currval": true, "setval": true, "lastval": true,
	// pg_sequence_last_value is NULL until the first nextval;
	// shardsql_sequence_last_value is the stored value regardless (the
	// last_value column of a sequence read as a relation).
	"pg_sequence_last_value": true, "shardsql_sequence_last_value": true,
}

// IsSequenceFunc reports whether a function is one of the sequence functions.
func IsSequenceFunc(name string) bool { return sequenceFuncs[name] }

func buildCreateSequence(cs *pg.CreateSeqStmt) (Plan, error) {
	if cs.Sequence.Schemaname != "" && cs.Sequence.Schemaname != "public" {
		return nil, pgerr.New("3F000", "schema %q does not exist", cs.Sequence.Schemaname)
	}
	opts, err := parseSeqOptions(cs.Options)
	if err != nil {
		return nil, err
	}
	var o SequenceOpts
	if _, err := o.Apply(opts, true); err != nil {
		return nil, err
	}
	return &CreateSequence{Name: cs.Sequence.Relname, IfNotExists: cs.IfNotExists, Opts: o}, nil
}

func buildAlterSequence(as *pg.AlterSeqStmt) (Plan, error) {
	opts, err := parseSeqOptions(as.Options)
	if err != nil {
		return nil, err
	}
	return &AlterSequence{Name: as.Sequence.Relname, IfExists: as.MissingOk, Options: opts}, nil
}

// parseSeqOptions reads the DefElem list of CREATE/ALTER SEQUENCE (or of an
// identity column).
func parseSeqOptions(nodes []*pg.Node) ([]SeqOption, error) {
	var out []SeqOption
	seen := map[string]bool{}
	for _, n := range nodes {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		if d.Defname == "sequence_name" {
			continue
		}
		if seen[d.Defname] {
			return nil, errAt(pgerr.SyntaxError, d.Location, "conflicting or redundant options")
		}
		seen[d.Defname] = true
		o := SeqOption{Name: d.Defname, HasValue: d.Arg != nil}
		switch d.Defname {
		case "as":
			t, err := typeFromName(d.Arg.GetTypeName())
			if err != nil {
				return nil, err
			}
			if t.Family != types.IntFamily {
				return nil, pgerr.New(pgerr.InvalidParameterValue, "sequence type must be smallint, integer, or bigint")
			}
			o.Type = t
		case "cycle":
			o.Bool = d.Arg.GetBoolean().GetBoolval()
		case "increment", "minvalue", "maxvalue", "start", "restart", "cache":
			if d.Arg == nil {
				break
			}
			switch {
			case d.Arg.GetInteger() != nil:
				o.Int = int64(d.Arg.GetInteger().Ival)
			case d.Arg.GetFloat() != nil:
				text := d.Arg.GetFloat().Fval
				v, err := strconv.ParseInt(text, 10, 64)
				if err != nil {
					return nil, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type bigint: %q", text)
				}
				o.Int = v
			default:
				return nil, pgerr.New(pgerr.SyntaxError, "%s requires a numeric value", d.Defname)
			}
		default:
			return nil, errAt(pgerr.FeatureNotSupported, d.Location, "sequence option %s is not supported yet", strings.ToUpper(d.Defname))
		}
		out = append(out, o)
	}
	return out, nil
}

// typeBounds returns the range of an integer type.
func typeBounds(t types.T) (int64, int64) {
	switch t.Width {
	case 16:
		return math.MinInt16, math.MaxInt16
	case 32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// Apply applies opts to o with PostgreSQL's rules (init_params): isInit
// for CREATE SEQUENCE fills in every default. It returns the RESTART value
// when opts restart the sequence.
func (o *SequenceOpts) Apply(opts []SeqOption, isInit bool) (restart *int64, err error) {
	by := map[string]*SeqOption{}
	for i := range opts {
		by[opts[i].Name] = &opts[i]
	}
	resetMax, resetMin := false, false
	if isInit || o.Type.Family != types.IntFamily {
		o.Type = types.Int8
	}
	if a := by["as"]; a != nil {
		lo, hi := typeBounds(o.Type)
		if !isInit {
			resetMax = (o.Increment > 0 && o.Max == hi) || (o.Increment < 0 && o.Max == -1)
			resetMin = (o.Increment > 0 && o.Min == 1) || (o.Increment < 0 && o.Min == lo)
		}
		o.Type = a.Type
	}
	if a := by["increment"]; a != nil {
		if a.Int == 0 {
			return nil, pgerr.New(pgerr.InvalidParameterValue, "INCREMENT must not be zero")
		}
		o.Increment = a.Int
	} else if isInit {
		o.Increment = 1
	}
	if a := by["cycle"]; a != nil {
		o.Cycle = a.Bool
	} else if isInit {
		o.Cycle = false
	}
	lo, hi := typeBounds(o.Type)
	if a := by["maxvalue"]; a != nil && a.HasValue {
		o.Max = a.Int
	} else if isInit || a != nil || resetMax {
		if o.Increment > 0 || resetMax {
			o.Max = hi
		} else {
			o.Max = -1
		}
	}
	if o.Max < lo || o.Max > hi {
		return nil, pgerr.New(pgerr.InvalidParameterValue, "MAXVALUE (%d) is out of range for sequence data type %s", o.Max, o.Type)
	}
	if a := by["minvalue"]; a != nil && a.HasValue {
		o.Min = a.Int
	} else if isInit || a != nil || resetMin {
		if o.Increment < 0 || resetMin {
			o.Min = lo
		} else {
			o.Min = 1
		}
	}
	if o.Min < lo || o.Min > hi {
		return nil, pgerr.New(pgerr.InvalidParameterValue, "MINVALUE (%d) is out of range for sequence data type %s", o.Min, o.Type)
	}
	if o.Min >= o.Max {
		return nil, pgerr.New(pgerr.InvalidParameterValue, "MINVALUE (%d) must be less than MAXVALUE (%d)", o.Min, o.Max)
	}
	if a := by["start"]; a != nil {
		o.Start = a.Int
	} else if isInit {
		if o.Increment > 0 {
			o.Start = o.Min
		} else {
			o.Start = o.Max
		}
	}
	if o.Start < o.Min {
		return nil, pgerr.New(pgerr.InvalidParameterValue, "START value (%d) cannot be less than MINVALUE (%d)", o.Start, o.Min)
	}
	if o.Start > o.Max {
		return nil, pgerr.New(pgerr.InvalidParameterValue, "START value (%d) cannot be greater than MAXVALUE (%d)", o.Start, o.Max)
	}
	if a := by["restart"]; a != nil {
		v := o.Start
		if a.HasValue {
			v = a.Int
		}
		if v < o.Min {
			return nil, pgerr.New(pgerr.InvalidParameterValue, "RESTART value (%d) cannot be less than MINVALUE (%d)", v, o.Min)
		}
		if v > o.Max {
			return nil, pgerr.New(pgerr.InvalidParameterValue, "RESTART value (%d) cannot be greater than MAXVALUE (%d)", v, o.Max)
		}
		restart = &v
	}
	if a := by["cache"]; a != nil {
		if a.Int <= 0 {
			return nil, pgerr.New(pgerr.InvalidParameterValue, "CACHE (%d) must be greater than zero", a.Int)
		}
		o.Cache = a.Int
	} else if isInit {
		o.Cache = 1
	}
	return restart, nil
}

// serialType returns the column type of a SERIAL type name, ok false for
// other types.
func serialType(tn *pg.TypeName) (types.T, bool) {
	if len(tn.Names) != 1 || len(tn.ArrayBounds) > 0 {
		return types.T{}, false
	}
	switch tn.Names[0].GetString_().GetSval() {
	case "smallserial", "serial2":
		return types.Int2, true
	case "serial", "serial4":
		return types.Int4, true
	case "bigserial", "serial8":
		return types.Int8, true
	}
	return types.T{}, false
}

// ownedSequence makes the sequence of a SERIAL or identity column (the
// sequence's type is the column's).
func ownedSequence(table string, col int, c Column, opts []SeqOption) (OwnedSequence, error) {
	o := SequenceOpts{}
	if c.Type.Family != types.IntFamily {
		return OwnedSequence{}, pgerr.New(pgerr.InvalidParameterValue, "identity column type must be smallint, integer, or bigint")
	}
	all := append([]SeqOption{{Name: "as", HasValue: true, Type: c.Type}}, opts...)
	for _, x := range opts {
		if x.Name == "as" {
			return OwnedSequence{}, pgerr.New(pgerr.SyntaxError, "conflicting or redundant options")
		}
	}
	if _, err := o.Apply(all, true); err != nil {
		return OwnedSequence{}, err
	}
	return OwnedSequence{Col: col, Table: table, Column: c.Name, Name: SerialSequenceName(table, c.Name, 0), Opts: o}, nil
}

// SerialSequenceName is the name PostgreSQL gives the sequence of a SERIAL
// or identity column, on its pass-th try when the earlier names are taken
// (makeObjectName: the parts are shortened to fit 63 bytes).
func SerialSequenceName(table, column string, pass int) string {
	label := "seq"
	if pass > 0 {
		label += strconv.Itoa(pass)
	}
	avail := 63 - (len(label) + 2)
	t, c := len(table), len(column)
	for t+c > avail {
		if t > c {
			t--
		} else {
			c--
		}
	}
	return clipUTF8(table, t) + "_" + clipUTF8(column, c) + "_" + label
}

// clipUTF8 cuts s to at most n bytes without splitting a character.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// serialColumn turns a SERIAL column into its integer column (NOT NULL)
// and the sequence it owns.
func serialColumn(t *Table, cd *pg.ColumnDef, col *Column) (*OwnedSequence, error) {
	typ, ok := serialType(cd.TypeName)
	if !ok {
		return nil, nil
	}
	col.Type, col.Nullable = typ, false
	for _, cn := range cd.Constraints {
		switch cn.GetConstraint().Contype {
		case pg.ConstrType_CONSTR_DEFAULT:
			return nil, pgerr.New(pgerr.SyntaxError, "multiple default values specified for column %q of table %q", cd.Colname, t.Name)
		case pg.ConstrType_CONSTR_IDENTITY:
			return nil, pgerr.New(pgerr.SyntaxError, "both default and identity specified for column %q of table %q", cd.Colname, t.Name)
		}
	}
	o, err := ownedSequence(t.Name, len(t.Columns), *col, nil)
	return &o, err
}

// identityColumn applies GENERATED ... AS IDENTITY to col and returns the
// sequence it owns.
func identityColumn(t *Table, cd *pg.ColumnDef, col *Column, c *pg.Constraint) (*OwnedSequence, error) {
	for _, cn := range cd.Constraints {
		if cn.GetConstraint().Contype == pg.ConstrType_CONSTR_DEFAULT {
			return nil, pgerr.New(pgerr.SyntaxError, "both default and identity specified for column %q of table %q", cd.Colname, t.Name)
		}
	}
	if col.Identity != "" {
		return nil, pgerr.New(pgerr.SyntaxError, "multiple identity specifications for column %q of table %q", cd.Colname, t.Name)
	}
	opts, err := parseSeqOptions(c.Options)
	if err != nil {
		return nil, err
	}
	o, err := ownedSequence(t.Name, len(t.Columns), *col, opts)
	if err != nil {
		return nil, err
	}
	col.Identity = IdentityByDefault
	if c.GeneratedWhen == "a" {
		col.Identity = IdentityAlways
	}
	col.Nullable = false
	return &o, nil
}

// NextvalDefault is the DEFAULT expression of a column fed by sequence seq.
func NextvalDefault(seq string) string {
	return fmt.Sprintf("nextval(%s::regclass)", quoteLiteral(quoteIdentIfNeeded(seq)))
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdentIfNeeded quotes a name the way regclass output does.
func quoteIdentIfNeeded(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && (r >= '0' && r <= '9' || r == '$')) {
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ParseRegclass reads a relation name as text-to-regclass does: unquoted
// parts are lower-cased, "public." is dropped. ok is false for a name in
// another schema or a malformed one.
func ParseRegclass(s string) (name string, ok bool) {
	var parts []string
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var part strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			for {
				if i >= len(s) {
					return "", false
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						part.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				part.WriteByte(s[i])
				i++
			}
		} else {
			j := i
			for i < len(s) && s[i] != '.' && s[i] != ' ' {
				i++
			}
			if i == j {
				return "", false
			}
			part.WriteString(strings.ToLower(s[j:i]))
		}
		parts = append(parts, part.String())
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			break
		}
		if s[i] != '.' {
			return "", false
		}
		i++
	}
	switch {
	case len(parts) == 1:
		return parts[0], true
	case len(parts) == 2 && parts[0] == "public":
		return parts[1], true
	}
	return strings.Join(parts, "."), false
}

// buildSeqFunc types a call of nextval, currval, setval or lastval. The
// sequence argument is text (a regclass literal is taken as its text);
// the call yields bigint.
func (s *scope) buildSeqFunc(name string, fc *pg.FuncCall) (Expr, error) {
	want := map[string][2]int{"nextval": {1, 1}, "currval": {1, 1}, "setval": {2, 3}, "lastval": {0, 0},
		"pg_sequence_last_value": {1, 1}, "shardsql_sequence_last_value": {1, 1}}[name]
	if len(fc.Args) < want[0] || len(fc.Args) > want[1] || fc.AggStar || fc.AggDistinct {
		return nil, errAt(pgerr.UndefinedFunction, fc.Location, "function %s with %d arguments does not exist", name, len(fc.Args))
	}
	args := make([]Expr, len(fc.Args))
	for i, a := range fc.Args {
		if tc := a.GetTypeCast(); i == 0 && tc != nil && len(tc.TypeName.Names) > 0 &&
			tc.TypeName.Names[len(tc.TypeName.Names)-1].GetString_().GetSval() == "regclass" {
			a = tc.Arg
		}
		e, err := s.buildExpr(a)
		if err != nil {
			return nil, err
		}
		want := types.Int8
		switch {
		case i == 0:
			want = types.Text
		case i == 2:
			want = types.Bool
		}
		if e.Type().Family == types.UnknownFamily || i == 0 && e.Type().Family == types.StringFamily {
			e, err = castTo(e, want)
		} else if e.Type().Family == want.Family {
			e, err = castTo(e, want)
		} else {
			err = errAt(pgerr.UndefinedFunction, fc.Location, "function %s(%s) does not exist", name, joinTypes(args[:i], e.Type()))
		}
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	return &Func{Name: name, Args: args, T: types.Int8}, nil
}

func joinTypes(prev []Expr, t types.T) string {
	var parts []string
	for _, e := range prev {
		parts = append(parts, e.Type().String())
	}
	return strings.Join(append(parts, t.String()), ", ")
}

// identityInsert applies the rules of identity columns to an INSERT into
// the target columns: a value for a GENERATED ALWAYS column is an error
// unless OVERRIDING SYSTEM VALUE; OVERRIDING USER VALUE replaces values
// for identity columns by their defaults (VALUES lists are rewritten).
func identityInsert(t *Table, targets []int, is *pg.InsertStmt) error {
	sel := is.SelectStmt.GetSelectStmt()
	for j, ord := range targets {
		c := t.Columns[ord]
		if c.Identity == "" {
			continue
		}
		switch is.Override {
		case pg.OverridingKind_OVERRIDING_SYSTEM_VALUE:
			continue
		case pg.OverridingKind_OVERRIDING_USER_VALUE:
			if sel != nil && len(sel.ValuesLists) > 0 {
				for _, vl := range sel.ValuesLists {
					if items := vl.GetList().GetItems(); j < len(items) {
						items[j] = &pg.Node{Node: &pg.Node_SetToDefault{SetToDefault: &pg.SetToDefault{}}}
					}
				}
				continue
			}
			return pgerr.New(pgerr.FeatureNotSupported, "OVERRIDING USER VALUE with a query is not supported yet")
		}
		if c.Identity != IdentityAlways {
			continue
		}
		// INSERT ... SELECT gives a value; DEFAULT VALUES (no statement)
		// does not; a VALUES list does unless it says DEFAULT.
		explicit := sel != nil && len(sel.ValuesLists) == 0
		if sel != nil && !explicit {
			for _, vl := range sel.ValuesLists {
				if items := vl.GetList().GetItems(); j < len(items) && items[j].GetSetToDefault() == nil {
					explicit = true
				}
			}
		}
		if explicit {
			return pgerr.New("428C9", "cannot insert a non-DEFAULT value into column %q", c.Name).
				WithDetail("Column %q is an identity column defined as GENERATED ALWAYS.", c.Name).
				WithHint("Use OVERRIDING SYSTEM VALUE to override.")
		}
	}
	return nil
}

// identityUpdate rejects setting a GENERATED ALWAYS column to anything but
// DEFAULT.
func identityUpdate(c Column, val *pg.Node) error {
	if c.Identity == IdentityAlways && val.GetSetToDefault() == nil {
		return pgerr.New("428C9", "column %q can only be updated to DEFAULT", c.Name).
			WithDetail("Column %q is an identity column defined as GENERATED ALWAYS.", c.Name)
	}
	return nil
}

// SequenceRefs returns the sequences a DEFAULT expression's sequence
// function calls name with a constant (the dependencies PostgreSQL
// records for a regclass constant).
func SequenceRefs(def string) []string {
	if !strings.Contains(def, "val(") {
		return nil
	}
	res, err := pg.Parse("SELECT " + def)
	if err != nil || len(res.Stmts) == 0 {
		return nil
	}
	var out []string
	var visit func(m protoreflect.Message)
	visit = func(m protoreflect.Message) {
		if fc, ok := m.Interface().(*pg.FuncCall); ok && IsSequenceFunc(strings.ToLower(funcName(fc))) && len(fc.Args) > 0 {
			a := fc.Args[0]
			if tc := a.GetTypeCast(); tc != nil {
				a = tc.Arg
			}
			if c := a.GetAConst(); c != nil && c.GetSval() != nil {
				if name, ok := ParseRegclass(c.GetSval().Sval); ok {
					out = append(out, name)
				}
			}
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsMap() || fd.Message() == nil:
			case fd.IsList():
				for i := 0; i < v.List().Len(); i++ {
					visit(v.List().Get(i).Message())
				}
			default:
				visit(v.Message())
			}
			return true
		})
	}
	visit(res.Stmts[0].ProtoReflect())
	return out
}

// SequenceView is how the planner sees a sequence named in FROM: a view of
// one row (last_value, log_cnt, is_called), as PostgreSQL shows it (log_cnt
// is always 0 here).
func SequenceView(id uint32, name string) *Table {
	lit := quoteLiteral(quoteIdentIfNeeded(name))
	return &Table{
		ID: id, Name: name,
		ViewQuery: fmt.Sprintf("SELECT shardsql_sequence_last_value(%s) AS last_value, 0::bigint AS log_cnt, pg_sequence_last_value(%s) IS NOT NULL AS is_called", lit, lit),
		Columns: []Column{
			{ID: 1, Name: "last_value", Type: types.Int8},
			{ID: 2, Name: "log_cnt", Type: types.Int8},
			{ID: 3, Name: "is_called", Type: types.Bool},
		},
	}
}
