package keys_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/shardsql/shardsql/internal/keys"
)

// edgeValues lists, per kind, edge values in strictly increasing SQL order
// (NULL first), so list position is the expected order.
func edgeValues() map[kind][]val {
	ints := []int64{math.MinInt64, math.MinInt64 + 1, -1 << 32, -256, -1, 0, 1, 255, 256, 1 << 32, math.MaxInt64 - 1, math.MaxInt64}
	floats := []float64{math.Inf(-1), -math.MaxFloat64, -1e300, -2.5, -1, -math.SmallestNonzeroFloat64, 0,
		math.SmallestNonzeroFloat64, 1e-300, 0.5, 1, 3.5, 1e300, math.MaxFloat64, math.Inf(1), math.NaN()}
	strs := []string{"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01", "a", "a\x00", "a\x00\x00", "a\x01",
		"ab", "a\xff", "b", "\xfe\xff", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}
	decs := []dec{
		{neg: true, digits: "1", exp: math.MaxInt32},
		{neg: true, digits: "9", exp: 400},
		{neg: true, digits: "123456789123456789123456789", exp: 30},
		{neg: true, digits: "2", exp: 1},    // -2
		{neg: true, digits: "15", exp: 1},   // -1.5
		{neg: true, digits: "1", exp: 1},    // -1
		{neg: true, digits: "99", exp: 0},   // -0.99
		{neg: true, digits: "9", exp: 0},    // -0.9
		{neg: true, digits: "1", exp: -500}, // tiny negative
		{neg: true, digits: "1", exp: math.MinInt32},
		{}, // zero
		{digits: "1", exp: math.MinInt32},
		{digits: "1", exp: -500},
		{digits: "1", exp: 0},       // 0.1
		{digits: "1000001", exp: 0}, // 0.1000001
		{digits: "10001", exp: 0},   // 0.10001
		{digits: "101", exp: 0},     // 0.101
		{digits: "11", exp: 0},      // 0.11
		{digits: "9", exp: 0},       // 0.9
		{digits: "99", exp: 0},      // 0.99
		{digits: "999999999", exp: 0},
		{digits: "1", exp: 1},  // 1
		{digits: "15", exp: 1}, // 1.5
		{digits: "2", exp: 1},  // 2
		{digits: "35", exp: 2}, // 35
		{digits: "123456789123456789123456789", exp: 30},
		{digits: "9", exp: 400},
		{digits: "1", exp: math.MaxInt32},
		{digits: "9999999999", exp: math.MaxInt32},
		{nan: true},
	}
	m := map[kind][]val{}
	null := func(k kind) val { return val{kind: k, null: true} }
	m[kindInt] = []val{null(kindInt)}
	for _, i := range ints {
		m[kindInt] = append(m[kindInt], val{kind: kindInt, i: i})
	}
	m[kindFloat] = []val{null(kindFloat)}
	for _, f := range floats {
		m[kindFloat] = append(m[kindFloat], val{kind: kindFloat, f: f})
	}
	m[kindBool] = []val{null(kindBool), {kind: kindBool, b: false}, {kind: kindBool, b: true}}
	m[kindString] = []val{null(kindString)}
	m[kindBytes] = []val{null(kindBytes)}
	for _, s := range strs {
		m[kindString] = append(m[kindString], val{kind: kindString, s: s})
		m[kindBytes] = append(m[kindBytes], val{kind: kindBytes, by: []byte(s)})
	}
	m[kindDecimal] = []val{null(kindDecimal)}
	for _, d := range decs {
		m[kindDecimal] = append(m[kindDecimal], val{kind: kindDecimal, d: d})
	}
	return m
}

func TestEdgeValuesRoundTripAndOrder(t *testing.T) {
	rep := reporter{t: t}
	for k, vals := range edgeValues() {
		for _, descending := range []bool{false, true} {
			encs := make([][]byte, len(vals))
			for i, v := range vals {
				encs[i] = checkRoundTrip(rep, v, descending)
			}
			for i := range encs {
				for j := range encs {
					want := sign(i - j)
					if descending {
						want = -want
					}
					if got := sign(bytes.Compare(encs[i], encs[j])); got != want {
						t.Errorf("%s desc=%v: %v (%x) vs %v (%x): compare %d, want %d",
							k, descending, vals[i], encs[i], vals[j], encs[j], got, want)
					}
				}
			}
		}
	}
}

