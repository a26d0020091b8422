package exec

import (
	"math/big"

	"github.com/cockroachdb/apd/v3"
)

// exactCtx does numeric addition, subtraction and multiplication: as in
// PostgreSQL they are exact (the result keeps every digit; 1000 digits is
// far more than any value here has).
var exactCtx = apd.BaseContext.WithPrecision(1000)

// numericDiv divides as PostgreSQL's numeric_div does: the quotient is
// rounded (half away from zero) to the scale select_div_scale picks (at
// least 16 significant digits, no less than either input's scale), and
// keeps that scale. b must be nonzero; NaN in, NaN out.
func numericDiv(a, b *apd.Decimal) *apd.Decimal {
	if a.Form != apd.Finite || b.Form != apd.Finite {
		return &apd.Decimal{Form: apd.NaN}
	}
	rscale := divScale(a, b)
	// |a| / |b| * 10^rscale = Ca / Cb * 10^(Ea - Eb + rscale)
	num := new(big.Int).Set(a.Coeff.MathBigInt())
	den := new(big.Int).Set(b.Coeff.MathBigInt())
	if k := int64(a.Exponent) - int64(b.Exponent) + int64(rscale); k >= 0 {
		num.Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(k), nil))
	} else {
		den.Mul(den, new(big.Int).Exp(big.NewInt(10), big.NewInt(-k), nil))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	out := &apd.Decimal{Exponent: -rscale}
	out.Coeff.SetMathBigInt(q)
	out.Negative = q.Sign() != 0 && a.Negative != b.Negative
	return out
}

// divScale is PostgreSQL's select_div_scale: PostgreSQL keeps numerics as
// base-10000 digits; the quotient's weight (in those digits) is estimated
// from the inputs' first nonzero digits and weights.
func divScale(a, b *apd.Decimal) int32 {
	w1, d1 := nbaseLead(a)
	w2, d2 := nbaseLead(b)
	qweight := w1 - w2
	if d1 <= d2 {
		qweight--
	}
	rscale := 16 - qweight*4
	rscale = max(rscale, dscale(a), dscale(b), 0)
	return int32(min(rscale, 1000))
}

// dscale is a numeric's display scale (digits after the point).
func dscale(d *apd.Decimal) int64 {
	if d.Exponent >= 0 {
		return 0
	}
	return -int64(d.Exponent)
}

// nbaseLead returns the weight of d's first nonzero base-10000 digit and
// that digit (0, 0 for zero).
func nbaseLead(d *apd.Decimal) (int64, int64) {
	if d.Coeff.Sign() == 0 {
		return 0, 0
	}
	msd := d.NumDigits() - 1 + int64(d.Exponent) // power of ten of the leading digit
	w := msd / 4
	if msd < 0 && msd%4 != 0 {
		w-- // floor
	}
	// The digit is floor(|d| / 10^(4w)).
	c := new(big.Int).Set(d.Coeff.MathBigInt())
	if s := int64(d.Exponent) - 4*w; s >= 0 {
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(s), nil))
	} else {
		c.Quo(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(-s), nil))
	}
	return w, c.Int64()
}
