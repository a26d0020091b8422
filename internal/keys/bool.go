package keys

import "fmt"

// EncodeBoolAscending appends the ascending encoding of v, a type tag
// followed by 0x00 for false or 0x01 for true, so that false < true.
func EncodeBoolAscending(b []byte, v bool) []byte {
	return encodeBool(b, v, asc)
}

// EncodeBoolDescending appends the descending encoding of v, the bitwise
// complement of its ascending encoding.
func EncodeBoolDescending(b []byte, v bool) []byte {
	return encodeBool(b, v, desc)
}

// DecodeBoolAscending decodes a value written by EncodeBoolAscending and
// returns it with the remaining bytes.
func DecodeBoolAscending(b []byte) (bool, []byte, error) {
	return decodeBool(b, asc)
}

// DecodeBoolDescending decodes a value written by EncodeBoolDescending and
// returns it with the remaining bytes.
func DecodeBoolDescending(b []byte) (bool, []byte, error) {
	return decodeBool(b, desc)
}

func encodeBool(b []byte, v bool, dir byte) []byte {
	var x byte
	if v {
		x = 1
	}
	return append(b, tagBool^dir, x^dir)
}

func decodeBool(b []byte, dir byte) (bool, []byte, error) {
	r, err := checkTag(b, tagBool, dir, "bool")
	if err != nil {
		return false, b, err
	}
	if len(r) < 1 {
		return false, b, fmt.Errorf("keys: decoding %s bool: missing value byte: %w", dirName(dir), ErrCorrupt)
	}
	switch r[0] ^ dir {
	case 0:
		return false, r[1:], nil
	case 1:
		return true, r[1:], nil
	default:
		return false, b, fmt.Errorf("keys: decoding %s bool: invalid value byte 0x%02x: %w", dirName(dir), r[0], ErrCorrupt)
	}
}