// TestEdgeValuesInOrderByModel checks that the hand-sorted edge lists agree
// with the reference comparison (including big.Rat for decimals with
// moderate exponents), which validates the model the random tests use.
func TestEdgeValuesInOrderByModel(t *testing.T) {
	for k, vals := range edgeValues() {
		for i := 1; i < len(vals); i++ {
			a, b := vals[i-1], vals[i]
			if k == kindDecimal && (extremeExp(a.d) || extremeExp(b.d)) {
				continue
			}
			if compareVal(a, b) >= 0 {
				t.Errorf("%s: model does not order %v before %v", k, a, b)
			}
		}
	}
}

func extremeExp(d dec) bool { return d.exp > 1000 || d.exp < -1000 }

func TestStringOrderExample(t *testing.T) {
	a := keys.EncodeStringAscending(nil, "a")
	a0 := keys.EncodeStringAscending(nil, "a\x00")
	ab := keys.EncodeStringAscending(nil, "ab")
	if !(bytes.Compare(a, a0) < 0 && bytes.Compare(a0, ab) < 0) {
		t.Errorf("ascending: want \"a\" < \"a\\x00\" < \"ab\", got %x %x %x", a, a0, ab)
	}
	a = keys.EncodeStringDescending(nil, "a")
	a0 = keys.EncodeStringDescending(nil, "a\x00")
	ab = keys.EncodeStringDescending(nil, "ab")
	if !(bytes.Compare(a, a0) > 0 && bytes.Compare(a0, ab) > 0) {
		t.Errorf("descending: want \"a\" > \"a\\x00\" > \"ab\", got %x %x %x", a, a0, ab)
	}
	if s, b := keys.EncodeStringAscending(nil, "x\x00y"), keys.EncodeBytesAscending(nil, []byte("x\x00y")); !bytes.Equal(s, b) {
		t.Errorf("string and bytes encodings differ: %x vs %x", s, b)
	}
	raw := keys.EncodeRawEscaped(nil, []byte("x\x00y"))
	if tagged := keys.EncodeBytesAscending(nil, []byte("x\x00y")); !bytes.Equal(tagged[1:], raw) {
		t.Errorf("raw escaped %x is not the tagged encoding %x without its tag", raw, tagged)
	}
}

func TestDescendingIsInvertedAscending(t *testing.T) {
	for k, vals := range edgeValues() {
		for _, v := range vals {
			a, d := encodeVal(nil, v, false), encodeVal(nil, v, true)
			if len(a) != len(d) {
				t.Fatalf("%s %v: lengths differ: %x vs %x", k, v, a, d)
			}
			for i := range a {
				if a[i]^0xFF != d[i] {
					t.Fatalf("%s %v: descending %x is not the inverse of ascending %x", k, v, d, a)
				}
			}
		}
	}
}

func TestFloatZerosAndNaNs(t *testing.T) {
	negZero := math.Copysign(0, -1)
	if a, b := keys.EncodeFloatAscending(nil, negZero), keys.EncodeFloatAscending(nil, 0); !bytes.Equal(a, b) {
		t.Errorf("-0 encodes as %x, +0 as %x; want equal", a, b)
	}
	f, _, err := keys.DecodeFloatAscending(keys.EncodeFloatAscending(nil, negZero))
	if err != nil || f != 0 || math.Signbit(f) {
		t.Errorf("-0 decoded as %v (signbit %v), %v; want +0", f, math.Signbit(f), err)
	}
	nan1 := keys.EncodeFloatAscending(nil, math.NaN())
	nan2 := keys.EncodeFloatAscending(nil, math.Float64frombits(0xFFF8_0000_0000_0123)) // negative NaN with payload
	if !bytes.Equal(nan1, nan2) {
		t.Errorf("NaNs encode differently: %x vs %x", nan1, nan2)
	}
	if inf := keys.EncodeFloatAscending(nil, math.Inf(1)); bytes.Compare(nan1, inf) <= 0 {
		t.Errorf("NaN %x does not sort after +Inf %x", nan1, inf)
	}
}

