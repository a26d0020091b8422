package exec

import (
	"math"
	"math/big"
	"regexp"
	"strconv"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// PostgreSQL's numeric result scales: at least minSigDigits significant
// digits, never fewer fraction digits than an input shows, at most
// maxDisplayScale.
const (
	minSigDigits    = 16
	maxDisplayScale = 1000
)

// dscale is the number of fraction digits d shows.
func dscale(d *apd.Decimal) int {
	if d.Exponent < 0 {
		return int(-d.Exponent)
	}
	return 0
}

// nbase returns d's weight and leading digit in PostgreSQL's base-10000
// representation of numerics (0, 0 for zero), which its scale rules use.
func nbase(d *apd.Decimal) (weight, first int) {
	if d.IsZero() {
		return 0, 0
	}
	digits := d.Coeff.String()
	lead := len(digits) - 1 + int(d.Exponent) // power of ten of the leading digit
	weight = lead / 4
	if lead < 0 && lead%4 != 0 {
		weight--
	}
	k := lead - weight*4 + 1 // decimal digits in the leading base-10000 digit
	for i := 0; i < k; i++ {
		first *= 10
		if i < len(digits) {
			first += int(digits[i] - '0')
		}
	}
	return weight, first
}

func clampScale(s int) int { return min(max(s, 0), maxDisplayScale) }

// roundTo rounds d to scale fraction digits, half away from zero.
func roundTo(d *apd.Decimal, scale int) (*apd.Decimal, error) {
	c := apd.BaseContext.WithPrecision(uint32(max(int(d.NumDigits())+int(d.Exponent), 0) + scale + 2))
	c.Rounding = apd.RoundHalfUp
	out := new(apd.Decimal)
	if _, err := c.Quantize(out, d, -int32(scale)); err != nil {
		return nil, pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
	}
	if out.IsZero() {
		out.Negative = false
	}
	return out, nil
}

// workCtx has room for a result of about intDigits integer digits and
// scale fraction digits, plus guard digits; it truncates, so the final
// roundTo rounds once.
func workCtx(intDigits, scale int) *apd.Context {
	c := apd.BaseContext.WithPrecision(uint32(max(intDigits, 1) + scale + 8))
	c.Rounding = apd.RoundDown
	return c
}

// numericDiv divides with PostgreSQL's choice of result scale
// (select_div_scale): enough fraction digits for minSigDigits significant
// digits, at least either input's scale.
func numericDiv(a, b *apd.Decimal) (types.Datum, error) {
	if b.IsZero() {
		return types.Null, errDivZero
	}
	w1, f1 := nbase(a)
	w2, f2 := nbase(b)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	scale := clampScale(max(minSigDigits-qweight*4, dscale(a), dscale(b)))
	var q apd.Decimal
	intDigits := int(a.NumDigits()+int64(a.Exponent)) - int(b.NumDigits()+int64(b.Exponent)) + 2
	if _, err := workCtx(intDigits, scale).Quo(&q, a, b); err != nil {
		return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
	}
	r, err := roundTo(&q, scale)
	if err != nil {
		return types.Null, err
	}
	return types.NewDecimal(r), nil
}

var errNegSqrt = pgerr.New("2201F", "cannot take square root of a negative number")

// numericSqrt takes a square root with PostgreSQL's result scale.
func numericSqrt(x *apd.Decimal) (types.Datum, error) {
	if x.Negative && !x.IsZero() {
		return types.Null, errNegSqrt
	}
	w, _ := nbase(x)
	sweight := (w+1)*4/2 - 1
	scale := clampScale(max(minSigDigits-sweight, dscale(x)))
	var r apd.Decimal
	if _, err := workCtx(int(x.NumDigits()+int64(x.Exponent))/2+1, scale).Sqrt(&r, x); err != nil {
		return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
	}
	out, err := roundTo(&r, scale)
	if err != nil {
		return types.Null, err
	}
	return types.NewDecimal(out), nil
}

var (
	errZeroNegPower = pgerr.New("2201F", "zero raised to a negative power is undefined")
	errComplexPower = pgerr.New("2201F", "a negative number raised to a non-integer power yields a complex result")
	errNumOverflow  = pgerr.New(pgerr.NumericOutOfRange, "value overflows numeric format")
)

// numericPower raises x to y with PostgreSQL 15's result scales: an
// integer exponent gives max(16, x's scale) fraction digits; otherwise
// enough for minSigDigits significant digits, at least either input's.
func numericPower(x, y *apd.Decimal) (types.Datum, error) {
	var frac, whole apd.Decimal
	y.Modf(&whole, &frac)
	integral := frac.IsZero()
	switch {
	case x.IsZero() && y.Negative && !y.IsZero():
		return types.Null, errZeroNegPower
	case x.Negative && !x.IsZero() && !integral:
		return types.Null, errComplexPower
	}
	xf, _ := x.Float64()
	yf, _ := y.Float64()
	weight := 0.0 // decimal weight of the result, roughly
	if !x.IsZero() {
		weight = yf * math.Log10(math.Abs(xf))
	}
	if weight > 131072 {
		return types.Null, errNumOverflow
	}
	var scale int
	n, nerr := whole.Int64()
	if integral && nerr == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
		scale = clampScale(max(minSigDigits, dscale(x)))
		if n == 0 {
			one, _ := roundTo(apd.New(1, 0), scale)
			return types.NewDecimal(one), nil
		}
	} else {
		if x.IsZero() {
			z, _ := roundTo(apd.New(0, 0), minSigDigits)
			return types.NewDecimal(z), nil
		}
		scale = clampScale(max(minSigDigits-int(weight), dscale(x), dscale(y)))
	}
	if weight+1 < -maxDisplayScale {
		z, _ := roundTo(apd.New(0, 0), maxDisplayScale)
		return types.NewDecimal(z), nil
	}
	var r apd.Decimal
	c := workCtx(int(math.Max(weight, 0))+1, scale)
	if _, err := c.Pow(&r, x, y); err != nil {
		return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
	}
	out, err := roundTo(&r, scale)
	if err != nil {
		return types.Null, err
	}
	return types.NewDecimal(out), nil
}

