package types

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shardsql/shardsql/internal/pgerr"
)

// Family groups types that share a representation.
type Family uint8

// Type families.
const (
	UnknownFamily Family = iota // the type of an untyped NULL or string literal
	BoolFamily
	IntFamily
	FloatFamily
	DecimalFamily
	StringFamily
	TimestampFamily
	DateFamily
	TimestampTZFamily
	IntervalFamily
	BytesFamily
	UUIDFamily
	JSONFamily
	ArrayFamily // a one-dimensional array; T.ElemFamily and the other fields describe the element
)

// T is a SQL type.
type T struct {
	Family Family
	// Width is 16, 32 or 64 for integers.
	Width int
	// Len is n of varchar(n); 0 means unbounded (text, or varchar).
	Len int
	// Varchar distinguishes varchar from text.
	Varchar bool
	// Bpchar marks character(n) (blank-padded; Len 0 is bpchar without a limit).
	Bpchar bool
	// ElemFamily is the element family of an array type (Family ArrayFamily);
	// Width, Len, Varchar and Bpchar then describe the element.
	ElemFamily Family
}

// The types ShardSQL supports.
var (
	Unknown   = T{Family: UnknownFamily}
	Bool      = T{Family: BoolFamily}
	Int2      = T{Family: IntFamily, Width: 16}
	Int4      = T{Family: IntFamily, Width: 32}
	Int8      = T{Family: IntFamily, Width: 64}
	Float4    = T{Family: FloatFamily, Width: 32}
	Float8    = T{Family: FloatFamily, Width: 64}
	Numeric   = T{Family: DecimalFamily}
	Text      = T{Family: StringFamily}
	Timestamp = T{Family: TimestampFamily}
	Date      = T{Family: DateFamily}

	TimestampTZ = T{Family: TimestampTZFamily}
	Interval    = T{Family: IntervalFamily}
	Bytea       = T{Family: BytesFamily}
	UUID        = T{Family: UUIDFamily}
	JSONB       = T{Family: JSONFamily}
)

// Bpchar returns character(n); n = 0 means bpchar without a limit.
func Bpchar(n int) T { return T{Family: StringFamily, Len: n, Bpchar: true} }

// ArrayOf returns the one-dimensional array type of elem.
func ArrayOf(elem T) T {
	elem.ElemFamily, elem.Family = elem.Family, ArrayFamily
	return elem
}

// Elem returns the element type of an array type.
func (t T) Elem() T {
	t.Family, t.ElemFamily = t.ElemFamily, UnknownFamily
	return t
}

// IsArray reports whether t is an array type.
func (t T) IsArray() bool { return t.Family == ArrayFamily }

// Keyable reports whether values of t can be primary-key or index columns.
func (t T) Keyable() bool { return t.Family != ArrayFamily }

// Varchar returns varchar(n); n = 0 means no limit.
func Varchar(n int) T { return T{Family: StringFamily, Len: n, Varchar: true} }

// arrayOIDs maps an element type OID to its array type OID.
var arrayOIDs = map[uint32]uint32{
	16: 1000, 21: 1005, 23: 1007, 20: 1016, 700: 1021, 701: 1022, 1700: 1231, 25: 1009,
	1043: 1015, 1042: 1014, 1114: 1115, 1082: 1182, 1184: 1185, 1186: 1187, 17: 1001,
	2950: 2951, 3802: 3807,
}

// OID returns the PostgreSQL type OID.
func (t T) OID() uint32 {
	switch t.Family {
	case ArrayFamily:
		return arrayOIDs[t.Elem().OID()]
	case TimestampTZFamily:
		return 1184
	case IntervalFamily:
		return 1186
	case BytesFamily:
		return 17
	case UUIDFamily:
		return 2950
	case JSONFamily:
		return 3802
	case BoolFamily:
		return 16
	case IntFamily:
		switch t.Width {
		case 16:
			return 21
		case 32:
			return 23
		}
		return 20
	case FloatFamily:
		if t.Width == 32 {
			return 700
		}
		return 701
	case DecimalFamily:
		return 1700
	case StringFamily:
		if t.Bpchar {
			return 1042
		}
		if t.Varchar {
			return 1043
		}
		return 25
	case TimestampFamily:
		return 1114
	case DateFamily:
		return 1082
	}
	return 25 // unknown literals are sent as text, as PostgreSQL does for SELECT NULL
}

// Size returns the pg_type.typlen of the type (-1 for variable length).
func (t T) Size() int16 {
	switch t.Family {
	case BoolFamily:
		return 1
	case IntFamily:
		return int16(t.Width / 8)
	case FloatFamily:
		return int16(t.Width / 8)
	case TimestampFamily, TimestampTZFamily:
		return 8
	case DateFamily:
		return 4
	case IntervalFamily, UUIDFamily:
		return 16
	}
	return -1
}