func TestDecimalNormalization(t *testing.T) {
	cases := []struct {
		neg        bool
		digits     string
		exp        int32
		wantNeg    bool
		wantDigits string
		wantExp    int32
	}{
		{false, "00120", 3, false, "12", 1},
		{true, "1200", 2, true, "12", 2},
		{true, "000", 7, false, "", 0},
		{false, "", 99, false, "", 0},
		{true, "", -5, false, "", 0},
		{false, "0005", math.MinInt32 + 3, false, "5", math.MinInt32},
	}
	for _, c := range cases {
		enc := keys.EncodeDecimalAscending(nil, c.neg, c.digits, c.exp, false)
		neg, digits, exp, isNaN, rest, err := keys.DecodeDecimalAscending(enc)
		if err != nil || isNaN || len(rest) != 0 || neg != c.wantNeg || digits != c.wantDigits || exp != c.wantExp {
			t.Errorf("decimal (%v, %q, %d): decoded (%v, %q, %d, nan %v, rest %x, %v); want (%v, %q, %d)",
				c.neg, c.digits, c.exp, neg, digits, exp, isNaN, rest, err, c.wantNeg, c.wantDigits, c.wantExp)
		}
	}
	// NaN ignores the other arguments.
	a := keys.EncodeDecimalAscending(nil, true, "123", 5, true)
	b := keys.EncodeDecimalAscending(nil, false, "", 0, true)
	if !bytes.Equal(a, b) {
		t.Errorf("NaN encodings differ: %x vs %x", a, b)
	}
	for _, bad := range []string{"12a", "-1", "1.5", " 1"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("EncodeDecimalAscending with digits %q did not panic", bad)
				}
			}()
			keys.EncodeDecimalAscending(nil, false, bad, 0, false)
		}()
	}
}

// TestTruncatedBuffers checks that every proper prefix of every edge
// encoding fails to decode with ErrCorrupt.
func TestTruncatedBuffers(t *testing.T) {
	for k, vals := range edgeValues() {
		for _, v := range vals {
			if v.null {
				continue
			}
			for _, descending := range []bool{false, true} {
				enc := encodeVal(nil, v, descending)
				for n := 0; n < len(enc); n++ {
					_, _, err := decodeVal(enc[:n:n], k, descending)
					if !errors.Is(err, keys.ErrCorrupt) {
						t.Errorf("%s desc=%v: decoding prefix %x of %x (%v): err = %v, want ErrCorrupt",
							k, descending, enc[:n], enc, v, err)
					}
				}
			}
		}
	}
	for n := 0; n < 8; n++ {
		b := make([]byte, n)
		if _, _, err := keys.DecodeUint64Ascending(b); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("DecodeUint64Ascending(%d bytes): err = %v", n, err)
		}
		if _, _, err := keys.DecodeUint64Descending(b); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("DecodeUint64Descending(%d bytes): err = %v", n, err)
		}
	}
	raw := keys.EncodeRawEscaped(nil, []byte("a\x00b"))
	for n := 0; n < len(raw); n++ {
		if _, _, err := keys.DecodeRawEscaped(raw[:n:n]); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("DecodeRawEscaped(%x): err = %v", raw[:n], err)
		}
	}
}

// TestWrongTagOrDirection checks that decoders reject other kinds and the
// other direction.
func TestWrongTagOrDirection(t *testing.T) {
	samples := map[kind]val{
		kindInt:     {kind: kindInt, i: 7},
		kindFloat:   {kind: kindFloat, f: 7},
		kindBool:    {kind: kindBool, b: true},
		kindString:  {kind: kindString, s: "7"},
		kindDecimal: {kind: kindDecimal, d: dec{digits: "7", exp: 1}},
	}
	for ek, ev := range samples {
		for _, encDesc := range []bool{false, true} {
			enc := encodeVal(nil, ev, encDesc)
			for dk := range samples {
				for _, decDesc := range []bool{false, true} {
					if dk == ek && decDesc == encDesc {
						continue
					}
					if _, _, err := decodeVal(enc, dk, decDesc); !errors.Is(err, keys.ErrCorrupt) {
						t.Errorf("decoding %s (desc=%v) encoding %x as %s (desc=%v): err = %v, want ErrCorrupt",
							ek, encDesc, enc, dk, decDesc, err)
					}
				}
			}
		}
	}
}

