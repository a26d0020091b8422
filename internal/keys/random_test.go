package keys_test

import (
	"bytes"
	"math"
	"math/rand"
	"testing"

	"github.com/shardsql/shardsql/internal/keys"
)

// randVal returns a random non-NULL value of kind k. Narrow values come
// from small domains so that equal values, shared prefixes and nearby
// values are frequent.
func randVal(r *rand.Rand, k kind, narrow bool) val {
	v := val{kind: k}
	switch k {
	case kindInt:
		switch {
		case narrow:
			v.i = int64(r.Intn(7) - 3)
		case r.Intn(8) == 0:
			v.i = []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}[r.Intn(7)]
		default:
			v.i = int64(r.Uint64()) >> uint(r.Intn(64))
		}
	case kindFloat:
		switch {
		case narrow || r.Intn(4) == 0:
			v.f = []float64{math.Inf(-1), -1.5, -1, math.Copysign(0, -1), 0, 1, 1.5, math.Inf(1), math.NaN(),
				math.Float64frombits(0xFFF8_0000_0000_0001), math.SmallestNonzeroFloat64,
				-math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64}[r.Intn(14)]
		case r.Intn(2) == 0:
			v.f = float64(r.Intn(2001)-1000) / 8
		default:
			v.f = math.Float64frombits(r.Uint64()) // includes NaNs with payloads
		}
	case kindBool:
		v.b = r.Intn(2) == 1
	case kindString:
		v.s = string(randBytes(r, narrow))
	case kindBytes:
		v.by = randBytes(r, narrow)
	default:
		v.d = randDec(r, narrow)
	}
	return v
}

func randBytes(r *rand.Rand, narrow bool) []byte {
	if narrow || r.Intn(2) == 0 {
		alphabet := []byte{0x00, 0x01, 'a', 'b', 0xFE, 0xFF}
		b := make([]byte, r.Intn(6))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		return b
	}
	b := make([]byte, r.Intn(24))
	r.Read(b)
	return b
}

// randDec returns a random normalized decimal.
func randDec(r *rand.Rand, narrow bool) dec {
	switch r.Intn(16) {
	case 0:
		return dec{nan: true}
	case 1:
		return dec{}
	}
	var d dec
	d.neg = r.Intn(2) == 0
	n, alphabet, span := 1+r.Intn(40), "0123456789", 60
	if narrow {
		n, alphabet, span = 1+r.Intn(4), "019", 2
	}
	digits := make([]byte, n)
	for i := range digits {
		digits[i] = alphabet[r.Intn(len(alphabet))]
	}
	digits[0] = "123456789"[r.Intn(9)]
	digits[n-1] = "123456789"[r.Intn(9)]
	d.digits = string(digits)
	d.exp = int32(r.Intn(2*span+1) - span)
	return d
}

// randMaybeNull returns a random value of kind k, NULL one time in ten.
func randMaybeNull(r *rand.Rand, k kind, narrow bool) val {
	if r.Intn(10) == 0 {
		return val{kind: k, null: true}
	}
	return randVal(r, k, narrow)
}

// checkRoundTrip encodes v after a prefix and before a suffix and checks
// that decoding returns v and exactly the suffix.
func checkRoundTrip(rep reporter, v val, descending bool) []byte {
	rep.t.Helper()
	prefix := []byte("pre")
	enc := encodeVal(append([]byte(nil), prefix...), v, descending)
	if !bytes.Equal(enc[:len(prefix)], prefix) {
		rep.Fatalf("encoding %v (desc=%v) clobbered the buffer prefix: %x", v, descending, enc)
	}
	enc = enc[len(prefix):]
	suffix := []byte{0x00, 0xFF, 0x12}
	got, rest, err := decodeVal(append(append([]byte(nil), enc...), suffix...), v.kind, descending)
	if err != nil {
		rep.Fatalf("decoding %v (desc=%v) from %x: %v", v, descending, enc, err)
	}
	if !sameVal(v, got) {
		rep.Fatalf("round trip (desc=%v) of %v via %x gave %v", descending, v, enc, got)
	}
	if !bytes.Equal(rest, suffix) {
		rep.Fatalf("decoding %v (desc=%v) from %x left %x, want %x", v, descending, enc, rest, suffix)
	}
	return enc
}

func TestRandomPairsPerType(t *testing.T) {
	r, rep := seeded(t)
	const pairs = 10000
	for k := kind(0); k < numKinds; k++ {
		for i := 0; i < pairs; i++ {
			narrow := r.Intn(2) == 0
			a, b := randMaybeNull(r, k, narrow), randMaybeNull(r, k, narrow)
			want := sign(compareVal(a, b))
			for _, descending := range []bool{false, true} {
				ea, eb := checkRoundTrip(rep, a, descending), checkRoundTrip(rep, b, descending)
				got := sign(bytes.Compare(ea, eb))
				exp := want
				if descending {
					exp = -want
				}
				if got != exp {
					rep.Fatalf("%s desc=%v: compare(%v, %v) = %d but encodings %x and %x compare %d",
						k, descending, a, b, want, ea, eb, got)
				}
			}
		}
	}
}

