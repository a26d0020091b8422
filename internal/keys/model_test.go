package keys_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/keys"
)

// This file holds the reference model the tests compare the encodings
// against: a tagged value type, its SQL order, and encode/decode dispatch.

type kind int

const (
	kindInt kind = iota
	kindFloat
	kindBool
	kindString
	kindBytes
	kindDecimal
	numKinds
)

func (k kind) String() string {
	return [...]string{"int", "float", "bool", "string", "bytes", "decimal"}[k]
}

// dec is a decimal in the scientific form taken by EncodeDecimal*.
type dec struct {
	neg    bool
	digits string
	exp    int32
	nan    bool
}

func (d dec) String() string {
	return fmt.Sprintf("dec{neg:%v digits:%q exp:%d nan:%v}", d.neg, d.digits, d.exp, d.nan)
}

// val is one column value of some kind, possibly NULL.
type val struct {
	kind kind
	null bool
	i    int64
	f    float64
	b    bool
	s    string
	by   []byte
	d    dec
}

func (v val) String() string {
	if v.null {
		return v.kind.String() + ":NULL"
	}
	switch v.kind {
	case kindInt:
		return fmt.Sprintf("int:%d", v.i)
	case kindFloat:
		return fmt.Sprintf("float:%v(bits %#x)", v.f, math.Float64bits(v.f))
	case kindBool:
		return fmt.Sprintf("bool:%v", v.b)
	case kindString:
		return fmt.Sprintf("string:%q", v.s)
	case kindBytes:
		return fmt.Sprintf("bytes:%q", v.by)
	default:
		return "decimal:" + v.d.String()
	}
}

// encodeVal appends the encoding of v in the given direction.
func encodeVal(b []byte, v val, descending bool) []byte {
	if v.null {
		if descending {
			return keys.EncodeNullDescending(b)
		}
		return keys.EncodeNullAscending(b)
	}
	switch v.kind {
	case kindInt:
		if descending {
			return keys.EncodeIntDescending(b, v.i)
		}
		return keys.EncodeIntAscending(b, v.i)
	case kindFloat:
		if descending {
			return keys.EncodeFloatDescending(b, v.f)
		}
		return keys.EncodeFloatAscending(b, v.f)
	case kindBool:
		if descending {
			return keys.EncodeBoolDescending(b, v.b)
		}
		return keys.EncodeBoolAscending(b, v.b)
	case kindString:
		if descending {
			return keys.EncodeStringDescending(b, v.s)
		}
		return keys.EncodeStringAscending(b, v.s)
	case kindBytes:
		if descending {
			return keys.EncodeBytesDescending(b, v.by)
		}
		return keys.EncodeBytesAscending(b, v.by)
	default:
		if descending {
			return keys.EncodeDecimalDescending(b, v.d.neg, v.d.digits, v.d.exp, v.d.nan)
		}
		return keys.EncodeDecimalAscending(b, v.d.neg, v.d.digits, v.d.exp, v.d.nan)
	}
}

// decodeVal decodes a value of kind k (or a NULL) in the given direction.
func decodeVal(b []byte, k kind, descending bool) (val, []byte, error) {
	if rest, isNull := keys.DecodeIfNull(b); isNull {
		return val{kind: k, null: true}, rest, nil
	}
	v := val{kind: k}
	var err error
	var rest []byte
	switch k {
	case kindInt:
		if descending {
			v.i, rest, err = keys.DecodeIntDescending(b)
		} else {
			v.i, rest, err = keys.DecodeIntAscending(b)
		}
	case kindFloat:
		if descending {
			v.f, rest, err = keys.DecodeFloatDescending(b)
		} else {
			v.f, rest, err = keys.DecodeFloatAscending(b)
		}
	case kindBool:
		if descending {
			v.b, rest, err = keys.DecodeBoolDescending(b)
		} else {
			v.b, rest, err = keys.DecodeBoolAscending(b)
		}
	case kindString:
		if descending {
			v.s, rest, err = keys.DecodeStringDescending(b)
		} else {
			v.s, rest, err = keys.DecodeStringAscending(b)
		}
	case kindBytes:
		if descending {
			v.by, rest, err = keys.DecodeBytesDescending(b)
		} else {
			v.by, rest, err = keys.DecodeBytesAscending(b)
		}
	default:
		if descending {
			v.d.neg, v.d.digits, v.d.exp, v.d.nan, rest, err = keys.DecodeDecimalDescending(b)
		} else {
			v.d.neg, v.d.digits, v.d.exp, v.d.nan, rest, err = keys.DecodeDecimalAscending(b)
		}
	}
	return v, rest, err
}

