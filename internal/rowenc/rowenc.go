// Package rowenc turns SQL rows into keys and values of the ordered
// keyspace: primary-key datums into order-preserving row keys
// (internal/keys) and the other columns into a compact row value. It imports
// only internal/keys, internal/types and the standard library.
package rowenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/types"
)

// EncodeKeyDatum appends the order-preserving encoding of one key column.
func EncodeKeyDatum(b []byte, d types.Datum, desc bool) ([]byte, error) {
	if d.IsNull() {
		if desc {
			return keys.EncodeNullDescending(b), nil
		}
		return keys.EncodeNullAscending(b), nil
	}
	switch d.Family() {
	case types.IntFamily, types.TimestampFamily, types.DateFamily, types.TimestampTZFamily:
		if desc {
			return keys.EncodeIntDescending(b, d.Int()), nil
		}
		return keys.EncodeIntAscending(b, d.Int()), nil
	case types.IntervalFamily:
		v := d.Interval()
		if desc {
			return keys.EncodeIntervalDescending(b, v.Months, v.Days, v.Micros), nil
		}
		return keys.EncodeIntervalAscending(b, v.Months, v.Days, v.Micros), nil
	case types.BytesFamily, types.UUIDFamily:
		if desc {
			return keys.EncodeStringDescending(b, d.Str()), nil
		}
		return keys.EncodeStringAscending(b, d.Str()), nil
	case types.JSONFamily:
		return encodeJSONKey(b, d, desc), nil
	case types.FloatFamily:
		if desc {
			return keys.EncodeFloatDescending(b, d.Float()), nil
		}
		return keys.EncodeFloatAscending(b, d.Float()), nil
	case types.BoolFamily:
		if desc {
			return keys.EncodeBoolDescending(b, d.Bool()), nil
		}
		return keys.EncodeBoolAscending(b, d.Bool()), nil
	case types.StringFamily:
		// character(n) compares without its trailing blanks; DecodeKeyDatum pads again.
		if desc {
			return keys.EncodeStringDescending(b, d.TrimmedStr()), nil
		}
		return keys.EncodeStringAscending(b, d.TrimmedStr()), nil
	case types.DecimalFamily:
		neg, digits, exp, nan := decimalParts(d.Decimal())
		if desc {
			return keys.EncodeDecimalDescending(b, neg, digits, exp, nan), nil
		}
		return keys.EncodeDecimalAscending(b, neg, digits, exp, nan), nil
	}
	return nil, fmt.Errorf("cannot encode %s in a key", d.TypeName())
}

// decimalParts returns d as (neg, digits, exp) with d = ±0.digits × 10^exp.
func decimalParts(d *apd.Decimal) (neg bool, digits string, exp int32, nan bool) {
	if d.Form == apd.NaN || d.Form == apd.NaNSignaling {
		return false, "", 0, true
	}
	c := d.Coeff.String()
	c = strings.TrimLeft(c, "0")
	e := d.Exponent
	for len(c) > 0 && c[len(c)-1] == '0' {
		c = c[:len(c)-1]
		e++
	}
	if c == "" {
		return false, "", 0, false
	}
	return d.Negative, c, e + int32(len(c)), false
}

func decimalFromParts(neg bool, digits string, exp int32, nan bool) (*apd.Decimal, error) {
	if nan {
		return &apd.Decimal{Form: apd.NaN}, nil
	}
	if digits == "" {
		return apd.New(0, 0), nil
	}
	d, _, err := apd.NewFromString(digits)
	if err != nil {
		return nil, err
	}
	d.Exponent = exp - int32(len(digits))
	d.Negative = neg
	return d, nil
}

