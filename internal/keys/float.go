package keys

import (
	"encoding/binary"
	"fmt"
	"math"
)

// canonicalNaN is the order-transformed bit pattern every NaN is encoded
// as; it is the largest possible pattern, so NaN sorts after +Inf.
const canonicalNaN = ^uint64(0)

// EncodeFloatAscending appends the ascending encoding of f: a type tag
// followed by 8 bytes ordered -Inf < negatives < 0 < positives < +Inf < NaN.
// Negative zero is encoded as positive zero and every NaN is encoded alike.
func EncodeFloatAscending(b []byte, f float64) []byte {
	return encodeFloat(b, f, asc)
}

// EncodeFloatDescending appends the descending encoding of f, the bitwise
// complement of its ascending encoding.
func EncodeFloatDescending(b []byte, f float64) []byte {
	return encodeFloat(b, f, desc)
}

// DecodeFloatAscending decodes a value written by EncodeFloatAscending and
// returns it with the remaining bytes.
func DecodeFloatAscending(b []byte) (float64, []byte, error) {
	return decodeFloat(b, asc)
}

// DecodeFloatDescending decodes a value written by EncodeFloatDescending and
// returns it with the remaining bytes.
func DecodeFloatDescending(b []byte) (float64, []byte, error) {
	return decodeFloat(b, desc)
}

func encodeFloat(b []byte, f float64, dir byte) []byte {
	var u uint64
	switch {
	case math.IsNaN(f):
		u = canonicalNaN
	case f == 0:
		u = 1 << 63 // both zeros encode as +0
	default:
		u = math.Float64bits(f)
		if u&(1<<63) != 0 {
			u = ^u
		} else {
			u |= 1 << 63
		}
	}
	b = append(b, tagFloat^dir)
	return binary.BigEndian.AppendUint64(b, u^dirMask64(dir))
}

func decodeFloat(b []byte, dir byte) (float64, []byte, error) {
	u, rest, err := decodeTagged8(b, tagFloat, dir, "float")
	if err != nil {
		return 0, b, err
	}
	if u == canonicalNaN {
		return math.NaN(), rest, nil
	}
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	f := math.Float64frombits(u)
	if math.IsNaN(f) || (f == 0 && math.Signbit(f)) {
		return 0, b, fmt.Errorf("keys: decoding %s float: non-canonical encoding of %v: %w", dirName(dir), f, ErrCorrupt)
	}
	return f, rest, nil
}
