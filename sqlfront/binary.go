package sqlfront

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// PostgreSQL's binary formats count dates and timestamps from 2000-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1000000
)

// decodeBinary reads a parameter sent in binary format as type t.
func decodeBinary(t types.T, b []byte) (types.Datum, error) {
	bad := func() (types.Datum, error) {
		return types.Null, pgerr.New(pgerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter of type %s", t)
	}
	switch t.Family {
	case types.BoolFamily:
		if len(b) != 1 {
			return bad()
		}
		return types.NewBool(b[0] != 0), nil
	case types.IntFamily:
		var v int64
		switch len(b) {
		case 2:
			v = int64(int16(binary.BigEndian.Uint16(b)))
		case 4:
			v = int64(int32(binary.BigEndian.Uint32(b)))
		case 8:
			v = int64(binary.BigEndian.Uint64(b))
		default:
			return bad()
		}
		return types.CastInt(v, t)
	case types.FloatFamily:
		switch len(b) {
		case 4:
			f := float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
			if t.Width == 32 {
				return types.NewFloat4(f), nil
			}
			return types.NewFloat(f), nil
		case 8:
			return types.NewFloat(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
		}
		return bad()
	case types.StringFamily, types.UnknownFamily:
		return types.CastString(string(b), t)
	case types.DateFamily:
		if len(b) != 4 {
			return bad()
		}
		return types.NewDate(int64(int32(binary.BigEndian.Uint32(b))) + pgEpochDays), nil
	case types.TimestampFamily:
		if len(b) != 8 {
			return bad()
		}
		return types.NewTimestamp(int64(binary.BigEndian.Uint64(b)) + pgEpochMicros), nil
	case types.DecimalFamily:
		s, ok := numericFromBinary(b)
		if !ok {
			return bad()
		}
		return types.ParseDatum(types.Numeric, s)
	case types.TimestampTZFamily:
		if len(b) != 8 {
			return bad()
		}
		return types.NewTimestampTZ(int64(binary.BigEndian.Uint64(b)) + pgEpochMicros), nil
	case types.IntervalFamily:
		if len(b) != 16 {
			return bad()
		}
		return types.NewInterval(types.Span{
			Micros: int64(binary.BigEndian.Uint64(b)),
			Days:   int32(binary.BigEndian.Uint32(b[8:])),
			Months: int32(binary.BigEndian.Uint32(b[12:])),
		}), nil
	case types.BytesFamily:
		return types.NewBytes(string(b)), nil
	case types.UUIDFamily:
		if len(b) != 16 {
			return bad()
		}
		var u [16]byte
		copy(u[:], b)
		return types.NewUUID(u), nil
	case types.JSONFamily:
		if len(b) < 1 || b[0] != 1 {
			return bad()
		}
		return types.ParseDatum(t, string(b[1:]))
	case types.ArrayFamily:
		return decodeBinaryArray(t, b)
	}
	return types.Null, pgerr.New(pgerr.FeatureNotSupported, "binary format for parameters of type %s is not supported yet; send it as text", t)
}

// encodeBinary writes d of column type t in binary format; ok is false
// for a type without a binary encoding here.
func encodeBinary(t types.T, d types.Datum) ([]byte, bool) {
	switch t.Family {
	case types.BoolFamily:
		if d.Bool() {
			return []byte{1}, true
		}
		return []byte{0}, true
	case types.IntFamily:
		switch t.Width {
		case 16:
			return binary.BigEndian.AppendUint16(nil, uint16(d.Int())), true
		case 32:
			return binary.BigEndian.AppendUint32(nil, uint32(d.Int())), true
		}
		return binary.BigEndian.AppendUint64(nil, uint64(d.Int())), true
	case types.FloatFamily:
		if t.Width == 32 {
			return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(d.AsFloat()))), true
		}
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(d.AsFloat())), true
	case types.StringFamily, types.UnknownFamily:
		return []byte(d.Text()), true
	case types.DateFamily:
		return binary.BigEndian.AppendUint32(nil, uint32(int32(d.Int()-pgEpochDays))), true
	case types.TimestampFamily:
		return binary.BigEndian.AppendUint64(nil, uint64(d.Int()-pgEpochMicros)), true
	case types.DecimalFamily:
		return numericToBinary(d.AsDecimal()), true
	case types.TimestampTZFamily:
		return binary.BigEndian.AppendUint64(nil, uint64(d.Int()-pgEpochMicros)), true
	case types.IntervalFamily:
		v := d.Interval()
		b := binary.BigEndian.AppendUint64(nil, uint64(v.Micros))
		b = binary.BigEndian.AppendUint32(b, uint32(v.Days))
		return binary.BigEndian.AppendUint32(b, uint32(v.Months)), true
	case types.BytesFamily, types.UUIDFamily:
		return []byte(d.Str()), true
	case types.JSONFamily:
		return append([]byte{1}, d.Text()...), true
	case types.ArrayFamily:
		return encodeBinaryArray(t, d)
	}
	return nil, false
}

