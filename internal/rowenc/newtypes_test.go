package rowenc

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/types"
)

// randNewDatum returns a random value of t from a small domain, so equal and
// nearby values are frequent.
func randNewDatum(r *rand.Rand, t types.T) types.Datum {
	var s string
	switch t.Family {
	case types.FloatFamily:
		s = fmt.Sprintf("%g", float64(r.Intn(2001)-1000)/float64(1+r.Intn(7)))
	case types.StringFamily:
		s = []string{"", "a", "a ", "ab", "b", " a", "a\x00"}[r.Intn(7)]
		if t.Bpchar {
			s = []string{"", "a", "a ", "ab", "b", " a", "ba"}[r.Intn(7)]
		}
	case types.TimestampTZFamily:
		s = fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%d+%02d", 1900+r.Intn(200), 1+r.Intn(12), 1+r.Intn(28), r.Intn(24), r.Intn(60), r.Intn(60), r.Intn(10), r.Intn(12))
	case types.IntervalFamily:
		s = fmt.Sprintf("%d mons %d days %d hours %d us", r.Intn(25)-12, r.Intn(121)-60, r.Intn(97)-48, r.Intn(2001)-1000)
	case types.BytesFamily:
		b := make([]byte, r.Intn(4))
		for i := range b {
			b[i] = []byte{0, 1, 0xff, 'a'}[r.Intn(4)]
		}
		return types.NewBytes(string(b))
	case types.JSONFamily:
		s = randJSON(r, 0)
	case types.UUIDFamily:
		var u [16]byte
		for i := range u {
			u[i] = byte(r.Intn(3)) * 0x7f
		}
		return types.NewUUID(u)
	}
	d, err := types.ParseDatum(t, s)
	if err != nil {
		panic(fmt.Sprintf("%s %q: %v", t, s, err))
	}
	return d
}

func randJSON(r *rand.Rand, depth int) string {
	n := 6
	if depth < 2 {
		n = 8
	}
	switch r.Intn(n) {
	case 0:
		return "null"
	case 1:
		return []string{`""`, `"a"`, `"ab"`, `"b"`}[r.Intn(4)]
	case 2:
		return []string{"0", "1", "1.0", "-2.5", "10", "1e2"}[r.Intn(6)]
	case 3:
		return []string{"true", "false"}[r.Intn(2)]
	case 4, 5:
		if depth >= 2 {
			return "[]"
		}
		var parts []string
		for i := r.Intn(3); i > 0; i-- {
			parts = append(parts, randJSON(r, depth+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	var parts []string
	for i := r.Intn(3); i > 0; i-- {
		parts = append(parts, fmt.Sprintf("%q: %s", []string{"a", "b", "aa", "ab"}[r.Intn(4)], randJSON(r, depth+1)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestNewTypeKeysOrderAsSQL(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	for _, ty := range []types.T{types.Float4, types.Bpchar(3), types.Bpchar(0), types.TimestampTZ, types.Interval, types.Bytea, types.UUID, types.JSONB} {
		for _, desc := range []bool{false, true} {
			vals := make([]types.Datum, 300)
			for i := range vals {
				vals[i] = randNewDatum(r, ty)
			}
			enc := make([][]byte, len(vals))
			for i, v := range vals {
				b, err := EncodeKeyDatum(nil, v, desc)
				if err != nil {
					t.Fatalf("seed %d: %s: %v", seed, ty, err)
				}
				enc[i] = b
				got, rest, err := DecodeKeyDatum(b, ty, desc)
				if err != nil || len(rest) != 0 || types.Compare(got, v) != 0 || got.Text() != v.Text() && ty.Family != types.StringFamily {
					t.Fatalf("seed %d: %s key round trip of %s gave %s, %v", seed, ty, v, got, err)
				}
			}
			idx := make([]int, len(vals))
			for i := range idx {
				idx[i] = i
			}
			sort.Slice(idx, func(i, j int) bool { return bytes.Compare(enc[idx[i]], enc[idx[j]]) < 0 })
			for k := 1; k < len(idx); k++ {
				a, b := vals[idx[k-1]], vals[idx[k]]
				c := types.Compare(a, b)
				kc := bytes.Compare(enc[idx[k-1]], enc[idx[k]])
				if desc {
					c = -c
				}
				// Intervals and jsonb values that compare equal but print
				// differently ('1 mon', '30 days'; 1.0, 1) keep distinct keys.
				if c > 0 || (c == 0) != (kc == 0) && ty.Family != types.IntervalFamily && ty.Family != types.JSONFamily {
					t.Fatalf("seed %d: %s desc=%v: key order of %q, %q disagrees with SQL order", seed, ty, desc, a.Text(), b.Text())
				}
			}
		}
	}
}

func TestNewTypeValuesRoundTrip(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	var vals []types.Datum
	for _, ty := range []types.T{types.Float4, types.Bpchar(3), types.TimestampTZ, types.Interval, types.Bytea, types.UUID} {
		vals = append(vals, randNewDatum(r, ty))
	}
	j, _ := types.ParseDatum(types.JSONB, `{"a": [1, "x", null], "b": {"c": true}}`)
	arr, _ := types.ParseDatum(types.ArrayOf(types.Text), `{a,NULL,"b c"}`)
	vals = append(vals, j, arr, types.NewArray(nil))
	ids := make([]uint32, len(vals))
	for i := range ids {
		ids[i] = uint32(i + 1)
	}
	b := EncodeRowValue(nil, ids, vals)
	n := 0
	if err := DecodeRowValue(b, func(id uint32, d types.Datum) {
		want := vals[id-1]
		if d.Family() != want.Family() || d.Text() != want.Text() || d.IsFloat4() != want.IsFloat4() || d.IsBpchar() != want.IsBpchar() {
			t.Errorf("seed %d: column %d: %s came back as %s", seed, id, want, d)
		}
		n++
	}); err != nil || n != len(vals) {
		t.Fatalf("decode: %v, %d values", err, n)
	}
}
