package types

import (
	"cmp"
	"encoding/hex"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// Datum is one SQL value. The zero Datum is NULL.
type Datum struct {
	fam  Family
	null bool
	sub  uint8 // subFloat4 or subBpchar: a variant of the family's representation
	i    int64 // ints, bools (0/1), timestamps (µs since the Unix epoch), dates (days since it), interval µs
	f    float64
	s    string // text, bytea bytes, the 16 bytes of a uuid, the normalised text of a jsonb
	d    *apd.Decimal
	arr  *[]Datum // array elements
}

// Variants of a family's representation (Datum.sub).
const (
	subFloat4 uint8 = 1 // a FloatFamily datum holding a real (float32) value
	subBpchar uint8 = 2 // a StringFamily datum of type character(n), blank-padded
)

// Null is the SQL NULL.
var Null = Datum{null: true}

// NewInt returns an integer datum.
func NewInt(v int64) Datum { return Datum{fam: IntFamily, i: v} }

// NewFloat returns a double precision datum.
func NewFloat(v float64) Datum { return Datum{fam: FloatFamily, f: v} }

// NewFloat4 returns a real datum (v rounded to float32).
func NewFloat4(v float64) Datum {
	return Datum{fam: FloatFamily, f: float64(float32(v)), sub: subFloat4}
}

// IsFloat4 reports whether d is a real (not double precision).
func (d Datum) IsFloat4() bool { return d.fam == FloatFamily && d.sub == subFloat4 }

// NewBpchar returns a character(n) datum; s should already be padded.
func NewBpchar(s string) Datum { return Datum{fam: StringFamily, s: s, sub: subBpchar} }

// IsBpchar reports whether d is a character(n) value.
func (d Datum) IsBpchar() bool { return d.fam == StringFamily && d.sub == subBpchar }

// NewTimestampTZ returns a timestamp with time zone from µs since the epoch (UTC).
func NewTimestampTZ(micros int64) Datum { return Datum{fam: TimestampTZFamily, i: micros} }

// NewBytes returns a bytea datum.
func NewBytes(b string) Datum { return Datum{fam: BytesFamily, s: b} }

// NewUUID returns a uuid datum from its 16 bytes.
func NewUUID(b [16]byte) Datum { return Datum{fam: UUIDFamily, s: string(b[:])} }

// NewJSONText returns a jsonb datum from its normalised text (see ParseJSON).
func NewJSONText(normalised string) Datum { return Datum{fam: JSONFamily, s: normalised} }

// NewArray returns an array datum.
func NewArray(elems []Datum) Datum { return Datum{fam: ArrayFamily, arr: &elems} }

// Elems returns the elements of an array datum.
func (d Datum) Elems() []Datum {
	if d.arr == nil {
		return nil
	}
	return *d.arr
}

// NewBool returns a boolean datum.
func NewBool(v bool) Datum {
	d := Datum{fam: BoolFamily}
	if v {
		d.i = 1
	}
	return d
}

// NewString returns a text datum.
func NewString(v string) Datum { return Datum{fam: StringFamily, s: v} }

// NewDecimal returns a numeric datum; d must not be changed afterwards.
// A negative zero becomes zero (PostgreSQL's numeric has no -0).
func NewDecimal(d *apd.Decimal) Datum {
	if d.Negative && d.Form == apd.Finite && d.Coeff.Sign() == 0 {
		d = new(apd.Decimal).Set(d)
		d.Negative = false
	}
	return Datum{fam: DecimalFamily, d: d}
}

// NewTimestamp returns a timestamp datum from microseconds since the epoch.
func NewTimestamp(micros int64) Datum { return Datum{fam: TimestampFamily, i: micros} }

// NewDate returns a date datum from days since the epoch.
func NewDate(days int64) Datum { return Datum{fam: DateFamily, i: days} }

// IsNull reports whether d is NULL.
func (d Datum) IsNull() bool { return d.null || d.fam == UnknownFamily }

// Family returns the datum's family (UnknownFamily for NULL).
func (d Datum) Family() Family {
	if d.null {
		return UnknownFamily
	}
	return d.fam
}

// Int returns the integer (also the µs of a timestamp, days of a date).
func (d Datum) Int() int64 { return d.i }

// Float returns the float value.
func (d Datum) Float() float64 { return d.f }

// Bool returns the boolean value.
func (d Datum) Bool() bool { return d.i != 0 }

// Str returns the string value.
func (d Datum) Str() string { return d.s }

// Decimal returns the numeric value.
func (d Datum) Decimal() *apd.Decimal { return d.d }

// AsFloat returns a numeric datum (int, float, numeric) as a float64.
func (d Datum) AsFloat() float64 {
	switch d.fam {
	case IntFamily:
		return float64(d.i)
	case DecimalFamily:
		f, _ := d.d.Float64()
		return f
	}
	return d.f
}

// AsDecimal returns an int or numeric datum as a decimal.
func (d Datum) AsDecimal() *apd.Decimal {
	if d.fam == DecimalFamily {
		return d.d
	}
	return apd.New(d.i, 0)
}

// Compare orders two non-NULL datums. Numbers of different families compare
// by value; other mixes compare by family.
func Compare(a, b Datum) int {
	if a.fam != b.fam {
		if isNumber(a.fam) && isNumber(b.fam) {
			if a.fam == FloatFamily || b.fam == FloatFamily {
				return compareFloat(a.AsFloat(), b.AsFloat())
			}
			return compareDecimal(a.AsDecimal(), b.AsDecimal()) // NaN above every integer
		}
		return cmp.Compare(a.fam, b.fam)
	}
	switch a.fam {
	case IntFamily, BoolFamily, TimestampFamily, DateFamily, TimestampTZFamily:
		return cmp.Compare(a.i, b.i)
	case IntervalFamily:
		return CompareInterval(a.Interval(), b.Interval())
	case BytesFamily, UUIDFamily:
		return strings.Compare(a.s, b.s)
	case JSONFamily:
		return compareJSON(a.s, b.s)
	case ArrayFamily:
		ae, be := a.Elems(), b.Elems()
		for i := 0; i < len(ae) && i < len(be); i++ {
			// NULL elements sort after non-NULL ones, as PostgreSQL's array comparison does.
			an, bn := ae[i].IsNull(), be[i].IsNull()
			switch {
			case an && bn:
				continue
			case an:
				return 1
			case bn:
				return -1
			}
			if c := Compare(ae[i], be[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(ae), len(be))
	case FloatFamily:
		return compareFloat(a.f, b.f)
	case DecimalFamily:
		return compareDecimal(a.d, b.d)
	case StringFamily:
		if a.sub == subBpchar || b.sub == subBpchar {
			return strings.Compare(a.TrimmedStr(), b.TrimmedStr())
		}
		return strings.Compare(a.s, b.s)
	}
	return 0
}

// TrimmedStr returns a string datum's value, without the trailing blanks
// of a character(n) value (its value as text).
func (d Datum) TrimmedStr() string {
	if d.sub == subBpchar {
		return strings.TrimRight(d.s, " ")
	}
	return d.s
}

func isNumber(f Family) bool { return f == IntFamily || f == FloatFamily || f == DecimalFamily }

// compareFloat orders floats as PostgreSQL does: NaN is greater than everything and equal to itself.
func compareFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

func compareDecimal(a, b *apd.Decimal) int {
	an, bn := a.Form == apd.NaN, b.Form == apd.NaN
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return a.Cmp(b)
}

const timestampLayout = "2006-01-02 15:04:05.999999"

// Text returns the PostgreSQL text output of d (for NULL, the empty string).
func (d Datum) Text() string {
	if d.IsNull() {
		return ""
	}
	switch d.fam {
	case BoolFamily:
		if d.i != 0 {
			return "t"
		}
		return "f"
	case IntFamily:
		return strconv.FormatInt(d.i, 10)
	case FloatFamily:
		if d.sub == subFloat4 {
			return FormatFloat4(float32(d.f))
		}
		return FormatFloat(d.f)
	case DecimalFamily:
		if d.d.Form == apd.NaN {
			return "NaN"
		}
		return d.d.Text('f')
	case StringFamily:
		return d.s
	case TimestampFamily, DateFamily, TimestampTZFamily:
		switch {
		case d.i == PosInfinity:
			return "infinity"
		case d.i == NegInfinity:
			return "-infinity"
		case d.fam == DateFamily:
			return time.Unix(d.i*86400, 0).UTC().Format("2006-01-02")
		case d.fam == TimestampTZFamily:
			return time.UnixMicro(d.i).UTC().Format(timestampLayout) + "+00"
		}
		return time.UnixMicro(d.i).UTC().Format(timestampLayout)
	case IntervalFamily:
		return FormatInterval(d.Interval())
	case BytesFamily:
		return `\x` + hex.EncodeToString([]byte(d.s))
	case UUIDFamily:
		h := hex.EncodeToString([]byte(d.s))
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	case JSONFamily:
		return d.s
	case ArrayFamily:
		return formatArray(d.Elems())
	}
	return ""
}

// String returns the text output, or NULL.
func (d Datum) String() string {
	if d.IsNull() {
		return "NULL"
	}
	return d.Text()
}

// FormatFloat4 formats a real as PostgreSQL 15 does: the shortest digits
// that round-trip through float32, in exponent form outside [1e-4, 1e6).
func FormatFloat4(f float32) string {
	switch {
	case math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || f == 0:
		return FormatFloat(float64(f))
	}
	return formatShortest(shortestFloat(float64(f), 32), 6)
}

// shortestFloat returns the shortest 'e' form of f (of the given bit
// size) that reads back as f, excluding decimals that lie exactly halfway
// to a neighbouring float: PostgreSQL's Ryu output is built without
// FLOAT_SHORTEST_ACCEPT_BOUNDS, so it never takes such a bound, where Go's
// shortest formatting does.
func shortestFloat(f float64, bits int) string {
	e := strconv.FormatFloat(f, 'e', -1, bits)
	if !onBound(f, bits, e) {
		return e
	}
	prec := 0
	if dot := strings.IndexByte(e, '.'); dot >= 0 {
		prec = strings.IndexByte(e, 'e') - dot - 1
	}
	for prec++; prec < 18; prec++ {
		s := strconv.FormatFloat(f, 'e', prec, bits)
		if v, err := strconv.ParseFloat(s, bits); err == nil && v == f && !onBound(f, bits, s) {
			return s
		}
	}
	return e
}

// onBound reports whether the decimal s is exactly halfway between f and
// one of its neighbours.
func onBound(f float64, bits int, s string) bool {
	if !maybeDyadic(f, bits, s) {
		return false
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return false
	}
	for _, dir := range []float64{math.Inf(1), math.Inf(-1)} {
		var next float64
		if bits == 32 {
			next = float64(math.Nextafter32(float32(f), float32(dir)))
		} else {
			next = math.Nextafter(f, dir)
		}
		if math.IsInf(next, 0) {
			continue
		}
		mid := new(big.Rat).Add(new(big.Rat).SetFloat64(f), new(big.Rat).SetFloat64(next))
		mid.Quo(mid, big.NewRat(2, 1))
		if v.Cmp(mid) == 0 {
			return true
		}
	}
	return false
}

// maybeDyadic is a cheap filter for onBound: a midpoint between floats is
// a dyadic rational, so a decimal D×10^-k (k > 0) can only be one if 5^k
// divides D, and an integer only if the floats there are at least 2 apart.
func maybeDyadic(f float64, bits int, s string) bool {
	mant, expStr, _ := strings.Cut(strings.TrimPrefix(s, "-"), "e")
	exp, _ := strconv.Atoi(expStr)
	frac := 0
	if dot := strings.IndexByte(mant, '.'); dot >= 0 {
		frac = len(mant) - dot - 1
		mant = mant[:dot] + mant[dot+1:]
	}
	k := frac - exp // the value is mant × 10^-k
	if k <= 0 {
		return math.Abs(f) >= math.Ldexp(1, map[int]int{32: 24, 64: 53}[bits])
	}
	d, err := strconv.ParseUint(mant, 10, 64)
	if err != nil || k > 27 {
		return true
	}
	p := uint64(1)
	for i := 0; i < k; i++ {
		p *= 5
	}
	return d%p == 0
}

// FormatFloat formats f as PostgreSQL 15 does with extra_float_digits = 1:
// the shortest digits that round-trip, in exponent form outside [1e-4, 1e15).
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	return formatShortest(shortestFloat(f, 64), 15)
}

// formatShortest writes the 'e' form e as PostgreSQL does: in exponent
// form when the exponent is below -4 or at least hiExp, else positional.
func formatShortest(e string, hiExp int) string {
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= hiExp {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	neg := strings.HasPrefix(mant, "-")
	digits := strings.Replace(strings.TrimPrefix(mant, "-"), ".", "", 1)
	var out string
	switch {
	case exp < 0:
		out = "0." + strings.Repeat("0", -exp-1) + digits
	case exp+1 >= len(digits):
		out = digits + strings.Repeat("0", exp+1-len(digits))
	default:
		out = digits[:exp+1] + "." + digits[exp+1:]
	}
	if neg {
		out = "-" + out
	}
	return out
}

func invalidInput(t T, s string) error {
	name := t.String()
	switch {
	case t.Varchar:
		name = "character varying"
	case t.Bpchar:
		name = "character"
	case t.Family == FloatFamily && t.Width == 32:
		name = "real"
	case t.Family == ArrayFamily:
		name = t.String()
	}
	return pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type %s: \"%s\"", name, s)
}

// ParseDatum reads the text form of a value of type t.
func ParseDatum(t T, s string) (Datum, error) {
	switch t.Family {
	case BoolFamily:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "y", "yes", "on", "1":
			return NewBool(true), nil
		case "f", "false", "n", "no", "off", "0":
			return NewBool(false), nil
		}
		return Null, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type boolean: \"%s\"", s)
	case IntFamily:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "value \"%s\" is out of range for type %s", s, t)
			}
			return Null, invalidInput(t, s)
		}
		return CastInt(v, t)
	case FloatFamily:
		ts := strings.TrimSpace(s)
		switch strings.ToLower(ts) {
		case "nan":
			return floatOf(t, math.NaN()), nil
		case "infinity", "+infinity", "inf":
			return floatOf(t, math.Inf(1)), nil
		case "-infinity", "-inf":
			return floatOf(t, math.Inf(-1)), nil
		}
		v, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "\"%s\" is out of range for type %s", s, t)
			}
			return Null, invalidInput(t, s)
		}
		if t.Width == 32 {
			if f := float32(v); math.IsInf(float64(f), 0) || (f == 0 && v != 0) {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "\"%s\" is out of range for type real", s)
			}
			return NewFloat4(v), nil
		}
		return NewFloat(v), nil
	case DecimalFamily:
		ts := strings.TrimSpace(s)
		if strings.EqualFold(ts, "nan") {
			return NewDecimal(&apd.Decimal{Form: apd.NaN}), nil
		}
		d, _, err := apd.NewFromString(ts)
		if err != nil || d.Form != apd.Finite {
			return Null, invalidInput(t, s)
		}
		return NewDecimal(NormalizeNumeric(d)), nil
	case StringFamily, UnknownFamily:
		return CastString(s, t)
	case TimestampFamily, TimestampTZFamily:
		us, _, err := parseTimestamp(s, t.Family == TimestampTZFamily)
		if err != nil {
			if err == errSyntax {
				return Null, badDatetime(t, s)
			}
			return Null, err
		}
		if t.Family == TimestampTZFamily {
			return NewTimestampTZ(us), nil
		}
		return NewTimestamp(us), nil
	case DateFamily:
		us, _, err := parseTimestamp(s, false)
		if err != nil {
			if err == errSyntax {
				return Null, badDatetime(t, s)
			}
			return Null, err
		}
		return NewDate(MicrosToDate(us)), nil
	case IntervalFamily:
		v, err := ParseInterval(s)
		if err != nil {
			return Null, err
		}
		return NewInterval(v), nil
	case BytesFamily:
		return parseBytea(s)
	case UUIDFamily:
		return parseUUID(s)
	case JSONFamily:
		return ParseJSON(s)
	case ArrayFamily:
		return ParseArray(t.Elem(), s)
	}
	return Null, invalidInput(t, s)
}

