package types

import (
	"math/rand"
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/pgerr"
)

func TestNewTypesTextIO(t *testing.T) {
	for _, tc := range []struct {
		t    T
		in   string
		want string
		code string
	}{
		{Float4, "1.1", "1.1", ""},
		{Float4, "1234567", "1.234567e+06", ""},
		{Float4, "123456", "123456", ""},
		{Float4, "0.0001", "0.0001", ""},
		{Float4, "3.4e39", "", pgerr.NumericOutOfRange},
		{Float4, "1e-50", "", pgerr.NumericOutOfRange},
		{Bpchar(3), "a", "a  ", ""},
		{Bpchar(3), "abc   ", "abc", ""},
		{Bpchar(3), "abcd", "", pgerr.StringDataRightTrunc},
		{TimestampTZ, "2024-01-01 00:00:00+00", "2024-01-01 00:00:00+00", ""},
		{TimestampTZ, "2024-01-01 02:30:00+02:30", "2024-01-01 00:00:00+00", ""},
		{TimestampTZ, "2024-01-01T10:00:00.5Z", "2024-01-01 10:00:00.5+00", ""},
		{Timestamp, "2024-01-01 10:00:00+05", "2024-01-01 10:00:00", ""},
		{Timestamp, "2024-02-30", "", pgerr.DatetimeFieldOverflow},
		{Date, "2024-02-29", "2024-02-29", ""},
		{Interval, "1 day 2 hours", "1 day 02:00:00", ""},
		{Interval, "1 mon", "1 mon", ""},
		{Interval, "-1 second", "-00:00:01", ""},
		{Interval, "01:02:03", "01:02:03", ""},
		{Interval, "P1D", "1 day", ""},
		{Interval, "P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06", ""},
		{Interval, "1.5 days", "1 day 12:00:00", ""},
		{Interval, "1.5 months", "1 mon 15 days", ""},
		{Interval, "-1 day +2 hours", "-1 days +02:00:00", ""},
		{Interval, "3 days ago", "-3 days", ""},
		{Interval, "0", "00:00:00", ""},
		{Interval, "2 years 13 mons", "3 years 1 mon", ""},
		{Interval, "1.25 seconds", "00:00:01.25", ""},
		{Interval, "nonsense", "", InvalidDatetimeFormat},
		{Bytea, `\x0102ff`, `\x0102ff`, ""},
		{Bytea, `ab\\c\001`, `\x61625c6301`, ""},
		{Bytea, `\x0`, "", pgerr.InvalidTextRep},
		{UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ""},
		{UUID, "{a0eebc999c0b4ef8bb6d6bb9bd380a11}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ""},
		{UUID, "a0eebc99", "", pgerr.InvalidTextRep},
		{JSONB, `{"b": [1, 2.50], "a": 1, "a": 2, "aa": null}`, `{"a": 2, "b": [1, 2.50], "aa": null}`, ""},
		{JSONB, `"x\ny"`, `"x\ny"`, ""},
		{JSONB, `1e2`, `100`, ""},
		{JSONB, `{"a":}`, "", pgerr.InvalidTextRep},
		{ArrayOf(Int4), "{1, 2 ,3}", "{1,2,3}", ""},
		{ArrayOf(Text), `{"a b",NULL,"null","",x}`, `{"a b",NULL,"null","",x}`, ""},
		{ArrayOf(Text), `{}`, `{}`, ""},
		{ArrayOf(Int4), "{1,a}", "", pgerr.InvalidTextRep},
		{ArrayOf(Int4), "1,2", "", pgerr.InvalidTextRep},
	} {
		d, err := ParseDatum(tc.t, tc.in)
		if tc.code != "" {
			if pe, ok := err.(*pgerr.Error); !ok || pe.Code != tc.code {
				t.Errorf("ParseDatum(%s, %q) = %v, %v; want error %s", tc.t, tc.in, d, err, tc.code)
			}
			continue
		}
		if err != nil || d.Text() != tc.want {
			t.Errorf("ParseDatum(%s, %q) = %q, %v; want %q", tc.t, tc.in, d.Text(), err, tc.want)
		}
	}
}

func TestTypeNamesRoundTrip(t *testing.T) {
	for _, ty := range []T{Float4, Bpchar(3), Bpchar(0), TimestampTZ, Interval, Bytea, UUID, JSONB,
		ArrayOf(Int4), ArrayOf(Text), ArrayOf(Varchar(5)), ArrayOf(Bpchar(2)), ArrayOf(TimestampTZ)} {
		got, err := Parse(ty.String())
		if err != nil || got != ty {
			t.Errorf("Parse(%q) = %v, %v", ty.String(), got, err)
		}
	}
	if ArrayOf(Int4).OID() != 1007 || ArrayOf(Int8).OID() != 1016 || ArrayOf(Text).OID() != 1009 || Float4.OID() != 700 {
		t.Errorf("array OIDs wrong")
	}
}

func TestCompareNewTypes(t *testing.T) {
	p := func(ty T, s string) Datum {
		d, err := ParseDatum(ty, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if Compare(p(Bpchar(5), "ab"), p(Bpchar(3), "ab ")) != 0 {
		t.Errorf("bpchar comparison should ignore trailing blanks")
	}
	if Compare(p(Interval, "1 mon"), p(Interval, "30 days")) != 0 || Compare(p(Interval, "1 day"), p(Interval, "23 hours")) <= 0 {
		t.Errorf("interval comparison")
	}
	if Compare(p(ArrayOf(Int4), "{1,2}"), p(ArrayOf(Int4), "{1,2,0}")) >= 0 || Compare(p(ArrayOf(Int4), "{2}"), p(ArrayOf(Int4), "{1,5}")) <= 0 {
		t.Errorf("array comparison")
	}
	if Compare(p(JSONB, `1.0`), p(JSONB, `1`)) != 0 {
		t.Errorf("jsonb numbers compare by value")
	}
}

func TestSpanArithmetic(t *testing.T) {
	iv := func(s string) Span {
		v, err := ParseInterval(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		v    Span
		f    float64
		want string
	}{
		{iv("1 mon"), 1.5, "1 mon 15 days"},
		{iv("1 day"), 0.5, "12:00:00"},
		{iv("1 hour"), 2, "02:00:00"},
		{iv("1 mon 1 day"), -1, "-1 mons -1 days"},
	} {
		got, err := MulSpan(tc.v, tc.f)
		if err != nil || FormatInterval(got) != tc.want {
			t.Errorf("%s * %v = %s, want %s", FormatInterval(tc.v), tc.f, FormatInterval(got), tc.want)
		}
	}
	ts, _ := ParseDatum(Timestamp, "2024-01-31 10:00:00")
	us, _ := AddSpanToTimestamp(ts.Int(), iv("1 mon"))
	if got := NewTimestamp(us).Text(); got != "2024-02-29 10:00:00" {
		t.Errorf("2024-01-31 10:00 + 1 mon = %s", got)
	}
	a, _ := ParseDatum(Timestamp, "2024-01-02 01:00:00")
	b, _ := ParseDatum(Timestamp, "2024-01-01 00:00:00")
	if d, err := SubTimestamps(a.Int(), b.Int()); err != nil || FormatInterval(d) != "1 day 01:00:00" {
		t.Errorf("timestamp difference = %s, %v", FormatInterval(d), err)
	}
	inf, _ := ParseDatum(Timestamp, "infinity")
	if _, err := SubTimestamps(inf.Int(), b.Int()); err == nil {
		t.Errorf("subtracting an infinite timestamp should fail")
	}
	if inf.Text() != "infinity" || Compare(inf, b) <= 0 {
		t.Errorf("infinity = %s", inf.Text())
	}
}

func TestFormatFloat4Ties(t *testing.T) {
	// -36805130 lies halfway between two float32s; PostgreSQL prints more digits.
	for _, tc := range []struct {
		f    float32
		want string
	}{{-36805128, "-3.6805128e+07"}, {1.5, "1.5"}, {0.1, "0.1"}, {16777216, "1.6777216e+07"}, {123456, "123456"}} {
		if got := FormatFloat4(tc.f); got != tc.want {
			t.Errorf("FormatFloat4(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestIntervalTextRoundTrip(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	for i := 0; i < 5000; i++ {
		v := Span{Months: int32(r.Intn(601) - 300), Days: int32(r.Intn(201) - 100), Micros: r.Int63n(1<<42) - 1<<41}
		switch r.Intn(4) {
		case 0:
			v.Months = 0
		case 1:
			v.Days = 0
		case 2:
			v.Micros = 0
		}
		s := FormatInterval(v)
		got, err := ParseInterval(s)
		if err != nil || got != v {
			t.Fatalf("seed %d: %+v formats as %q, which reads back as %+v, %v", seed, v, s, got, err)
		}
	}
}

func TestIntervalCompareMatchesOrderKey(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	rnd := func() Span {
		return Span{Months: int32(r.Intn(5) - 2), Days: int32(r.Intn(91) - 45), Micros: int64(r.Intn(5)-2) * MicrosPerDay / 2}
	}
	for i := 0; i < 5000; i++ {
		a, b := rnd(), rnd()
		// Model: total microseconds with 30-day months, in int64 (small values).
		ta := (int64(a.Months)*30+int64(a.Days))*MicrosPerDay + a.Micros
		tb := (int64(b.Months)*30+int64(b.Days))*MicrosPerDay + b.Micros
		want := 0
		if ta < tb {
			want = -1
		} else if ta > tb {
			want = 1
		}
		if got := Compare(NewInterval(a), NewInterval(b)); got != want {
			t.Fatalf("seed %d: Compare(%v, %v) = %d, want %d", seed, FormatInterval(a), FormatInterval(b), got, want)
		}
	}
}

// TestParseGarbageNeverPanics feeds random strings over the characters the
// parsers care about to every new type's input function.
func TestParseGarbageNeverPanics(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	alphabet := []string{"1", "2", "0", "9", "-", "+", ":", ".", " ", "p", "t", "y", "m", "d", "h", "s", "day", "mon",
		"ago", "@", "{", "}", ",", "\"", "\\", "x", "ff", "e", "z", "NULL", "[", "]", "null", "true", "infinity", "'"}
	tys := []T{Float4, Bpchar(3), TimestampTZ, Timestamp, Date, Interval, Bytea, UUID, JSONB, ArrayOf(Int4),
		ArrayOf(Text), ArrayOf(Interval), ArrayOf(JSONB)}
	for i := 0; i < 20000; i++ {
		var b []byte
		for n := r.Intn(12); n > 0; n-- {
			b = append(b, alphabet[r.Intn(len(alphabet))]...)
		}
		s := string(b)
		for _, ty := range tys {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("seed %d: ParseDatum(%s, %q) panicked: %v", seed, ty, s, p)
					}
				}()
				d, err := ParseDatum(ty, s)
				if err == nil {
					// What parses must print and parse back to an equal value.
					back, err := ParseDatum(ty, d.Text())
					if err != nil || Compare(back, d) != 0 {
						t.Fatalf("seed %d: %s %q printed as %q, which reads back as %v, %v", seed, ty, s, d.Text(), back, err)
					}
				}
			}()
		}
	}
}

func TestWireDescription(t *testing.T) {
	for _, tc := range []struct {
		t    T
		oid  uint32
		size int16
		mod  int32
	}{
		{Float4, 700, 4, -1}, {Bpchar(3), 1042, -1, 7}, {Bpchar(0), 1042, -1, -1}, {TimestampTZ, 1184, 8, -1},
		{Interval, 1186, 16, -1}, {Bytea, 17, -1, -1}, {UUID, 2950, 16, -1}, {JSONB, 3802, -1, -1},
		{ArrayOf(Int4), 1007, -1, -1}, {ArrayOf(Int8), 1016, -1, -1}, {ArrayOf(Text), 1009, -1, -1},
		{ArrayOf(Varchar(5)), 1015, -1, 9}, {ArrayOf(Float8), 1022, -1, -1}, {ArrayOf(UUID), 2951, -1, -1},
	} {
		if tc.t.OID() != tc.oid || tc.t.Size() != tc.size || tc.t.Modifier() != tc.mod {
			t.Errorf("%s: oid %d size %d mod %d, want %d %d %d", tc.t, tc.t.OID(), tc.t.Size(), tc.t.Modifier(), tc.oid, tc.size, tc.mod)
		}
	}
}
