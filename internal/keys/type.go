package keys

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error returned by a Decode function when
// the buffer is truncated, carries an unexpected type tag, or is otherwise
// not a valid encoding.
var ErrCorrupt = errors.New("corrupt key encoding")

// Ascending type tags. The descending tag of a type is the bitwise
// complement of its ascending tag.
const (
	tagNull     byte = 0x00
	tagBool     byte = 0x10
	tagInt      byte = 0x12
	tagFloat    byte = 0x14
	tagDecimal  byte = 0x16
	tagBytes    byte = 0x18
	tagInterval byte = 0x1A
)

// Direction masks: every byte of an encoding is XORed with the mask.
const (
	asc  byte = 0x00
	desc byte = 0xFF
)

// Type identifies the kind of value encoded at the start of a buffer.
type Type int

// The kinds of tagged values. Unknown is the zero value and is reported for
// an empty buffer or an unrecognized tag.
const (
	Unknown Type = iota
	Null
	Int
	Float
	Bool
	String
	Decimal
	Interval
)

// Bytes is the Type of byte strings, which share their encoding with String.
const Bytes = String

// String returns the name of the type.
func (t Type) String() string {
	switch t {
	case Null:
		return "Null"
	case Int:
		return "Int"
	case Float:
		return "Float"
	case Bool:
		return "Bool"
	case String:
		return "String"
	case Decimal:
		return "Decimal"
	case Interval:
		return "Interval"
	default:
		return "Unknown"
	}
}

// PeekType reports the type of the tagged value at the start of b, in
// either direction. It returns Unknown if b is empty or does not start with
// a known tag.
func PeekType(b []byte) Type {
	if len(b) == 0 {
		return Unknown
	}
	t, _ := tagType(b[0])
	return t
}

// tagType maps a tag byte to its Type and direction mask.
func tagType(tag byte) (Type, byte) {
	dir := asc
	if tag >= 0x80 {
		dir = desc
		tag ^= 0xFF
	}
	switch tag {
	case tagNull:
		return Null, dir
	case tagBool:
		return Bool, dir
	case tagInt:
		return Int, dir
	case tagFloat:
		return Float, dir
	case tagDecimal:
		return Decimal, dir
	case tagBytes:
		return String, dir
	case tagInterval:
		return Interval, dir
	default:
		return Unknown, dir
	}
}

// dirName names a direction mask for error messages.
func dirName(dir byte) string {
	if dir == desc {
		return "descending"
	}
	return "ascending"
}

// checkTag verifies that b starts with the tag for the given direction and
// returns the bytes after it.
func checkTag(b []byte, tag, dir byte, what string) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("keys: decoding %s %s: empty buffer: %w", dirName(dir), what, ErrCorrupt)
	}
	if b[0] != tag^dir {
		return nil, fmt.Errorf("keys: decoding %s %s: unexpected tag 0x%02x (want 0x%02x): %w",
			dirName(dir), what, b[0], tag^dir, ErrCorrupt)
	}
	return b[1:], nil
}

// invert XORs every byte of b from index start on with 0xFF in place.
func invert(b []byte, start int) []byte {
	for i := start; i < len(b); i++ {
		b[i] ^= 0xFF
	}
	return b
}
