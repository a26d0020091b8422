package keys

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Decimal encoding. After the type tag comes a class byte:
//
//	decNeg  then the complement of (exponent, digits) of the absolute value
//	decZero and nothing else
//	decPos  then exponent and digits
//	decNaN  and nothing else
//
// The exponent is 4 big-endian bytes with the sign bit flipped. Digits are
// packed two to a byte as (d1+1)*11 + (d2+1), a final odd digit as
// (d+1)*11, and terminated by 0x00; every packed byte lies in [11, 120].
// Because the digit string of a normalized value has no leading zero, a
// larger exponent means a larger magnitude, and for equal exponents the
// packed digits compare like the digit strings with a prefix sorting
// first, which is the numeric order of 0.DIGITS. Negative values store the
// complement so larger magnitudes sort first.
const (
	decNeg  byte = 0x01
	decZero byte = 0x02
	decPos  byte = 0x03
	decNaN  byte = 0x04
)

const (
	digitBase    = 11 // radix of a packed digit pair, 0 meaning "no digit"
	minPacked    = 11
	maxPacked    = 120
	digitsEndTag = 0x00
)

// EncodeDecimalAscending appends the ascending encoding of a NUMERIC value
// given in scientific form (neg ? -1 : 1) * 0.DIGITS * 10^exp, where digits
// holds ASCII decimal digits, or of NaN when isNaN is true (neg, digits and
// exp are then ignored). NaN sorts after every number. Zero is digits == ""
// (neg and exp are ignored). Leading and trailing zeros in digits are
// removed, adjusting exp for leading zeros, so every value has exactly one
// encoding. It panics if digits contains a byte that is not a decimal digit
// or if removing leading zeros underflows exp; both are programming errors.
func EncodeDecimalAscending(b []byte, neg bool, digits string, exp int32, isNaN bool) []byte {
	return encodeDecimal(b, neg, digits, exp, isNaN)
}

// EncodeDecimalDescending appends the descending encoding of a NUMERIC
// value, the bitwise complement of its ascending encoding. The arguments are
// as for EncodeDecimalAscending.
func EncodeDecimalDescending(b []byte, neg bool, digits string, exp int32, isNaN bool) []byte {
	start := len(b)
	return invert(encodeDecimal(b, neg, digits, exp, isNaN), start)
}

// DecodeDecimalAscending decodes a value written by EncodeDecimalAscending.
// It returns the normalized form: digits has no leading or trailing zeros,
// zero is neg == false, digits == "", exp == 0, and NaN is isNaN == true with
// the other results zero.
func DecodeDecimalAscending(b []byte) (neg bool, digits string, exp int32, isNaN bool, rest []byte, err error) {
	return decodeDecimal(b, asc)
}

// DecodeDecimalDescending decodes a value written by
// EncodeDecimalDescending. Its results are as for DecodeDecimalAscending.
func DecodeDecimalDescending(b []byte) (neg bool, digits string, exp int32, isNaN bool, rest []byte, err error) {
	return decodeDecimal(b, desc)
}

// normalizeDecimal strips leading and trailing zeros from digits, adjusting
// exp for leading zeros. It reports zero as digits == "".
func normalizeDecimal(digits string, exp int32) (string, int32) {
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c < '0' || c > '9' {
			panic(fmt.Sprintf("keys: invalid decimal digit %q in %q", c, digits))
		}
	}
	trimmed := strings.TrimLeft(digits, "0")
	lead := int64(len(digits) - len(trimmed))
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return "", 0
	}
	e := int64(exp) - lead
	if e < math.MinInt32 {
		panic(fmt.Sprintf("keys: decimal exponent underflow normalizing %q with exponent %d", digits, exp))
	}
	return digits, int32(e)
}

func encodeDecimal(b []byte, neg bool, digits string, exp int32, isNaN bool) []byte {
	b = append(b, tagDecimal)
	if isNaN {
		return append(b, decNaN)
	}
	digits, exp = normalizeDecimal(digits, exp)
	if digits == "" {
		return append(b, decZero)
	}
	if neg {
		b = append(b, decNeg)
	} else {
		b = append(b, decPos)
	}
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(exp)^(1<<31))
	for i := 0; i < len(digits); i += 2 {
		x := (digits[i] - '0' + 1) * digitBase
		if i+1 < len(digits) {
			x += digits[i+1] - '0' + 1
		}
		b = append(b, x)
	}
	b = append(b, digitsEndTag)
	if neg {
		invert(b, start)
	}
	return b
}

func decodeDecimal(b []byte, dir byte) (neg bool, digits string, exp int32, isNaN bool, rest []byte, err error) {
	corrupt := func(format string, args ...any) (bool, string, int32, bool, []byte, error) {
		return false, "", 0, false, b, fmt.Errorf("keys: decoding %s decimal: %s: %w",
			dirName(dir), fmt.Sprintf(format, args...), ErrCorrupt)
	}
	r, err := checkTag(b, tagDecimal, dir, "decimal")
	if err != nil {
		return false, "", 0, false, b, err
	}
	if len(r) < 1 {
		return corrupt("missing class byte")
	}
	m := dir // mask for the exponent and digit bytes
	switch r[0] ^ dir {
	case decNaN:
		return false, "", 0, true, r[1:], nil
	case decZero:
		return false, "", 0, false, r[1:], nil
	case decPos:
	case decNeg:
		neg = true
		m ^= 0xFF
	default:
		return corrupt("invalid class byte 0x%02x", r[0])
	}
	r = r[1:]
	if len(r) < 4 {
		return corrupt("need 4 exponent bytes, have %d", len(r))
	}
	exp = int32(binary.BigEndian.Uint32(r) ^ (uint32(m) * 0x01010101) ^ (1 << 31))
	r = r[4:]
	var sb strings.Builder
	for i := 0; ; i++ {
		if i >= len(r) {
			return corrupt("missing digits terminator")
		}
		x := r[i] ^ m
		if x == digitsEndTag {
			rest = r[i+1:]
			break
		}
		if x < minPacked || x > maxPacked {
			return corrupt("invalid digit byte 0x%02x", r[i])
		}
		hi, lo := x/digitBase, x%digitBase
		sb.WriteByte('0' + hi - 1)
		if lo == 0 {
			if i+1 >= len(r) || r[i+1]^m != digitsEndTag {
				return corrupt("odd digit before end of digits")
			}
			continue
		}
		sb.WriteByte('0' + lo - 1)
	}
	digits = sb.String()
	if digits == "" {
		return corrupt("empty digits")
	}
	if digits[0] == '0' || digits[len(digits)-1] == '0' {
		return corrupt("digits %q not normalized", digits)
	}
	return neg, digits, exp, false, rest, nil
}