// sameVal reports whether decoding produced exactly the expected value:
// NaN equals NaN, and -0 must come back as +0.
func sameVal(want, got val) bool {
	if want.kind != got.kind || want.null != got.null {
		return false
	}
	if want.null {
		return true
	}
	switch want.kind {
	case kindInt:
		return want.i == got.i
	case kindFloat:
		if math.IsNaN(want.f) {
			return math.IsNaN(got.f)
		}
		if want.f == 0 {
			return got.f == 0 && !math.Signbit(got.f)
		}
		return want.f == got.f
	case kindBool:
		return want.b == got.b
	case kindString:
		return want.s == got.s
	case kindBytes:
		return bytes.Equal(want.by, got.by)
	default:
		return want.d == got.d
	}
}

// compareVal is the SQL order: NULL first, floats with NaN greatest and
// -0 == +0, decimals numerically with NaN greatest.
func compareVal(a, b val) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	}
	switch a.kind {
	case kindInt:
		return cmp.Compare(a.i, b.i)
	case kindFloat:
		return compareFloatSQL(a.f, b.f)
	case kindBool:
		return cmp.Compare(boolInt(a.b), boolInt(b.b))
	case kindString:
		return strings.Compare(a.s, b.s)
	case kindBytes:
		return bytes.Compare(a.by, b.by)
	default:
		return compareDec(a.d, b.d)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareFloatSQL orders floats with NaN after +Inf.
func compareFloatSQL(a, b float64) int {
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

// decRat converts a non-NaN decimal to an exact rational.
func decRat(d dec) *big.Rat {
	if d.digits == "" {
		return new(big.Rat)
	}
	n, ok := new(big.Int).SetString(d.digits, 10)
	if !ok {
		panic("bad digits " + d.digits)
	}
	e := int64(d.exp) - int64(len(d.digits))
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(e)), nil)
	r := new(big.Rat)
	if e >= 0 {
		r.SetInt(n.Mul(n, p))
	} else {
		r.SetFrac(n, p)
	}
	if d.neg {
		r.Neg(r)
	}
	return r
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func compareDec(a, b dec) int {
	switch {
	case a.nan && b.nan:
		return 0
	case a.nan:
		return 1
	case b.nan:
		return -1
	}
	return decRat(a).Cmp(decRat(b))
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// seeded returns the random seed for a randomized test: KEYS_SEED if set,
// the current time otherwise. It logs the seed, and failures made through
// the returned reporter include it.
func seeded(t *testing.T) (*rand.Rand, reporter) {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv("KEYS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("invalid KEYS_SEED %q: %v", s, err)
		}
	}
	t.Logf("KEYS_SEED=%d", seed)
	return rand.New(rand.NewSource(seed)), reporter{t: t, seed: seed, random: true}
}

// reporter prefixes every failure of a randomized test with the seed that
// reproduces it.
type reporter struct {
	t      *testing.T
	seed   int64
	random bool
}

func (r reporter) Fatalf(format string, args ...any) {
	r.t.Helper()
	if !r.random {
		r.t.Fatalf(format, args...)
	}
	r.t.Fatalf("KEYS_SEED=%d: %s", r.seed, fmt.Sprintf(format, args...))
}