// NormalizeNumeric gives a number read with a positive exponent (1e2,
// 0e2) scale 0, as numeric_in does: it prints as 100 and 0, not 1E+2 or
// 000; and -0 becomes 0.
func NormalizeNumeric(d *apd.Decimal) *apd.Decimal {
	if d.Form == apd.Finite && d.Negative && d.IsZero() { // numeric has no -0
		c := *d
		c.Negative = false
		d = &c
	}
	if d.Form != apd.Finite || d.Exponent <= 0 || d.Exponent > 131072 {
		return d
	}
	var out apd.Decimal
	if _, err := apd.BaseContext.WithPrecision(uint32(d.NumDigits())+uint32(d.Exponent)+1).Quantize(&out, d, 0); err != nil {
		return d
	}
	return &out
}

// CastInt checks that v fits t's width.
func CastInt(v int64, t T) (Datum, error) {
	switch t.Width {
	case 16:
		if v < math.MinInt16 || v > math.MaxInt16 {
			return Null, pgerr.New(pgerr.NumericOutOfRange, "smallint out of range")
		}
	case 32:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return Null, pgerr.New(pgerr.NumericOutOfRange, "integer out of range")
		}
	}
	return NewInt(v), nil
}

func floatOf(t T, v float64) Datum {
	if t.Width == 32 {
		return NewFloat4(v)
	}
	return NewFloat(v)
}

