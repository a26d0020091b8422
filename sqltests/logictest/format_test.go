package logictest

import "testing"

func TestFormatValue(t *testing.T) {
	const (
		int4    = 23
		numeric = 1700
		float8  = 701
		text    = 25
	)
	for _, tc := range []struct {
		typ  byte
		raw  []byte
		oid  uint32
		want string
	}{
		// NULL prints NULL whatever the letter.
		{'I', nil, int4, "NULL"},
		{'R', nil, float8, "NULL"},
		{'T', nil, text, "NULL"},

		// I: integers as they are; fractions truncated toward zero.
		{'I', []byte("42"), int4, "42"},
		{'I', []byte("-7"), int4, "-7"},
		{'I', []byte("2.7"), numeric, "2"},
		{'I', []byte("-2.7"), numeric, "-2"},
		{'I', []byte("-0.5"), numeric, "0"},
		{'I', []byte("0007.00"), numeric, "7"},
		{'I', []byte("123456789012345678901234.9"), numeric, "123456789012345678901234"},
		{'I', []byte("1e+20"), float8, "100000000000000000000"},
		{'I', []byte("-1.5e-3"), float8, "0"},
		{'I', []byte("NaN"), float8, "0"},
		// I: booleans as 1/0, by the column's type.
		{'I', []byte("t"), boolOID, "1"},
		{'I', []byte("f"), boolOID, "0"},
		// I: text that is not a number reads as atoi would.
		{'I', []byte("12abc"), text, "12"},
		{'I', []byte("abc"), text, "0"},
		{'I', []byte(""), text, "0"},

		// R: %.3f, rounding as C does.
		{'R', []byte("1"), int4, "1.000"},
		{'R', []byte("2.5"), float8, "2.500"},
		{'R', []byte("-2.7"), numeric, "-2.700"},
		{'R', []byte("0.0005"), numeric, "0.001"},
		{'R', []byte("0.0015"), float8, "0.002"}, // 0.0015 is 0.00150000000000000003 as a double
		{'R', []byte("-0.0004"), float8, "-0.000"},
		{'R', []byte("1e+20"), float8, "100000000000000000000.000"},
		{'R', []byte("t"), boolOID, "1.000"},
		{'R', []byte("Infinity"), float8, "inf"},
		{'R', []byte("-Infinity"), float8, "-inf"},
		{'R', []byte("NaN"), float8, "nan"},
		{'R', []byte("x"), text, "0.000"},

		// T: the server's text; (empty); control and non-ASCII bytes as @.
		{'T', []byte("hello world"), text, "hello world"},
		{'T', []byte(""), text, "(empty)"},
		{'T', []byte("t"), boolOID, "t"},
		{'T', []byte("2.70"), numeric, "2.70"},
		{'T', []byte("a\tb\nc\x7fd\x1f"), text, "a@b@c@d@"},
		{'T', []byte("~ é"), text, "~ @@"},
	} {
		if got := formatValue(tc.typ, tc.raw, tc.oid); got != tc.want {
			t.Errorf("formatValue(%c, %q, %d) = %q, want %q", tc.typ, tc.raw, tc.oid, got, tc.want)
		}
	}
}
