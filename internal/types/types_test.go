package types

import (
	"math"
	"testing"

	"github.com/shardsql/shardsql/internal/pgerr"
)

func TestFormatFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1.5, "1.5"}, {0.1, "0.1"}, {100000, "100000"},
		{123456789, "123456789"}, {1e15, "1e+15"}, {1e14, "100000000000000"}, {0.0001, "0.0001"},
		{0.00001, "1e-05"}, {-2.5e-10, "-2.5e-10"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
		{math.NaN(), "NaN"}, {1.0 / 3, "0.3333333333333333"},
	} {
		if got := FormatFloat(tc.f); got != tc.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestParseDatum(t *testing.T) {
	for _, tc := range []struct {
		t    T
		in   string
		want string
		code string
	}{
		{Int8, " 42 ", "42", ""},
		{Int4, "2147483648", "", pgerr.NumericOutOfRange},
		{Int2, "-32768", "-32768", ""},
		{Int8, "abc", "", pgerr.InvalidTextRep},
		{Int8, "99999999999999999999", "", pgerr.NumericOutOfRange},
		{Bool, "yes", "t", ""},
		{Bool, "maybe", "", pgerr.InvalidTextRep},
		{Float8, "1e3", "1000", ""},
		{Float8, "-Infinity", "-Infinity", ""},
		{Numeric, "1.50", "1.50", ""},
		{Numeric, "x", "", pgerr.InvalidTextRep},
		{Varchar(3), "abcd", "", pgerr.StringDataRightTrunc},
		{Varchar(3), "abc", "abc", ""},
		{Date, "2024-02-29", "2024-02-29", ""},
		{Date, "2023-02-29", "", pgerr.DatetimeFieldOverflow}, // PostgreSQL: date/time field value out of range,
		{Timestamp, "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.5", ""},
		{Timestamp, "1960-01-01 00:00:00", "1960-01-01 00:00:00", ""},
	} {
		d, err := ParseDatum(tc.t, tc.in)
		if tc.code != "" {
			if got := pgerr.Code(err); got != tc.code {
				t.Errorf("ParseDatum(%s, %q): code %s (%v), want %s", tc.t, tc.in, got, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDatum(%s, %q): %v", tc.t, tc.in, err)
			continue
		}
		if got := d.Text(); got != tc.want {
			t.Errorf("ParseDatum(%s, %q) = %q, want %q", tc.t, tc.in, got, tc.want)
		}
	}
}

func TestCast(t *testing.T) {
	for _, tc := range []struct {
		d    Datum
		t    T
		want string
		code string
	}{
		{NewFloat(2.5), Int8, "2", ""}, // round half to even, as PostgreSQL
		{NewFloat(3.5), Int8, "4", ""},
		{NewFloat(1e30), Int8, "", pgerr.NumericOutOfRange},
		{NewInt(70000), Int2, "", pgerr.NumericOutOfRange},
		{NewInt(7), Numeric, "7", ""},
		{NewInt(7), Text, "7", ""},
		{NewString("12"), Int4, "12", ""},
		{NewDate(1), Timestamp, "1970-01-02 00:00:00", ""},
		{NewTimestamp(-1), Date, "1969-12-31", ""},
		{NewBool(true), Text, "true", ""},
		{NewDate(0), Bool, "", pgerr.DatatypeMismatch},
		{Null, Int8, "", ""},
	} {
		d, err := Cast(tc.d, tc.t)
		if tc.code != "" {
			if got := pgerr.Code(err); got != tc.code {
				t.Errorf("Cast(%s, %s): code %s (%v), want %s", tc.d, tc.t, got, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("Cast(%s, %s): %v", tc.d, tc.t, err)
			continue
		}
		if got := d.Text(); got != tc.want {
			t.Errorf("Cast(%s, %s) = %q, want %q", tc.d, tc.t, got, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	dec, _ := ParseDatum(Numeric, "2.5")
	for _, tc := range []struct {
		a, b Datum
		want int
	}{
		{NewInt(1), NewInt(2), -1},
		{NewInt(3), dec, 1},
		{NewFloat(2.5), dec, 0},
		{NewFloat(math.NaN()), NewFloat(math.Inf(1)), 1},
		{NewString("a"), NewString("b"), -1},
		{NewBool(false), NewBool(true), -1},
	} {
		if got := Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestParseType(t *testing.T) {
	for in, want := range map[string]string{
		"INT": "integer", "int8": "bigint", "character varying(10)": "varchar(10)", "VARCHAR": "varchar",
		"double precision": "double precision", "float8": "double precision", "decimal": "numeric",
		"timestamp without time zone": "timestamp", "bool": "boolean", "int2": "smallint", "text": "text",
	} {
		got, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got.String() != want {
			t.Errorf("Parse(%q) = %s, want %s", in, got, want)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q) does not round-trip: %v %v", got.String(), again, err)
		}
	}
	if _, err := Parse("blob"); pgerr.Code(err) != pgerr.UndefinedObject {
		t.Errorf("Parse(blob): %v", err)
	}
}
