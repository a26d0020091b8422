package types

import (
	"cmp"
	"math"
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
	i    int64 // ints, bools (0/1), timestamps (µs since the Unix epoch), dates (days since it)
	f    float64
	s    string
	d    *apd.Decimal
}

// Null is the SQL NULL.
var Null = Datum{null: true}

// NewInt returns an integer datum.
func NewInt(v int64) Datum { return Datum{fam: IntFamily, i: v} }

// NewFloat returns a double precision datum.
func NewFloat(v float64) Datum { return Datum{fam: FloatFamily, f: v} }

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
	case IntFamily, BoolFamily, TimestampFamily, DateFamily:
		return cmp.Compare(a.i, b.i)
	case FloatFamily:
		return compareFloat(a.f, b.f)
	case DecimalFamily:
		return compareDecimal(a.d, b.d)
	case StringFamily:
		return strings.Compare(a.s, b.s)
	}
	return 0
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
		return FormatFloat(d.f)
	case DecimalFamily:
		if d.d.Form == apd.NaN {
			return "NaN"
		}
		return d.d.Text('f')
	case StringFamily:
		return d.s
	case TimestampFamily:
		return time.UnixMicro(d.i).UTC().Format(timestampLayout)
	case DateFamily:
		return time.Unix(d.i*86400, 0).UTC().Format("2006-01-02")
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
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 15 {
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
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func invalidInput(t T, s string) error {
	name := t.String()
	if t.Varchar {
		name = "character varying"
	}
	return pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type %s: %q", name, s)
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
		return Null, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type boolean: %q", s)
	case IntFamily:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "value %q is out of range for type %s", s, t)
			}
			return Null, invalidInput(t, s)
		}
		return CastInt(v, t)
	case FloatFamily:
		ts := strings.TrimSpace(s)
		switch strings.ToLower(ts) {
		case "nan":
			return NewFloat(math.NaN()), nil
		case "infinity", "+infinity", "inf":
			return NewFloat(math.Inf(1)), nil
		case "-infinity", "-inf":
			return NewFloat(math.Inf(-1)), nil
		}
		v, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return Null, pgerr.New(pgerr.NumericOutOfRange, "%q is out of range for type double precision", s)
			}
			return Null, invalidInput(t, s)
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
		return NewDecimal(d), nil
	case StringFamily, UnknownFamily:
		return CastString(s, t)
	case TimestampFamily:
		ts := strings.TrimSpace(s)
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
			if tm, err := time.Parse(layout, ts); err == nil {
				return NewTimestamp(tm.UnixMicro()), nil
			}
		}
		return Null, invalidInput(t, s)
	case DateFamily:
		tm, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			return Null, invalidInput(t, s)
		}
		return NewDate(tm.Unix() / 86400), nil
	}
	return Null, invalidInput(t, s)
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

// CastString checks a string against t's length limit.
func CastString(s string, t T) (Datum, error) {
	if t.Len > 0 && len([]rune(s)) > t.Len {
		return Null, pgerr.New(pgerr.StringDataRightTrunc, "value too long for type character varying(%d)", t.Len)
	}
	return NewString(s), nil
}

// Cast converts d to type t (an assignment or explicit cast).
func Cast(d Datum, t T) (Datum, error) {
	if d.IsNull() {
		return Null, nil
	}
	switch t.Family {
	case UnknownFamily:
		return d, nil
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
		case StringFamily:
			return ParseDatum(t, d.s)
		}
	case FloatFamily:
		switch d.fam {
		case IntFamily, FloatFamily, DecimalFamily:
			return NewFloat(d.AsFloat()), nil
		case StringFamily:
			return ParseDatum(t, d.s)
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
			dec, _, err := apd.NewFromString(strconv.FormatFloat(d.f, 'g', 15, 64))
			if err != nil {
				return Null, err
			}
			return NewDecimal(dec), nil
		case StringFamily:
			return ParseDatum(t, d.s)
		}
	case StringFamily:
		switch d.fam {
		case StringFamily:
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
		case StringFamily:
			return ParseDatum(t, d.s)
		}
	case TimestampFamily:
		switch d.fam {
		case TimestampFamily:
			return d, nil
		case DateFamily:
			return NewTimestamp(d.i * 86400 * 1e6), nil
		case StringFamily:
			return ParseDatum(t, d.s)
		}
	case DateFamily:
		switch d.fam {
		case DateFamily:
			return d, nil
		case TimestampFamily:
			return NewDate(floorDiv(d.i, 86400*1e6)), nil
		case StringFamily:
			return ParseDatum(t, d.s)
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
	}
	return "unknown"
}