// CastString checks a string against t's length limit; character(n)
// values are padded with blanks. Trailing blanks beyond the limit are cut
// off rather than an error, as in PostgreSQL.
func CastString(s string, t T) (Datum, error) {
	if t.Len > 0 {
		r := []rune(s)
		if len(r) > t.Len {
			if strings.TrimRight(string(r[t.Len:]), " ") != "" {
				name := "character varying"
				if t.Bpchar {
					name = "character"
				}
				return Null, pgerr.New(pgerr.StringDataRightTrunc, "value too long for type %s(%d)", name, t.Len)
			}
			s = string(r[:t.Len])
			r = r[:t.Len]
		}
		if t.Bpchar && len(r) < t.Len {
			s += strings.Repeat(" ", t.Len-len(r))
		}
	}
	if t.Bpchar {
		return NewBpchar(s), nil
	}
	return NewString(s), nil
}

// CastTruncating is an explicit cast: to varchar(n) or character(n) it
// cuts the string to n characters instead of failing.
func CastTruncating(d Datum, t T) (Datum, error) {
	if t.Family == StringFamily && t.Len > 0 && !d.IsNull() {
		s := d.s
		if d.fam == StringFamily {
			if d.sub == subBpchar && !t.Bpchar {
				s = d.TrimmedStr()
			}
		} else {
			c, err := Cast(d, Text)
			if err != nil {
				return Null, err
			}
			s = c.s
		}
		if r := []rune(s); len(r) > t.Len {
			s = string(r[:t.Len])
		}
		return CastString(s, t)
	}
	return Cast(d, t)
}