func TestCorruptEncodings(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		dec  func([]byte) error
	}{
		{"bool value 2", []byte{0x10, 0x02}, func(b []byte) error { _, _, err := keys.DecodeBoolAscending(b); return err }},
		{"bad escape", []byte{0x18, 'a', 0x00, 0x05}, func(b []byte) error { _, _, err := keys.DecodeBytesAscending(b); return err }},
		{"raw bad escape", []byte{'a', 0x00, 0x00}, func(b []byte) error { _, _, err := keys.DecodeRawEscaped(b); return err }},
		{"float -0", append([]byte{0x14}, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), func(b []byte) error { _, _, err := keys.DecodeFloatAscending(b); return err }},
		{"decimal bad class", []byte{0x16, 0x09}, decodeDecAsc},
		{"decimal empty digits", []byte{0x16, 0x03, 0x80, 0, 0, 0, 0x00}, decodeDecAsc},
		{"decimal digit byte out of range", []byte{0x16, 0x03, 0x80, 0, 0, 0, 0x05, 0x00}, decodeDecAsc},
		{"decimal leading zero", []byte{0x16, 0x03, 0x80, 0, 0, 0, 11 + 2, 0x00}, decodeDecAsc},
		{"decimal trailing zero", []byte{0x16, 0x03, 0x80, 0, 0, 0, 22 + 1, 0x00}, decodeDecAsc},
		{"decimal odd digit mid-string", []byte{0x16, 0x03, 0x80, 0, 0, 0, 22, 22, 0x00}, decodeDecAsc},
	}
	for _, c := range cases {
		if err := c.dec(c.b); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", c.name, err)
		} else if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] || !strings.HasPrefix(msg, "keys: ") {
			t.Errorf("%s: error message %q should be lowercase and start with \"keys: \"", c.name, msg)
		}
	}
}

func decodeDecAsc(b []byte) error {
	_, _, _, _, _, err := keys.DecodeDecimalAscending(b)
	return err
}

func TestNullMarkers(t *testing.T) {
	asc, desc := keys.EncodeNullAscending(nil), keys.EncodeNullDescending(nil)
	for _, b := range [][]byte{asc, desc} {
		rest, isNull := keys.DecodeIfNull(append(b, 'x'))
		if !isNull || string(rest) != "x" {
			t.Errorf("DecodeIfNull(%x) = %q, %v", b, rest, isNull)
		}
		if got := keys.PeekType(b); got != keys.Null {
			t.Errorf("PeekType(%x) = %v, want Null", b, got)
		}
	}
	in := keys.EncodeIntAscending(nil, 0)
	if rest, isNull := keys.DecodeIfNull(in); isNull || !bytes.Equal(rest, in) {
		t.Errorf("DecodeIfNull(int 0) = %x, %v", rest, isNull)
	}
	if rest, isNull := keys.DecodeIfNull(nil); isNull || rest != nil {
		t.Errorf("DecodeIfNull(nil) = %x, %v", rest, isNull)
	}
	// NULL sorts before every ascending value and after every descending one.
	for _, vals := range edgeValues() {
		for _, v := range vals[1:] {
			if e := encodeVal(nil, v, false); bytes.Compare(asc, e) >= 0 {
				t.Errorf("ascending NULL %x does not sort before %v (%x)", asc, v, e)
			}
			if e := encodeVal(nil, v, true); bytes.Compare(desc, e) <= 0 {
				t.Errorf("descending NULL %x does not sort after %v (%x)", desc, v, e)
			}
		}
	}
}

