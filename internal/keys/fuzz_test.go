package keys_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/shardsql/shardsql/internal/keys"
)

// FuzzDecode feeds arbitrary bytes to every Decode function. None may panic;
// a successful decode must consume a non-empty prefix of the input, and
// re-encoding the decoded value must reproduce that prefix exactly, so each
// value has a single valid encoding.
func FuzzDecode(f *testing.F) {
	for _, vals := range edgeValues() {
		for _, v := range vals {
			f.Add(encodeVal(nil, v, false))
			f.Add(encodeVal(nil, v, true))
		}
	}
	f.Add(keys.EncodeUint64Descending(keys.EncodeRawEscaped(nil, []byte("k\x00")), 7))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(nil), data...)
		// check verifies that a successful decode consumed a prefix of in and
		// that re-encoding gives back that prefix.
		check := func(name string, rest []byte, err error, reencode func() []byte) {
			t.Helper()
			if err != nil {
				return
			}
			if len(rest) >= len(in) || !bytes.Equal(in[len(in)-len(rest):], rest) {
				t.Fatalf("%s(%x): rest %x is not a proper suffix of the input", name, in, rest)
			}
			consumed := in[:len(in)-len(rest)]
			if re := reencode(); !bytes.Equal(re, consumed) {
				t.Fatalf("%s(%x): re-encoding gives %x, want %x", name, in, re, consumed)
			}
		}

		if rest, isNull := keys.DecodeIfNull(in); isNull {
			check("DecodeIfNull", rest, nil, func() []byte { return in[:1] })
		}
		{
			v, rest, err := keys.DecodeIntAscending(in)
			check("DecodeIntAscending", rest, err, func() []byte { return keys.EncodeIntAscending(nil, v) })
			v, rest, err = keys.DecodeIntDescending(in)
			check("DecodeIntDescending", rest, err, func() []byte { return keys.EncodeIntDescending(nil, v) })
		}
		{
			v, rest, err := keys.DecodeUint64Ascending(in)
			check("DecodeUint64Ascending", rest, err, func() []byte { return keys.EncodeUint64Ascending(nil, v) })
			v, rest, err = keys.DecodeUint64Descending(in)
			check("DecodeUint64Descending", rest, err, func() []byte { return keys.EncodeUint64Descending(nil, v) })
		}
		{
			v, rest, err := keys.DecodeFloatAscending(in)
			if err == nil && v == 0 && math.Signbit(v) {
				t.Fatalf("DecodeFloatAscending(%x) returned -0", in)
			}
			check("DecodeFloatAscending", rest, err, func() []byte { return keys.EncodeFloatAscending(nil, v) })
			v, rest, err = keys.DecodeFloatDescending(in)
			check("DecodeFloatDescending", rest, err, func() []byte { return keys.EncodeFloatDescending(nil, v) })
		}
		{
			v, rest, err := keys.DecodeBoolAscending(in)
			check("DecodeBoolAscending", rest, err, func() []byte { return keys.EncodeBoolAscending(nil, v) })
			v, rest, err = keys.DecodeBoolDescending(in)
			check("DecodeBoolDescending", rest, err, func() []byte { return keys.EncodeBoolDescending(nil, v) })
		}
		{
			v, rest, err := keys.DecodeStringAscending(in)
			check("DecodeStringAscending", rest, err, func() []byte { return keys.EncodeStringAscending(nil, v) })
			v, rest, err = keys.DecodeStringDescending(in)
			check("DecodeStringDescending", rest, err, func() []byte { return keys.EncodeStringDescending(nil, v) })
		}
		{
			v, rest, err := keys.DecodeBytesAscending(in)
			check("DecodeBytesAscending", rest, err, func() []byte { return keys.EncodeBytesAscending(nil, v) })
			v, rest, err = keys.DecodeBytesDescending(in)
			check("DecodeBytesDescending", rest, err, func() []byte { return keys.EncodeBytesDescending(nil, v) })
			v, rest, err = keys.DecodeRawEscaped(in)
			check("DecodeRawEscaped", rest, err, func() []byte { return keys.EncodeRawEscaped(nil, v) })
		}
		{
			neg, digits, exp, isNaN, rest, err := keys.DecodeDecimalAscending(in)
			check("DecodeDecimalAscending", rest, err, func() []byte {
				return keys.EncodeDecimalAscending(nil, neg, digits, exp, isNaN)
			})
			neg, digits, exp, isNaN, rest, err = keys.DecodeDecimalDescending(in)
			check("DecodeDecimalDescending", rest, err, func() []byte {
				return keys.EncodeDecimalDescending(nil, neg, digits, exp, isNaN)
			})
		}
		_ = keys.PeekType(in)
		_ = keys.Pretty(in)
		if end := keys.PrefixEnd(in); end != nil && bytes.Compare(end, in) <= 0 {
			t.Fatalf("PrefixEnd(%x) = %x is not greater than its input", in, end)
		}
		if !bytes.Equal(in, data) {
			t.Fatalf("a decoder modified its input: %x -> %x", data, in)
		}
	})
}
