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
}

// The types ShardSQL supports.
var (
	Unknown   = T{Family: UnknownFamily}
	Bool      = T{Family: BoolFamily}
	Int2      = T{Family: IntFamily, Width: 16}
	Int4      = T{Family: IntFamily, Width: 32}
	Int8      = T{Family: IntFamily, Width: 64}
	Float8    = T{Family: FloatFamily, Width: 64}
	Numeric   = T{Family: DecimalFamily}
	Text      = T{Family: StringFamily}
	Timestamp = T{Family: TimestampFamily}
	Date      = T{Family: DateFamily}
)

// Varchar returns varchar(n); n = 0 means no limit.
func Varchar(n int) T { return T{Family: StringFamily, Len: n, Varchar: true} }

// OID returns the PostgreSQL type OID.
func (t T) OID() uint32 {
	switch t.Family {
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
		return 701
	case DecimalFamily:
		return 1700
	case StringFamily:
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
	case FloatFamily, TimestampFamily:
		return 8
	case DateFamily:
		return 4
	}
	return -1
}

// Modifier returns the atttypmod of the type (-1 when none).
func (t T) Modifier() int32 {
	if t.Varchar && t.Len > 0 {
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
		return "double precision"
	case DecimalFamily:
		return "numeric"
	case StringFamily:
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
	}
	return "unknown"
}

// Parse returns the type named by a SQL type name such as "int", "bigint",
// "varchar(20)" or "double precision".
func Parse(name string) (T, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.Join(strings.Fields(n), " ")
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
	case "float8", "double precision", "float", "float4", "real":
		return Float8, nil
	case "numeric", "decimal":
		return Numeric, nil
	case "text":
		return Text, nil
	case "varchar", "character varying", "char", "character", "bpchar":
		if arg == "" {
			return Varchar(0), nil
		}
		l, err := strconv.Atoi(arg)
		if err != nil || l <= 0 {
			return T{}, pgerr.New(pgerr.SyntaxError, "invalid length for type %s: %q", base, arg)
		}
		return Varchar(l), nil
	case "timestamp", "timestamp without time zone":
		return Timestamp, nil
	case "date":
		return Date, nil
	}
	return T{}, pgerr.New(pgerr.UndefinedObject, "type %q does not exist", name)
}
