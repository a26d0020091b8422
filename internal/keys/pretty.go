package keys

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Pretty renders a key made of tagged values, in either direction, as a
// human-readable string such as /1/"abc"/NULL/3.5. Strings and byte strings
// are quoted with Go escaping. Bytes that are not tagged values, such as a
// fixed prefix before the columns of a key, or bytes that fail to decode are
// rendered as one quoted, Go-escaped byte string: Pretty uses the shortest
// such leading run after which the remainder decodes completely as tagged
// values. Pretty returns "" for an empty key.
func Pretty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if !decodesFully(b[i:]) {
			continue
		}
		if i > 0 {
			sb.WriteByte('/')
			sb.WriteString(strconv.Quote(string(b[:i])))
		}
		for r := b[i:]; len(r) > 0; {
			s, rest, _ := prettyValue(r)
			sb.WriteByte('/')
			sb.WriteString(s)
			r = rest
		}
		return sb.String()
	}
	return "/" + strconv.Quote(string(b))
}

// decodesFully reports whether b is a non-empty sequence of tagged values.
func decodesFully(b []byte) bool {
	for len(b) > 0 {
		_, rest, ok := prettyValue(b)
		if !ok {
			return false
		}
		b = rest
	}
	return true
}

// prettyValue decodes and renders the tagged value at the start of b.
func prettyValue(b []byte) (string, []byte, bool) {
	t, dir := tagType(b[0])
	switch t {
	case Null:
		return "NULL", b[1:], true
	case Int:
		v, rest, err := decodeInt(b, dir)
		if err != nil {
			return "", b, false
		}
		return strconv.FormatInt(v, 10), rest, true
	case Float:
		f, rest, err := decodeFloat(b, dir)
		if err != nil {
			return "", b, false
		}
		return formatFloat(f), rest, true
	case Bool:
		v, rest, err := decodeBool(b, dir)
		if err != nil {
			return "", b, false
		}
		return strconv.FormatBool(v), rest, true
	case String:
		v, rest, err := decodeTaggedEscaped(b, dir, "string")
		if err != nil {
			return "", b, false
		}
		return strconv.Quote(string(v)), rest, true
	case Decimal:
		neg, digits, exp, isNaN, rest, err := decodeDecimal(b, dir)
		if err != nil {
			return "", b, false
		}
		return FormatDecimal(neg, digits, exp, isNaN), rest, true
	case Interval:
		m, d, us, rest, err := decodeInterval(b, dir)
		if err != nil {
			return "", b, false
		}
		return fmt.Sprintf("%dmon%dd%dus", m, d, us), rest, true
	default:
		return "", b, false
	}
}

// formatFloat renders a float64 the way Pretty shows it.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// FormatDecimal renders a decimal given in the scientific form used by
// EncodeDecimalAscending as a plain decimal string such as "-12.5", or in
// scientific notation such as "1.5e+100" when the exponent is far from
// zero. It returns "NaN" for NaN and "0" for zero. Digits are not
// normalized; pass the normalized form returned by the Decode functions.
func FormatDecimal(neg bool, digits string, exp int32, isNaN bool) string {
	if isNaN {
		return "NaN"
	}
	if digits == "" {
		return "0"
	}
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	n, e := int64(len(digits)), int64(exp)
	switch {
	case e < -20 || e > 40:
		sb.WriteByte(digits[0])
		if n > 1 {
			sb.WriteByte('.')
			sb.WriteString(digits[1:])
		}
		sb.WriteByte('e')
		if e-1 >= 0 {
			sb.WriteByte('+')
		}
		sb.WriteString(strconv.FormatInt(e-1, 10))
	case e <= 0:
		sb.WriteString("0.")
		sb.WriteString(strings.Repeat("0", int(-e)))
		sb.WriteString(digits)
	case e >= n:
		sb.WriteString(digits)
		sb.WriteString(strings.Repeat("0", int(e-n)))
	default:
		sb.WriteString(digits[:e])
		sb.WriteByte('.')
		sb.WriteString(digits[e:])
	}
	return sb.String()
}
