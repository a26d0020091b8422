package logictest

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// boolOID is the type OID of PostgreSQL's boolean.
const boolOID = 16

// formatValue renders one value of a result the way SQLite's sqllogictest
// runner does, by the type letter of the query's column, not by the
// column's SQL type:
//
//   - NULL (raw == nil) is "NULL" for every letter.
//   - 'T': the server's text; an empty string is "(empty)" and every byte
//     below 0x20 or above 0x7e (control characters, DEL and the bytes of
//     non-ASCII UTF-8) becomes '@'.
//   - 'I': an integer: a boolean is 1 or 0, a number with a fraction is
//     truncated toward zero, text that is not a number gives its leading
//     integer (0 if none), as C's conversions do.
//   - 'R': "%.3f" of the value as a float64 (a boolean is 1 or 0).
func formatValue(typ byte, raw []byte, oid uint32) string {
	if raw == nil {
		return "NULL"
	}
	s := string(raw)
	switch typ {
	case 'I':
		if oid == boolOID {
			return boolDigit(s)
		}
		return formatInt(s)
	case 'R':
		if oid == boolOID {
			return boolDigit(s) + ".000"
		}
		return formatReal(s)
	}
	return formatText(s)
}

// boolDigit maps PostgreSQL's boolean text to 1 or 0.
func boolDigit(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "t", "true", "1", "on", "yes", "y":
		return "1"
	}
	return "0"
}

// formatText applies the T rules to a non-NULL value.
func formatText(s string) string {
	if s == "" {
		return "(empty)"
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '@'
		}
	}
	return string(b)
}

// formatInt applies the I rules to a non-NULL, non-boolean value.
func formatInt(s string) string {
	t := strings.TrimSpace(s)
	if d, ok := decimalIntPart(t); ok {
		return d
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil || isRangeErr(err) {
		if math.IsNaN(f) {
			return "0"
		}
		if math.IsInf(f, 0) {
			// C's conversion of an infinity to an integer is undefined;
			// print the float's own text rather than invent a number.
			return formatCFloat(f)
		}
		i, _ := new(big.Float).SetFloat64(math.Trunc(f)).Int(nil)
		return i.String()
	}
	// Not a number: the leading integer, as atoi would read it.
	d, _ := decimalIntPart(leadingInteger(t))
	if d == "" {
		return "0"
	}
	return d
}

// decimalIntPart returns the integer part (truncated toward zero, no
// leading zeros, no "-0") of a plain decimal number [+-]digits[.digits].
func decimalIntPart(s string) (string, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[start:i]
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			fracDigits++
		}
	}
	if i != len(s) || (intPart == "" && fracDigits == 0) {
		return "", false
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		return "0", true
	}
	if neg {
		return "-" + intPart, true
	}
	return intPart, true
}

// leadingInteger returns the longest prefix of s of the form [+-]digits.
func leadingInteger(s string) string {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return ""
	}
	return s[:j]
}

// formatReal applies the R rules to a non-NULL, non-boolean value.
func formatReal(s string) string {
	t := strings.TrimSpace(s)
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !isRangeErr(err) {
		f = leadingFloat(t)
	}
	return formatCFloat(f)
}

// formatCFloat is C's printf("%.3f"), including its spelling of the
// special values.
func formatCFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

// leadingFloat parses the longest numeric prefix of s, as atof does.
func leadingFloat(s string) float64 {
	for n := min(len(s), 64); n > 0; n-- {
		if f, err := strconv.ParseFloat(s[:n], 64); err == nil {
			return f
		}
	}
	return 0
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