// DecodeKeyDatum reads one key column of type t.
func DecodeKeyDatum(b []byte, t types.T, desc bool) (types.Datum, []byte, error) {
	if rest, isNull := keys.DecodeIfNull(b); isNull {
		return types.Null, rest, nil
	}
	switch t.Family {
	case types.JSONFamily:
		return decodeJSONKey(b, desc)
	case types.IntervalFamily:
		dec := keys.DecodeIntervalAscending
		if desc {
			dec = keys.DecodeIntervalDescending
		}
		m, d, us, rest, err := dec(b)
		if err != nil {
			return types.Null, nil, err
		}
		return types.NewInterval(types.Span{Months: m, Days: d, Micros: us}), rest, nil
	case types.BytesFamily, types.UUIDFamily:
		dec := keys.DecodeStringAscending
		if desc {
			dec = keys.DecodeStringDescending
		}
		v, rest, err := dec(b)
		if err != nil {
			return types.Null, nil, err
		}
		if t.Family == types.UUIDFamily {
			var u [16]byte
			if len(v) != 16 {
				return types.Null, nil, fmt.Errorf("uuid key of %d bytes: %w", len(v), keys.ErrCorrupt)
			}
			copy(u[:], v)
			return types.NewUUID(u), rest, nil
		}
		return types.NewBytes(v), rest, nil
	case types.IntFamily, types.TimestampFamily, types.DateFamily, types.TimestampTZFamily:
		dec := keys.DecodeIntAscending
		if desc {
			dec = keys.DecodeIntDescending
		}
		v, rest, err := dec(b)
		if err != nil {
			return types.Null, nil, err
		}
		switch t.Family {
		case types.TimestampFamily:
			return types.NewTimestamp(v), rest, nil
		case types.TimestampTZFamily:
			return types.NewTimestampTZ(v), rest, nil
		case types.DateFamily:
			return types.NewDate(v), rest, nil
		}
		return types.NewInt(v), rest, nil
	case types.FloatFamily:
		dec := keys.DecodeFloatAscending
		if desc {
			dec = keys.DecodeFloatDescending
		}
		v, rest, err := dec(b)
		if t.Width == 32 {
			return types.NewFloat4(v), rest, err
		}
		return types.NewFloat(v), rest, err
	case types.BoolFamily:
		dec := keys.DecodeBoolAscending
		if desc {
			dec = keys.DecodeBoolDescending
		}
		v, rest, err := dec(b)
		return types.NewBool(v), rest, err
	case types.StringFamily:
		dec := keys.DecodeStringAscending
		if desc {
			dec = keys.DecodeStringDescending
		}
		v, rest, err := dec(b)
		if t.Bpchar {
			d, cerr := types.CastString(v, t)
			if err == nil {
				err = cerr
			}
			return d, rest, err
		}
		return types.NewString(v), rest, err
	case types.DecimalFamily:
		dec := keys.DecodeDecimalAscending
		if desc {
			dec = keys.DecodeDecimalDescending
		}
		neg, digits, exp, nan, rest, err := dec(b)
		if err != nil {
			return types.Null, nil, err
		}
		d, err := decimalFromParts(neg, digits, exp, nan)
		return types.NewDecimal(d), rest, err
	}
	return types.Null, nil, fmt.Errorf("cannot decode %s from a key", t)
}