// Modifier returns the atttypmod of the type (-1 when none).
func (t T) Modifier() int32 {
	if (t.Varchar || t.Bpchar) && t.Len > 0 { // also an array of them, as PostgreSQL reports
		return int32(t.Len + 4)
	}
	return -1
}

// String returns the canonical SQL name, which Parse accepts.
func (t T) String() string {
	switch t.Family {
	case BoolFamily:
		return "boolean"
	case IntFamily:
		switch t.Width {
		case 16:
			return "smallint"
		case 32:
			return "integer"
		}
		return "bigint"
	case FloatFamily:
		if t.Width == 32 {
			return "real"
		}
		return "double precision"
	case DecimalFamily:
		return "numeric"
	case StringFamily:
		if t.Bpchar {
			if t.Len > 0 {
				return fmt.Sprintf("character(%d)", t.Len)
			}
			return "bpchar"
		}
		if t.Varchar {
			if t.Len > 0 {
				return fmt.Sprintf("varchar(%d)", t.Len)
			}
			return "varchar"
		}
		return "text"
	case TimestampFamily:
		return "timestamp"
	case DateFamily:
		return "date"
	case TimestampTZFamily:
		return "timestamp with time zone"
	case IntervalFamily:
		return "interval"
	case BytesFamily:
		return "bytea"
	case UUIDFamily:
		return "uuid"
	case JSONFamily:
		return "jsonb"
	case ArrayFamily:
		return t.Elem().String() + "[]"
	}
	return "unknown"
}

// Parse returns the type named by a SQL type name such as "int", "bigint",
// "varchar(20)" or "double precision".
func Parse(name string) (T, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.Join(strings.Fields(n), " ")
	if strings.HasSuffix(n, "[]") {
		e, err := Parse(strings.TrimSuffix(n, "[]"))
		if err != nil || e.IsArray() {
			return T{}, pgerr.New(pgerr.UndefinedObject, "type %q does not exist", name)
		}
		return ArrayOf(e), nil
	}
	base, arg := n, ""
	if i := strings.IndexByte(n, '('); i >= 0 && strings.HasSuffix(n, ")") {
		base, arg = strings.TrimSpace(n[:i]), strings.TrimSpace(n[i+1:len(n)-1])
	}
	switch base {
	case "bool", "boolean":
		return Bool, nil
	case "int2", "smallint":
		return Int2, nil
	case "int", "int4", "integer":
		return Int4, nil
	case "int8", "bigint":
		return Int8, nil
	case "float8", "double precision", "float":
		return Float8, nil
	case "float4", "real":
		return Float4, nil
	case "numeric", "decimal":
		return Numeric, nil
	case "text":
		return Text, nil
	case "varchar", "character varying", "char", "character", "bpchar":
		l := 0
		if arg != "" {
			var err error
			l, err = strconv.Atoi(arg)
			if err != nil || l <= 0 {
				return T{}, pgerr.New(pgerr.SyntaxError, "invalid length for type %s: %q", base, arg)
			}
		}
		switch base {
		case "char", "character":
			return Bpchar(max(l, 1)), nil
		case "bpchar":
			return Bpchar(l), nil
		}
		return Varchar(l), nil
	case "timestamptz", "timestamp with time zone":
		return TimestampTZ, nil
	case "interval":
		return Interval, nil
	case "bytea":
		return Bytea, nil
	case "uuid":
		return UUID, nil
	case "jsonb":
		return JSONB, nil
	case "timestamp", "timestamp without time zone":
		return Timestamp, nil
	case "date":
		return Date, nil
	}
	return T{}, pgerr.New(pgerr.UndefinedObject, "type %q does not exist", name)
}

// Castable reports whether a value of type from can be cast to type to at
// all (the value may still be out of range or malformed).
func Castable(from, to T) bool {
	num := func(f Family) bool { return f == IntFamily || f == FloatFamily || f == DecimalFamily }
	dt := func(f Family) bool { return f == DateFamily || f == TimestampFamily || f == TimestampTZFamily }
	f, t := from.Family, to.Family
	switch {
	case f == UnknownFamily || t == UnknownFamily || f == StringFamily || t == StringFamily:
		return true
	case f == ArrayFamily && t == ArrayFamily:
		return Castable(from.Elem(), to.Elem())
	case f == t:
		return true
	case num(f) && num(t), dt(f) && dt(t):
		return true
	case f == BoolFamily && t == IntFamily, f == IntFamily && t == BoolFamily:
		return true
	case f == JSONFamily && (num(t) || t == BoolFamily):
		return true
	}
	return false
}
