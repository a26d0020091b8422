package keys

import (
	"encoding/binary"
	"fmt"
)

// Intervals are ordered as PostgreSQL orders them: as a span in which a
// month is 30 days and a day 24 hours, so '1 mon' and '30 days' are equal
// in order. The encoding is a tag, the span's whole days (8 bytes, sign
// flipped), the microseconds within the last day (8 bytes, always in
// [0, 86400e6)), then the months and days fields (4 bytes each, sign
// flipped) so the exact value decodes back; those last two only break ties
// between equal spans.

const microsPerDay = 86400 * 1000000

// EncodeIntervalAscending appends the ascending encoding of an interval.
func EncodeIntervalAscending(b []byte, months, days int32, micros int64) []byte {
	return encodeInterval(b, months, days, micros, asc)
}

// EncodeIntervalDescending appends the descending encoding of an interval.
func EncodeIntervalDescending(b []byte, months, days int32, micros int64) []byte {
	return encodeInterval(b, months, days, micros, desc)
}

// DecodeIntervalAscending decodes a value written by EncodeIntervalAscending.
func DecodeIntervalAscending(b []byte) (months, days int32, micros int64, rest []byte, err error) {
	return decodeInterval(b, asc)
}

// DecodeIntervalDescending decodes a value written by EncodeIntervalDescending.
func DecodeIntervalDescending(b []byte) (months, days int32, micros int64, rest []byte, err error) {
	return decodeInterval(b, desc)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func encodeInterval(b []byte, months, days int32, micros int64, dir byte) []byte {
	whole := int64(months)*30 + int64(days) + floorDiv(micros, microsPerDay)
	inDay := micros - floorDiv(micros, microsPerDay)*microsPerDay
	m := dirMask64(dir)
	b = append(b, tagInterval^dir)
	b = binary.BigEndian.AppendUint64(b, uint64(whole)^(1<<63)^m)
	b = binary.BigEndian.AppendUint64(b, uint64(inDay)^m)
	b = binary.BigEndian.AppendUint32(b, (uint32(months)^(1<<31))^uint32(m))
	return binary.BigEndian.AppendUint32(b, (uint32(days)^(1<<31))^uint32(m))
}

func decodeInterval(b []byte, dir byte) (months, days int32, micros int64, rest []byte, err error) {
	r, err := checkTag(b, tagInterval, dir, "interval")
	if err != nil {
		return 0, 0, 0, b, err
	}
	if len(r) < 24 {
		return 0, 0, 0, b, fmt.Errorf("keys: decoding %s interval: need 24 bytes after tag, have %d: %w", dirName(dir), len(r), ErrCorrupt)
	}
	m := dirMask64(dir)
	whole := int64(binary.BigEndian.Uint64(r) ^ m ^ (1 << 63))
	inDay := int64(binary.BigEndian.Uint64(r[8:]) ^ m)
	months = int32(binary.BigEndian.Uint32(r[16:]) ^ uint32(m) ^ (1 << 31))
	days = int32(binary.BigEndian.Uint32(r[20:]) ^ uint32(m) ^ (1 << 31))
	if inDay < 0 || inDay >= microsPerDay {
		return 0, 0, 0, b, fmt.Errorf("keys: decoding %s interval: time of day out of range: %w", dirName(dir), ErrCorrupt)
	}
	micros = (whole-int64(months)*30-int64(days))*microsPerDay + inDay
	return months, days, micros, r[24:], nil
}