// castFloat4 rounds v to a real, failing as float8 -> float4 does.
func castFloat4(v float64) (Datum, error) {
	f := float32(v)
	if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
		return Null, pgerr.New(pgerr.NumericOutOfRange, "value out of range: overflow")
	}
	if f == 0 && v != 0 {
		return Null, pgerr.New(pgerr.NumericOutOfRange, "value out of range: underflow")
	}
	return NewFloat4(v), nil
}

func parseBytea(s string) (Datum, error) {
	if strings.HasPrefix(s, `\x`) {
		h := s[2:]
		out := make([]byte, 0, len(h)/2)
		for i := 0; i < len(h); {
			c := h[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
			if i+1 >= len(h) {
				return Null, pgerr.New(pgerr.InvalidTextRep, "invalid hexadecimal data: odd number of digits")
			}
			b, err := hex.DecodeString(h[i : i+2])
			if err != nil {
				return Null, pgerr.New(pgerr.InvalidTextRep, "invalid hexadecimal digit: \"%s\"", h[i:i+1])
			}
			out = append(out, b[0])
			i += 2
		}
		return NewBytes(string(out)), nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3':
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
		default:
			return Null, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type bytea")
		}
	}
	return NewBytes(string(out)), nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func parseUUID(s string) (Datum, error) {
	h := strings.TrimSpace(s)
	if strings.HasPrefix(h, "{") && strings.HasSuffix(h, "}") {
		h = h[1 : len(h)-1]
	}
	var out [16]byte
	n := 0
	for i := 0; i < len(h); {
		if h[i] == '-' && n > 0 && n%4 == 0 && i+1 < len(h) && h[i+1] != '-' {
			i++
			continue
		}
		if n == 32 || i+1 >= len(h) {
			return Null, invalidInput(UUID, s)
		}
		b, err := hex.DecodeString(h[i : i+2])
		if err != nil {
			return Null, invalidInput(UUID, s)
		}
		out[n/2] = b[0]
		n += 2
		i += 2
	}
	if n != 32 {
		return Null, invalidInput(UUID, s)
	}
	return NewUUID(out), nil
}

// Cast converts d to type t (an assignment or explicit cast).
func Cast(d Datum, t T) (Datum, error) {
	if d.IsNull() {
		return Null, nil
	}
	if t.Family == UnknownFamily {
		return d, nil
	}
	if d.fam == JSONFamily && t.Family != JSONFamily && t.Family != StringFamily {
		return castJSONScalar(d, t)
	}
	if d.fam == StringFamily && t.Family != StringFamily {
		return ParseDatum(t, d.s) // an I/O conversion: character(n) keeps its padding
	}
	switch t.Family {
	case IntFamily:
		switch d.fam {
		case IntFamily:
			return CastInt(d.i, t)
		case FloatFamily:
			if math.IsNaN(d.f) || math.IsInf(d.f, 0) || math.Abs(d.f) >= 9.223372036854775807e18 {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "%s out of range", t)
			}
			return CastInt(int64(math.RoundToEven(d.f)), t)
		case DecimalFamily:
			var r apd.Decimal
			if _, err := apd.BaseContext.WithPrecision(1000).RoundToIntegralValue(&r, d.d); err != nil {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "%s out of range", t)
			}
			v, err := r.Int64()
			if err != nil {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "%s out of range", t)
			}
			return CastInt(v, t)
		case BoolFamily:
			return NewInt(d.i), nil
		}
	case FloatFamily:
		switch d.fam {
		case IntFamily, FloatFamily, DecimalFamily:
			if t.Width == 32 {
				return castFloat4(d.AsFloat())
			}
			return NewFloat(d.AsFloat()), nil
		}
	case DecimalFamily:
		switch d.fam {
		case IntFamily:
			return NewDecimal(apd.New(d.i, 0)), nil
		case DecimalFamily:
			return d, nil
		case FloatFamily:
			if math.IsNaN(d.f) {
				return NewDecimal(&apd.Decimal{Form: apd.NaN}), nil
			}
			if math.IsInf(d.f, 0) {
				return Null, pgerr.New(pgerr.FeatureNotSupported, "cannot convert infinity to numeric")
			}
			digits, size := 15, 64
			if d.sub == subFloat4 {
				digits, size = 6, 32
			}
			dec, _, err := apd.NewFromString(strconv.FormatFloat(d.f, 'g', digits, size))
			if err != nil {
				return Null, err
			}
			return NewDecimal(dec), nil
		}
	case StringFamily:
		switch d.fam {
		case StringFamily:
			if d.sub == subBpchar && !t.Bpchar {
				return CastString(d.TrimmedStr(), t)
			}
			return CastString(d.s, t)
		case BoolFamily:
			// bool::text is 'true'/'false', unlike bool's output form 't'/'f'.
			if d.Bool() {
				return CastString("true", t)
			}
			return CastString("false", t)
		}
		return CastString(d.Text(), t)
	case BoolFamily:
		switch d.fam {
		case BoolFamily:
			return d, nil
		case IntFamily:
			return NewBool(d.i != 0), nil
		}
	case TimestampFamily, TimestampTZFamily:
		switch d.fam {
		case TimestampFamily, TimestampTZFamily:
			return Datum{fam: t.Family, i: d.i}, nil
		case DateFamily:
			return Datum{fam: t.Family, i: DateToMicros(d.i)}, nil
		}
	case DateFamily:
		switch d.fam {
		case DateFamily:
			return d, nil
		case TimestampFamily, TimestampTZFamily:
			return NewDate(MicrosToDate(d.i)), nil
		}
	case IntervalFamily, BytesFamily, UUIDFamily, JSONFamily:
		if d.fam == t.Family {
			return d, nil
		}
	case ArrayFamily:
		if d.fam == ArrayFamily {
			elems := d.Elems()
			out := make([]Datum, len(elems))
			for i, e := range elems {
				c, err := Cast(e, t.Elem())
				if err != nil {
					return Null, err
				}
				out[i] = c
			}
			return NewArray(out), nil
		}
	}
	return Null, pgerr.New(pgerr.DatatypeMismatch, "cannot cast type %s to %s", d.TypeName(), t)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// TypeName names the datum's type for error messages.
func (d Datum) TypeName() string {
	switch d.Family() {
	case BoolFamily:
		return "boolean"
	case IntFamily:
		return "bigint"
	case FloatFamily:
		return "double precision"
	case DecimalFamily:
		return "numeric"
	case StringFamily:
		return "text"
	case TimestampFamily:
		return "timestamp without time zone"
	case DateFamily:
		return "date"
	case TimestampTZFamily:
		return "timestamp with time zone"
	case IntervalFamily:
		return "interval"
	case BytesFamily:
		return "bytea"
	case UUIDFamily:
		return "uuid"
	case JSONFamily:
		return "jsonb"
	case ArrayFamily:
		return "array"
	}
	return "unknown"
}
