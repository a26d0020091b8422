package keys

import (
	"encoding/binary"
	"fmt"
)

// EncodeIntAscending appends the ascending encoding of v: a type tag followed
// by 8 big-endian bytes with the sign bit flipped. It is also used for
// SMALLINT, INT, DATE (days since the epoch) and TIMESTAMP (microseconds).
func EncodeIntAscending(b []byte, v int64) []byte {
	return encodeInt(b, v, asc)
}

// EncodeIntDescending appends the descending encoding of v, the bitwise
// complement of its ascending encoding.
func EncodeIntDescending(b []byte, v int64) []byte {
	return encodeInt(b, v, desc)
}

// DecodeIntAscending decodes a value written by EncodeIntAscending and
// returns it with the remaining bytes.
func DecodeIntAscending(b []byte) (int64, []byte, error) {
	return decodeInt(b, asc)
}

// DecodeIntDescending decodes a value written by EncodeIntDescending and
// returns it with the remaining bytes.
func DecodeIntDescending(b []byte) (int64, []byte, error) {
	return decodeInt(b, desc)
}

func encodeInt(b []byte, v int64, dir byte) []byte {
	b = append(b, tagInt^dir)
	return binary.BigEndian.AppendUint64(b, (uint64(v)^(1<<63))^dirMask64(dir))
}

func decodeInt(b []byte, dir byte) (int64, []byte, error) {
	u, rest, err := decodeTagged8(b, tagInt, dir, "int")
	if err != nil {
		return 0, b, err
	}
	return int64(u ^ (1 << 63)), rest, nil
}

// decodeTagged8 checks the tag and returns the following 8 bytes as a
// big-endian uint64 with the direction mask removed.
func decodeTagged8(b []byte, tag, dir byte, what string) (uint64, []byte, error) {
	r, err := checkTag(b, tag, dir, what)
	if err != nil {
		return 0, b, err
	}
	if len(r) < 8 {
		return 0, b, fmt.Errorf("keys: decoding %s %s: need 8 bytes after tag, have %d: %w",
			dirName(dir), what, len(r), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(r) ^ dirMask64(dir), r[8:], nil
}

// dirMask64 widens a direction mask to 64 bits.
func dirMask64(dir byte) uint64 {
	if dir == desc {
		return ^uint64(0)
	}
	return 0
}