// floatPower is power(double precision, double precision) with
// PostgreSQL's errors. The C library's pow, which PostgreSQL calls, is
// correctly rounded where Go's math.Pow can be off in the last bit, so
// finite results are computed in decimal with 40 digits and rounded once.
func floatPower(x, y float64) (float64, error) {
	switch {
	case x == 0 && y < 0:
		return 0, errZeroNegPower
	case x < 0 && y != math.Trunc(y):
		return 0, errComplexPower
	}
	v := math.Pow(x, y)
	if x == 0 || math.IsInf(v, 0) || math.IsNaN(v) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return v, nil
	}
	if v == 0 {
		return 0, pgerr.New(pgerr.NumericOutOfRange, "value out of range: underflow")
	}
	exact := func(f float64) (*apd.Decimal, bool) {
		d, _, err := apd.NewFromString(new(big.Float).SetFloat64(f).Text('g', 1100))
		return d, err == nil
	}
	bx, ok1 := exact(x)
	by, ok2 := exact(y)
	if !ok1 || !ok2 {
		return v, nil
	}
	var r apd.Decimal
	c := apd.BaseContext.WithPrecision(40)
	if _, err := c.Pow(&r, bx, by); err != nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(r.String(), 64)
	if err != nil {
		return v, nil
	}
	return f, nil
}

var regexCache regexpCache

// regexSubstring is substring(s FROM pattern).
func regexSubstring(s, pattern string) (types.Datum, error) {
	re, ok := regexCache.get(pattern)
	if !ok {
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			return types.Null, pgerr.New("2201B", "invalid regular expression: %v", err)
		}
		regexCache.put(pattern, re)
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return types.Null, nil
	}
	if re.NumSubexp() > 0 {
		m = m[2:]
	}
	if m[0] < 0 {
		return types.Null, nil
	}
	return types.NewString(s[m[0]:m[1]]), nil
}

// exactCtx does numeric addition, subtraction and multiplication without
// rounding (PostgreSQL's numeric keeps every digit of those).
var exactCtx = apd.BaseContext.WithPrecision(1000)
