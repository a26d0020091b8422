package keys

import (
	"encoding/binary"
	"fmt"
)

// EncodeUint64Ascending appends v as 8 big-endian bytes with no type tag,
// for use inside fixed internal key layouts such as table ids.
func EncodeUint64Ascending(b []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(b, v)
}

// EncodeUint64Descending appends ^v as 8 big-endian bytes with no type tag,
// so that larger values (for example newer MVCC timestamps) sort first.
func EncodeUint64Descending(b []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(b, ^v)
}

// DecodeUint64Ascending decodes 8 bytes written by EncodeUint64Ascending and
// returns the value with the remaining bytes.
func DecodeUint64Ascending(b []byte) (uint64, []byte, error) {
	if len(b) < 8 {
		return 0, b, fmt.Errorf("keys: decoding ascending uint64: need 8 bytes, have %d: %w", len(b), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(b), b[8:], nil
}

// DecodeUint64Descending decodes 8 bytes written by EncodeUint64Descending
// and returns the value with the remaining bytes.
func DecodeUint64Descending(b []byte) (uint64, []byte, error) {
	if len(b) < 8 {
		return 0, b, fmt.Errorf("keys: decoding descending uint64: need 8 bytes, have %d: %w", len(b), ErrCorrupt)
	}
	return ^binary.BigEndian.Uint64(b), b[8:], nil
}