// EncodeRowKey returns the row key of a table for its primary-key datums.
func EncodeRowKey(tableID uint32, pk []types.Datum, desc []bool) ([]byte, error) {
	b := keys.RowPrefix(tableID)
	var err error
	for i, d := range pk {
		if b, err = EncodeKeyDatum(b, d, i < len(desc) && desc[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// DecodeRowKey returns the primary-key datums of a row key.
func DecodeRowKey(key []byte, tableID uint32, pkTypes []types.T, desc []bool) ([]types.Datum, error) {
	prefix := keys.RowPrefix(tableID)
	if len(key) < len(prefix) || string(key[:len(prefix)]) != string(prefix) {
		return nil, fmt.Errorf("key %s is not a row of table %d", keys.Pretty(key), tableID)
	}
	b := key[len(prefix):]
	out := make([]types.Datum, len(pkTypes))
	for i, t := range pkTypes {
		d, rest, err := DecodeKeyDatum(b, t, i < len(desc) && desc[i])
		if err != nil {
			return nil, fmt.Errorf("decoding key %s: %w", keys.Pretty(key), err)
		}
		out[i], b = d, rest
	}
	return out, nil
}

const valueVersion = 1

// Value tags: the first eight are the type families they were when the
// format began; the rest extend it.
const (
	tagInt         byte = byte(types.IntFamily)
	tagBool        byte = byte(types.BoolFamily)
	tagFloat       byte = byte(types.FloatFamily)
	tagDecimal     byte = byte(types.DecimalFamily)
	tagString      byte = byte(types.StringFamily)
	tagTimestamp   byte = byte(types.TimestampFamily)
	tagDate        byte = byte(types.DateFamily)
	tagTimestampTZ byte = 20
	tagInterval    byte = 21
	tagBytes       byte = 22
	tagUUID        byte = 23
	tagJSON        byte = 24
	tagArray       byte = 25
	tagFloat4      byte = 26
	tagBpchar      byte = 27
	tagNullElem    byte = 28 // a NULL array element
)

// EncodeRowValue encodes the non-NULL values of the given columns.
func EncodeRowValue(b []byte, colIDs []uint32, vals []types.Datum) []byte {
	b = append(b, valueVersion)
	for i, d := range vals {
		if d.IsNull() {
			continue
		}
		b = binary.AppendUvarint(b, uint64(colIDs[i]))
		b = encodeValue(b, d)
	}
	return b
}

// nullTag stands for an explicit NULL: written only for columns whose
// absence means something else (a column added with a default).
const nullTag = 0xff

// AppendNullColumn appends an explicit NULL for column colID to an encoded
// row value.
func AppendNullColumn(b []byte, colID uint32) []byte {
	b = binary.AppendUvarint(b, uint64(colID))
	return append(b, nullTag)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeValue appends a tag and the value of d.
func encodeValue(b []byte, d types.Datum) []byte {
	if d.IsNull() {
		return append(b, tagNullElem)
	}
	switch d.Family() {
	case types.IntFamily, types.BoolFamily, types.TimestampFamily, types.DateFamily:
		b = append(b, byte(d.Family()))
		return binary.AppendVarint(b, d.Int())
	case types.TimestampTZFamily:
		return binary.AppendVarint(append(b, tagTimestampTZ), d.Int())
	case types.FloatFamily:
		if d.IsFloat4() {
			return binary.BigEndian.AppendUint32(append(b, tagFloat4), math.Float32bits(float32(d.Float())))
		}
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(d.Float()))
	case types.DecimalFamily:
		return appendStr(append(b, tagDecimal), d.Text())
	case types.StringFamily:
		if d.IsBpchar() {
			return appendStr(append(b, tagBpchar), d.Str())
		}
		return appendStr(append(b, tagString), d.Str())
	case types.IntervalFamily:
		v := d.Interval()
		b = append(b, tagInterval)
		b = binary.AppendVarint(b, int64(v.Months))
		b = binary.AppendVarint(b, int64(v.Days))
		return binary.AppendVarint(b, v.Micros)
	case types.BytesFamily:
		return appendStr(append(b, tagBytes), d.Str())
	case types.UUIDFamily:
		return append(append(b, tagUUID), d.Str()...)
	case types.JSONFamily:
		return appendStr(append(b, tagJSON), d.Str())
	case types.ArrayFamily:
		elems := d.Elems()
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(elems)))
		for _, e := range elems {
			b = encodeValue(b, e)
		}
		return b
	}
	panic(fmt.Sprintf("rowenc: cannot encode a value of family %d", d.Family()))
}

// DecodeRowValue calls fn for each column stored in a row value.
func DecodeRowValue(b []byte, fn func(colID uint32, d types.Datum)) error {
	if len(b) == 0 || b[0] != valueVersion {
		return fmt.Errorf("row value: unknown version")
	}
	b = b[1:]
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 || len(b) < n+1 {
			return fmt.Errorf("row value: corrupt column id")
		}
		if b[n] == nullTag { // an explicit NULL
			b = b[n+1:]
			fn(uint32(id), types.Null)
			continue
		}
		d, rest, err := decodeValue(b[n:])
		if err != nil {
			return err
		}
		b = rest
		fn(uint32(id), d)
	}
	return nil
}

func readStr(b []byte) (string, []byte, error) {
	l, m := binary.Uvarint(b)
	if m <= 0 || uint64(len(b)-m) < l {
		return "", nil, fmt.Errorf("row value: corrupt string")
	}
	return string(b[m : m+int(l)]), b[m+int(l):], nil
}

func readVarint(b []byte) (int64, []byte, error) {
	v, m := binary.Varint(b)
	if m <= 0 {
		return 0, nil, fmt.Errorf("row value: corrupt integer")
	}
	return v, b[m:], nil
}

// decodeValue reads one tagged value.
func decodeValue(b []byte) (types.Datum, []byte, error) {
	if len(b) == 0 {
		return types.Null, nil, fmt.Errorf("row value: missing type tag")
	}
	tag := b[0]
	b = b[1:]
	switch tag {
	case tagNullElem:
		return types.Null, b, nil
	case tagInt, tagBool, tagTimestamp, tagDate, tagTimestampTZ:
		v, rest, err := readVarint(b)
		if err != nil {
			return types.Null, nil, err
		}
		switch tag {
		case tagBool:
			return types.NewBool(v != 0), rest, nil
		case tagTimestamp:
			return types.NewTimestamp(v), rest, nil
		case tagDate:
			return types.NewDate(v), rest, nil
		case tagTimestampTZ:
			return types.NewTimestampTZ(v), rest, nil
		}
		return types.NewInt(v), rest, nil
	case tagFloat:
		if len(b) < 8 {
			return types.Null, nil, fmt.Errorf("row value: corrupt float")
		}
		return types.NewFloat(math.Float64frombits(binary.BigEndian.Uint64(b))), b[8:], nil
	case tagFloat4:
		if len(b) < 4 {
			return types.Null, nil, fmt.Errorf("row value: corrupt real")
		}
		return types.NewFloat4(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), b[4:], nil
	case tagDecimal, tagString, tagBpchar, tagBytes, tagJSON:
		s, rest, err := readStr(b)
		if err != nil {
			return types.Null, nil, err
		}
		switch tag {
		case tagString:
			return types.NewString(s), rest, nil
		case tagBpchar:
			return types.NewBpchar(s), rest, nil
		case tagBytes:
			return types.NewBytes(s), rest, nil
		case tagJSON:
			return types.NewJSONText(s), rest, nil
		}
		d, err := types.ParseDatum(types.Numeric, s)
		if err != nil {
			return types.Null, nil, fmt.Errorf("row value: %w", err)
		}
		return d, rest, nil
	case tagInterval:
		var v [3]int64
		for i := range v {
			var err error
			if v[i], b, err = readVarint(b); err != nil {
				return types.Null, nil, err
			}
		}
		return types.NewInterval(types.Span{Months: int32(v[0]), Days: int32(v[1]), Micros: v[2]}), b, nil
	case tagUUID:
		if len(b) < 16 {
			return types.Null, nil, fmt.Errorf("row value: corrupt uuid")
		}
		var u [16]byte
		copy(u[:], b)
		return types.NewUUID(u), b[16:], nil
	case tagArray:
		n, m := binary.Uvarint(b)
		if m <= 0 || n > uint64(len(b)) {
			return types.Null, nil, fmt.Errorf("row value: corrupt array")
		}
		b = b[m:]
		elems := make([]types.Datum, n)
		for i := range elems {
			var err error
			if elems[i], b, err = decodeValue(b); err != nil {
				return types.Null, nil, err
			}
		}
		return types.NewArray(elems), b, nil
	}
	return types.Null, nil, fmt.Errorf("row value: unknown type tag %d", tag)
}
