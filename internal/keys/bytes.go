package keys

import (
	"bytes"
	"fmt"
)

// Escaping scheme shared by strings, byte strings and EncodeRawEscaped: every
// 0x00 byte of the value is written as 0x00 0xFF and the value is terminated
// by 0x00 0x01. The terminator sorts before any escaped 0x00 and any other
// byte, so a value sorts before every value it is a proper prefix of, e.g.
// "a" < "a\x00" < "ab".
const (
	escapeByte  byte = 0x00
	escapedZero byte = 0xFF
	escapedTerm byte = 0x01
)

// EncodeStringAscending appends the ascending encoding of s: a type tag
// followed by the escaped bytes of s and a terminator.
func EncodeStringAscending(b []byte, s string) []byte {
	return encodeEscaped(append(b, tagBytes), s)
}

// EncodeStringDescending appends the descending encoding of s, the bitwise
// complement of its ascending encoding.
func EncodeStringDescending(b []byte, s string) []byte {
	start := len(b)
	return invert(encodeEscaped(append(b, tagBytes), s), start)
}

// DecodeStringAscending decodes a value written by EncodeStringAscending
// (or EncodeBytesAscending) and returns it with the remaining bytes.
func DecodeStringAscending(b []byte) (string, []byte, error) {
	v, rest, err := decodeTaggedEscaped(b, asc, "string")
	return string(v), rest, err
}

// DecodeStringDescending decodes a value written by EncodeStringDescending
// (or EncodeBytesDescending) and returns it with the remaining bytes.
func DecodeStringDescending(b []byte) (string, []byte, error) {
	v, rest, err := decodeTaggedEscaped(b, desc, "string")
	return string(v), rest, err
}

// EncodeBytesAscending appends the ascending encoding of v. It is identical
// to the encoding of the string with the same bytes.
func EncodeBytesAscending(b []byte, v []byte) []byte {
	return encodeEscaped(append(b, tagBytes), v)
}

// EncodeBytesDescending appends the descending encoding of v, the bitwise
// complement of its ascending encoding.
func EncodeBytesDescending(b []byte, v []byte) []byte {
	start := len(b)
	return invert(encodeEscaped(append(b, tagBytes), v), start)
}

// DecodeBytesAscending decodes a value written by EncodeBytesAscending (or
// EncodeStringAscending) and returns it with the remaining bytes. The
// returned slice never aliases b.
func DecodeBytesAscending(b []byte) ([]byte, []byte, error) {
	return decodeTaggedEscaped(b, asc, "bytes")
}

// DecodeBytesDescending decodes a value written by EncodeBytesDescending (or
// EncodeStringDescending) and returns it with the remaining bytes. The
// returned slice never aliases b.
func DecodeBytesDescending(b []byte) ([]byte, []byte, error) {
	return decodeTaggedEscaped(b, desc, "bytes")
}

// EncodeRawEscaped appends v escaped and terminated exactly like
// EncodeBytesAscending but without the leading type tag. It is meant for
// internal composite keys where a fixed-width suffix follows, such as MVCC
// keys made of an escaped user key and an 8-byte timestamp.
func EncodeRawEscaped(b []byte, v []byte) []byte {
	return encodeEscaped(b, v)
}

// DecodeRawEscaped decodes a value written by EncodeRawEscaped and returns
// it with the remaining bytes. The returned slice never aliases b.
func DecodeRawEscaped(b []byte) (v []byte, rest []byte, err error) {
	return decodeEscaped(b, asc, "raw escaped bytes")
}

// encodeEscaped appends the ascending escaped form of v and its terminator.
// Descending callers invert the result.
func encodeEscaped[T string | []byte](b []byte, v T) []byte {
	for {
		i := indexZero(v)
		if i < 0 {
			break
		}
		b = append(b, v[:i]...)
		b = append(b, escapeByte, escapedZero)
		v = v[i+1:]
	}
	b = append(b, v...)
	return append(b, escapeByte, escapedTerm)
}

// indexZero returns the index of the first 0x00 byte of v, or -1.
func indexZero[T string | []byte](v T) int {
	for i := 0; i < len(v); i++ {
		if v[i] == escapeByte {
			return i
		}
	}
	return -1
}

func decodeTaggedEscaped(b []byte, dir byte, what string) ([]byte, []byte, error) {
	r, err := checkTag(b, tagBytes, dir, what)
	if err != nil {
		return nil, b, err
	}
	v, rest, err := decodeEscaped(r, dir, what)
	if err != nil {
		return nil, b, err
	}
	return v, rest, nil
}

// decodeEscaped decodes an escaped, terminated value whose bytes are XORed
// with dir. The result is always a fresh slice.
func decodeEscaped(b []byte, dir byte, what string) ([]byte, []byte, error) {
	esc := escapeByte ^ dir
	out := make([]byte, 0, len(b))
	r := b
	for {
		i := bytes.IndexByte(r, esc)
		if i < 0 || i+1 >= len(r) {
			return nil, b, fmt.Errorf("keys: decoding %s %s: missing terminator: %w", dirName(dir), what, ErrCorrupt)
		}
		out = append(out, r[:i]...)
		switch r[i+1] ^ dir {
		case escapedZero:
			out = append(out, esc)
			r = r[i+2:]
		case escapedTerm:
			if dir == desc {
				invert(out, 0)
			}
			return out, r[i+2:], nil
		default:
			return nil, b, fmt.Errorf("keys: decoding %s %s: invalid escape sequence 0x%02x 0x%02x: %w",
				dirName(dir), what, r[i], r[i+1], ErrCorrupt)
		}
	}
}