// encodeBinaryArray writes a one-dimensional array in PostgreSQL's binary
// format: ndim, has-null flag, element OID, then per dimension its length
// and lower bound (1), then each element as length + bytes (-1: NULL).
func encodeBinaryArray(t types.T, d types.Datum) ([]byte, bool) {
	elem := t.Elem()
	elems := d.Elems()
	b := make([]byte, 0, 20+8*len(elems))
	if len(elems) == 0 {
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, 0)
		return binary.BigEndian.AppendUint32(b, elem.OID()), true
	}
	hasNull := uint32(0)
	for _, e := range elems {
		if e.IsNull() {
			hasNull = 1
		}
	}
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, hasNull)
	b = binary.BigEndian.AppendUint32(b, elem.OID())
	b = binary.BigEndian.AppendUint32(b, uint32(len(elems)))
	b = binary.BigEndian.AppendUint32(b, 1)
	for _, e := range elems {
		if e.IsNull() {
			b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF)
			continue
		}
		v, ok := encodeBinary(elem, e)
		if !ok {
			return nil, false
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b, true
}

// decodeBinaryArray reads a one-dimensional (or empty) binary array.
func decodeBinaryArray(t types.T, b []byte) (types.Datum, error) {
	bad := pgerr.New(pgerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter of type %s", t)
	if len(b) < 12 {
		return types.Null, bad
	}
	ndim := binary.BigEndian.Uint32(b)
	b = b[12:]
	if ndim == 0 {
		return types.NewArray(nil), nil
	}
	if ndim != 1 || len(b) < 8 {
		return types.Null, pgerr.New(pgerr.FeatureNotSupported, "multidimensional arrays are not supported")
	}
	n := int(binary.BigEndian.Uint32(b))
	b = b[8:]
	if n < 0 || n > len(b)/4 { // each element needs at least its length word
		return types.Null, bad
	}
	elems := make([]types.Datum, 0, n)
	for i := 0; i < n; i++ {
		if len(b) < 4 {
			return types.Null, bad
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 {
			elems = append(elems, types.Null)
			continue
		}
		if int(l) > len(b) {
			return types.Null, bad
		}
		e, err := decodeBinary(t.Elem(), b[:l])
		if err != nil {
			return types.Null, err
		}
		elems = append(elems, e)
		b = b[l:]
	}
	return types.NewArray(elems), nil
}

// numericToBinary writes PostgreSQL's binary NUMERIC: ndigits, weight,
// sign, dscale (int16 each), then base-10000 digits.
func numericToBinary(d *apd.Decimal) []byte {
	out := make([]byte, 0, 16)
	put := func(v uint16) { out = binary.BigEndian.AppendUint16(out, v) }
	if d.Form != apd.Finite {
		sign := uint16(0xC000) // NaN
		if d.Form == apd.Infinite {
			sign = 0xD000
			if d.Negative {
				sign = 0xF000
			}
		}
		put(0)
		put(0)
		put(sign)
		put(0)
		return out
	}
	text := d.Text('f')
	neg := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")
	intPart, frac := text, ""
	if i := strings.IndexByte(text, '.'); i >= 0 {
		intPart, frac = text[:i], text[i+1:]
	}
	dscale := len(frac)
	intPart = strings.TrimLeft(intPart, "0")
	// Pad to whole groups of four digits on both sides of the point.
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(frac) % 4; r != 0 {
		frac += strings.Repeat("0", 4-r)
	}
	var digits []uint16
	for i := 0; i < len(intPart); i += 4 {
		digits = append(digits, atoi4(intPart[i:i+4]))
	}
	weight := len(digits) - 1
	for i := 0; i < len(frac); i += 4 {
		digits = append(digits, atoi4(frac[i:i+4]))
	}
	// Strip leading and trailing zero groups.
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	sign := uint16(0)
	if neg && len(digits) > 0 {
		sign = 0x4000
	}
	if len(digits) == 0 {
		weight = 0
	}
	put(uint16(len(digits)))
	put(uint16(int16(weight)))
	put(sign)
	put(uint16(dscale))
	for _, g := range digits {
		put(g)
	}
	return out
}

func atoi4(s string) uint16 {
	var v uint16
	for _, c := range s {
		v = v*10 + uint16(c-'0')
	}
	return v
}

// numericFromBinary reads PostgreSQL's binary NUMERIC as decimal text.
func numericFromBinary(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(binary.BigEndian.Uint16(b[6:]))
	if len(b) != 8+2*n || dscale > 16383 {
		return "", false
	}
	switch sign {
	case 0xC000:
		return "NaN", true
	case 0x0000, 0x4000:
	default: // ±Infinity (0xD000, 0xF000) or garbage
		return "", false
	}
	for i := 0; i < n; i++ {
		if binary.BigEndian.Uint16(b[8+2*i:]) > 9999 {
			return "", false
		}
	}
	var sb strings.Builder
	if sign == 0x4000 {
		sb.WriteByte('-')
	}
	digit := func(i int) uint16 {
		if i < 0 || i >= n {
			return 0
		}
		return binary.BigEndian.Uint16(b[8+2*i:])
	}
	// Integer part: groups 0..weight.
	if weight < 0 {
		sb.WriteByte('0')
	} else {
		for i := 0; i <= weight; i++ {
			g := digit(i)
			if i == 0 {
				sb.WriteString(itoa(int(g)))
			} else {
				sb.WriteString(pad4(g))
			}
		}
	}
	if dscale > 0 {
		var frac strings.Builder
		for i := weight + 1; frac.Len() < dscale; i++ {
			frac.WriteString(pad4(digit(i)))
		}
		sb.WriteByte('.')
		sb.WriteString(frac.String()[:dscale])
	}
	return sb.String(), true
}

func pad4(v uint16) string {
	s := itoa(int(v))
	return strings.Repeat("0", 4-len(s)) + s
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