func TestPeekType(t *testing.T) {
	cases := []struct {
		b    []byte
		want keys.Type
	}{
		{nil, keys.Unknown},
		{[]byte{0x42}, keys.Unknown},
		{keys.EncodeUint64Ascending(nil, 1), keys.Null}, // untagged: first byte 0x00 reads as NULL
	}
	for _, descending := range []bool{false, true} {
		cases = append(cases,
			struct {
				b    []byte
				want keys.Type
			}{encodeVal(nil, val{kind: kindInt, i: 1}, descending), keys.Int},
			struct {
				b    []byte
				want keys.Type
			}{encodeVal(nil, val{kind: kindFloat, f: 1}, descending), keys.Float},
			struct {
				b    []byte
				want keys.Type
			}{encodeVal(nil, val{kind: kindBool}, descending), keys.Bool},
			struct {
				b    []byte
				want keys.Type
			}{encodeVal(nil, val{kind: kindString, s: "s"}, descending), keys.String},
			struct {
				b    []byte
				want keys.Type
			}{encodeVal(nil, val{kind: kindBytes}, descending), keys.Bytes},
			struct {
				b    []byte
				want keys.Type
			}{encodeVal(nil, val{kind: kindDecimal, d: dec{nan: true}}, descending), keys.Decimal},
		)
	}
	for _, c := range cases {
		if got := keys.PeekType(c.b); got != c.want {
			t.Errorf("PeekType(%x) = %v, want %v", c.b, got, c.want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte{0xFF}, nil},
		{[]byte{0xFF, 0xFF}, nil},
		{[]byte{0x00}, []byte{0x01}},
		{[]byte("abc"), []byte("abd")},
		{[]byte{'a', 0xFF}, []byte{'b'}},
		{[]byte{'a', 0xFE, 0xFF, 0xFF}, []byte{'a', 0xFF}},
	}
	for _, c := range cases {
		in := append([]byte(nil), c.in...)
		got := keys.PrefixEnd(in)
		if !bytes.Equal(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", c.in, got, c.want)
		}
		if !bytes.Equal(in, c.in) {
			t.Errorf("PrefixEnd modified its argument: %x -> %x", c.in, in)
		}
	}
}

func TestPretty(t *testing.T) {
	var k []byte
	k = keys.EncodeIntAscending(k, 1)
	k = keys.EncodeStringAscending(k, "abc")
	k = keys.EncodeNullAscending(k)
	k = keys.EncodeFloatAscending(k, 3.5)
	mixed := keys.EncodeIntDescending(nil, -7)
	mixed = keys.EncodeStringDescending(mixed, "a\x00\"b")
	mixed = keys.EncodeNullDescending(mixed)
	mixed = keys.EncodeBoolAscending(mixed, true)
	mixed = keys.EncodeBoolDescending(mixed, false)
	mixed = keys.EncodeDecimalAscending(mixed, true, "125", 2, false)
	mixed = keys.EncodeDecimalDescending(mixed, false, "5", -2, false)
	mixed = keys.EncodeDecimalAscending(mixed, false, "15", 101, false)
	mixed = keys.EncodeDecimalAscending(mixed, false, "", 0, true)
	mixed = keys.EncodeFloatDescending(mixed, math.Inf(-1))
	mixed = keys.EncodeFloatAscending(mixed, math.NaN())
	mixed = keys.EncodeDecimalAscending(mixed, false, "", 0, false)
	mixed = keys.EncodeDecimalAscending(mixed, false, "12", 5, false)
	prefixed := append([]byte("t\x00\x00\x00\x01r"), keys.EncodeIntAscending(nil, 42)...)
	cases := []struct {
		b    []byte
		want string
	}{
		{nil, ""},
		{k, `/1/"abc"/NULL/3.5`},
		{mixed, `/-7/"a\x00\"b"/NULL/true/false/-12.5/0.005/1.5e+100/NaN/-Inf/NaN/0/12000`},
		{prefixed, `/"t\x00\x00\x00\x01r"/42`},
		{[]byte{0x12, 0x01}, `/"\x12\x01"`},
		{keys.EncodeStringAscending([]byte{0xFF}, "abc"), `/NULL/"abc"`},
		{keys.EncodeStringAscending([]byte{0x18, 'x', 0x00, 0x05}, "abc"), `/"\x18x\x00\x05"/"abc"`},
		{keys.EncodeStringAscending([]byte{0x18, 'x'}, "abc"), `/"x\x18abc"`},
	}
	for _, c := range cases {
		if got := keys.Pretty(c.b); got != c.want {
			t.Errorf("Pretty(%x) = %s, want %s", c.b, got, c.want)
		}
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[keys.Type]string{
		keys.Null: "Null", keys.Int: "Int", keys.Float: "Float", keys.Bool: "Bool",
		keys.String: "String", keys.Decimal: "Decimal", keys.Unknown: "Unknown",
	} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
}
