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
	case types.IntFamily, types.TimestampFamily, types.DateFamily:
		if desc {
			return keys.EncodeIntDescending(b, d.Int()), nil
		}
		return keys.EncodeIntAscending(b, d.Int()), nil
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
		if desc {
			return keys.EncodeStringDescending(b, d.Str()), nil
		}
		return keys.EncodeStringAscending(b, d.Str()), nil
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
	case types.IntFamily, types.TimestampFamily, types.DateFamily:
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

// EncodeRowValue encodes the non-NULL values of the given columns.
func EncodeRowValue(b []byte, colIDs []uint32, vals []types.Datum) []byte {
	b = append(b, valueVersion)
	for i, d := range vals {
		if d.IsNull() {
			continue
		}
		b = binary.AppendUvarint(b, uint64(colIDs[i]))
		b = append(b, byte(d.Family()))
		switch d.Family() {
		case types.IntFamily, types.BoolFamily, types.TimestampFamily, types.DateFamily:
			b = binary.AppendVarint(b, d.Int())
		case types.FloatFamily:
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(d.Float()))
		case types.DecimalFamily:
			s := d.Text()
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		case types.StringFamily:
			b = binary.AppendUvarint(b, uint64(len(d.Str())))
			b = append(b, d.Str()...)
		}
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
		if b[n] == nullTag {
			b = b[n+1:]
			fn(uint32(id), types.Null)
			continue
		}
		fam := types.Family(b[n])
		b = b[n+1:]
		var d types.Datum
		switch fam {
		case types.IntFamily, types.BoolFamily, types.TimestampFamily, types.DateFamily:
			v, m := binary.Varint(b)
			if m <= 0 {
				return fmt.Errorf("row value: corrupt integer")
			}
			b = b[m:]
			switch fam {
			case types.BoolFamily:
				d = types.NewBool(v != 0)
			case types.TimestampFamily:
				d = types.NewTimestamp(v)
			case types.DateFamily:
				d = types.NewDate(v)
			default:
				d = types.NewInt(v)
			}
		case types.FloatFamily:
			if len(b) < 8 {
				return fmt.Errorf("row value: corrupt float")
			}
			d = types.NewFloat(math.Float64frombits(binary.BigEndian.Uint64(b)))
			b = b[8:]
		case types.DecimalFamily, types.StringFamily:
			l, m := binary.Uvarint(b)
			if m <= 0 || uint64(len(b)-m) < l {
				return fmt.Errorf("row value: corrupt string")
			}
			s := string(b[m : m+int(l)])
			b = b[m+int(l):]
			if fam == types.StringFamily {
				d = types.NewString(s)
			} else {
				var err error
				if d, err = types.ParseDatum(types.Numeric, s); err != nil {
					return fmt.Errorf("row value: %w", err)
				}
			}
		default:
			return fmt.Errorf("row value: unknown type tag %d", fam)
		}
		fn(uint32(id), d)
	}
	return nil
}