func TestRandomUint64(t *testing.T) {
	r, rep := seeded(t)
	for i := 0; i < 5000; i++ {
		a, b := r.Uint64()>>uint(r.Intn(64)), r.Uint64()>>uint(r.Intn(64))
		if r.Intn(4) == 0 {
			b = a
		}
		ea, eb := keys.EncodeUint64Ascending(nil, a), keys.EncodeUint64Ascending(nil, b)
		da, db := keys.EncodeUint64Descending(nil, a), keys.EncodeUint64Descending(nil, b)
		if len(ea) != 8 || len(da) != 8 {
			rep.Fatalf("uint64 %d encoded to %x / %x, want 8 bytes each", a, ea, da)
		}
		if got, want := bytes.Compare(ea, eb), compareU(a, b); got != want {
			rep.Fatalf("ascending uint64 %d vs %d: bytes compare %d, want %d", a, b, got, want)
		}
		if got, want := bytes.Compare(da, db), -compareU(a, b); got != want {
			rep.Fatalf("descending uint64 %d vs %d: bytes compare %d, want %d", a, b, got, want)
		}
		if v, rest, err := keys.DecodeUint64Ascending(append(ea, 7)); err != nil || v != a || !bytes.Equal(rest, []byte{7}) {
			rep.Fatalf("ascending uint64 round trip of %d: %d, %x, %v", a, v, rest, err)
		}
		if v, rest, err := keys.DecodeUint64Descending(append(da, 7)); err != nil || v != a || !bytes.Equal(rest, []byte{7}) {
			rep.Fatalf("descending uint64 round trip of %d: %d, %x, %v", a, v, rest, err)
		}
	}
}

func compareU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRandomMVCCLayout checks the intended use of EncodeRawEscaped: an
// escaped user key followed by a descending timestamp sorts by key, then by
// newest timestamp first, and decodes back.
func TestRandomMVCCLayout(t *testing.T) {
	r, rep := seeded(t)
	type mvcc struct {
		key []byte
		ts  uint64
	}
	enc := func(m mvcc) []byte {
		return keys.EncodeUint64Descending(keys.EncodeRawEscaped(nil, m.key), m.ts)
	}
	for i := 0; i < 5000; i++ {
		a := mvcc{randBytes(r, true), uint64(r.Intn(4))}
		b := mvcc{randBytes(r, true), uint64(r.Intn(4))}
		want := bytes.Compare(a.key, b.key)
		if want == 0 {
			want = -compareU(a.ts, b.ts)
		}
		ea, eb := enc(a), enc(b)
		if got := bytes.Compare(ea, eb); got != want {
			rep.Fatalf("mvcc keys %q@%d vs %q@%d: encodings %x and %x compare %d, want %d",
				a.key, a.ts, b.key, b.ts, ea, eb, got, want)
		}
		key, rest, err := keys.DecodeRawEscaped(ea)
		if err != nil || !bytes.Equal(key, a.key) {
			rep.Fatalf("raw escaped decode of %x: %q, %v; want %q", ea, key, err, a.key)
		}
		ts, rest, err := keys.DecodeUint64Descending(rest)
		if err != nil || ts != a.ts || len(rest) != 0 {
			rep.Fatalf("timestamp decode of %x: %d, %x, %v; want %d", ea, ts, rest, err, a.ts)
		}
	}
}

// TestRandomCompositeKeys builds keys of several columns of mixed kinds and
// directions and checks that they compare lexicographically by column.
func TestRandomCompositeKeys(t *testing.T) {
	r, rep := seeded(t)
	type column struct {
		kind       kind
		descending bool
	}
	for schemaN := 0; schemaN < 500; schemaN++ {
		cols := make([]column, 1+r.Intn(5))
		for i := range cols {
			cols[i] = column{kind(r.Intn(int(numKinds))), r.Intn(2) == 0}
		}
		row := func() []val {
			vals := make([]val, len(cols))
			for i, c := range cols {
				vals[i] = randMaybeNull(r, c.kind, true)
			}
			return vals
		}
		encRow := func(vals []val) []byte {
			var b []byte
			for i, c := range cols {
				b = encodeVal(b, vals[i], c.descending)
			}
			return b
		}
		for pair := 0; pair < 40; pair++ {
			a, b := row(), row()
			if r.Intn(3) == 0 {
				copy(b, a[:r.Intn(len(cols)+1)]) // share a leading run of columns
			}
			want := 0
			for i, c := range cols {
				if want = sign(compareVal(a[i], b[i])); want != 0 {
					if c.descending {
						want = -want
					}
					break
				}
			}
			ea, eb := encRow(a), encRow(b)
			if got := sign(bytes.Compare(ea, eb)); got != want {
				rep.Fatalf("schema %+v: rows %v and %v encode to %x and %x comparing %d, want %d",
					cols, a, b, ea, eb, got, want)
			}
			rest := ea
			for i, c := range cols {
				var got val
				var err error
				got, rest, err = decodeVal(rest, c.kind, c.descending)
				if err != nil || !sameVal(a[i], got) {
					rep.Fatalf("schema %+v: decoding column %d of %x: got %v, %v; want %v", cols, i, ea, got, err, a[i])
				}
			}
			if len(rest) != 0 {
				rep.Fatalf("schema %+v: decoding %x left %x", cols, ea, rest)
			}
		}
	}
}

// TestRandomPrefixEnd checks that [p, PrefixEnd(p)) holds exactly the keys
// with prefix p.
func TestRandomPrefixEnd(t *testing.T) {
	r, rep := seeded(t)
	for i := 0; i < 3000; i++ {
		p := randBytes(r, true)
		end := keys.PrefixEnd(p)
		for j := 0; j < 10; j++ {
			k := randBytes(r, true)
			if r.Intn(2) == 0 {
				k = append(append([]byte(nil), p...), k...)
			}
			in := bytes.Compare(k, p) >= 0 && (end == nil || bytes.Compare(k, end) < 0)
			if in != bytes.HasPrefix(k, p) {
				rep.Fatalf("PrefixEnd(%x) = %x: key %x in span = %v, has prefix = %v", p, end, k, in, !in)
			}
		}
	}
}
