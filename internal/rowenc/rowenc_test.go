package rowenc

import (
	"bytes"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/types"
)

func seed(t *testing.T) int64 {
	s := time.Now().UnixNano()
	if v := os.Getenv("ROWENC_SEED"); v != "" {
		s, _ = strconv.ParseInt(v, 10, 64)
	}
	t.Logf("seed %d (set ROWENC_SEED to repeat)", s)
	return s
}

var colTypes = []types.T{types.Int8, types.Int4, types.Float8, types.Bool, types.Text, types.Numeric, types.Date, types.Timestamp}

func randDatum(r *rand.Rand, t types.T) types.Datum {
	if r.Intn(8) == 0 {
		return types.Null
	}
	switch t.Family {
	case types.IntFamily:
		return types.NewInt(r.Int63n(2000) - 1000)
	case types.FloatFamily:
		return types.NewFloat(r.NormFloat64() * 100)
	case types.BoolFamily:
		return types.NewBool(r.Intn(2) == 0)
	case types.StringFamily:
		b := make([]byte, r.Intn(6))
		for i := range b {
			b[i] = "a\x00\xffz"[r.Intn(4)]
		}
		return types.NewString(string(b))
	case types.DecimalFamily:
		d, _ := types.ParseDatum(types.Numeric, strconv.FormatFloat(r.NormFloat64()*1000, 'f', r.Intn(4), 64))
		return d
	case types.DateFamily:
		return types.NewDate(r.Int63n(40000) - 20000)
	}
	return types.NewTimestamp(r.Int63n(1e15) - 5e14)
}

// cmpNullsFirst orders datums with NULL first.
func cmpNullsFirst(a, b types.Datum) int {
	switch {
	case a.IsNull() && b.IsNull():
		return 0
	case a.IsNull():
		return -1
	case b.IsNull():
		return 1
	}
	return types.Compare(a, b)
}

func TestRowKeyRoundTripAndOrder(t *testing.T) {
	s := seed(t)
	r := rand.New(rand.NewSource(s))
	for iter := 0; iter < 2000; iter++ {
		n := 1 + r.Intn(3)
		ts := make([]types.T, n)
		desc := make([]bool, n)
		for i := range ts {
			ts[i] = colTypes[r.Intn(len(colTypes))]
			desc[i] = r.Intn(3) == 0
		}
		a, b := make([]types.Datum, n), make([]types.Datum, n)
		for i := range a {
			a[i], b[i] = randDatum(r, ts[i]), randDatum(r, ts[i])
			if r.Intn(2) == 0 {
				b[i] = a[i]
			}
		}
		ka, err := EncodeRowKey(7, a, desc)
		if err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		kb, _ := EncodeRowKey(7, b, desc)
		got, err := DecodeRowKey(ka, 7, ts, desc)
		if err != nil {
			t.Fatalf("seed %d: decode %v: %v", s, a, err)
		}
		for i := range a {
			if cmpNullsFirst(got[i], a[i]) != 0 || got[i].IsNull() != a[i].IsNull() {
				t.Fatalf("seed %d: round trip %v -> %v", s, a, got)
			}
		}
		want := 0
		for i := range a {
			if c := cmpNullsFirst(a[i], b[i]); c != 0 {
				if desc[i] {
					c = -c
				}
				want = c
				break
			}
		}
		if c := bytes.Compare(ka, kb); sign(c) != want {
			t.Fatalf("seed %d: order of %v (desc %v) vs %v: bytes %d, want %d", s, a, desc, b, c, want)
		}
	}
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func TestRowValueRoundTrip(t *testing.T) {
	s := seed(t)
	r := rand.New(rand.NewSource(s))
	for iter := 0; iter < 1000; iter++ {
		n := r.Intn(6)
		ids := make([]uint32, n)
		vals := make([]types.Datum, n)
		for i := range ids {
			ids[i] = uint32(i*3 + 1)
			vals[i] = randDatum(r, colTypes[r.Intn(len(colTypes))])
		}
		enc := EncodeRowValue(nil, ids, vals)
		got := map[uint32]types.Datum{}
		if err := DecodeRowValue(enc, func(id uint32, d types.Datum) { got[id] = d }); err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		for i, id := range ids {
			g, ok := got[id]
			if vals[i].IsNull() {
				if ok {
					t.Fatalf("seed %d: NULL column %d was stored", s, id)
				}
				continue
			}
			if !ok || types.Compare(g, vals[i]) != 0 || g.Family() != vals[i].Family() {
				t.Fatalf("seed %d: column %d: got %v want %v", s, id, g, vals[i])
			}
		}
	}
	if err := DecodeRowValue([]byte{1, 5, byte(types.StringFamily), 10, 'a'}, func(uint32, types.Datum) {}); err == nil {
		t.Error("a truncated value decoded without error")
	}
}

func TestRowValueExplicitNull(t *testing.T) {
	b := EncodeRowValue(nil, []uint32{2, 3}, []types.Datum{types.NewInt(5), types.Null})
	b = AppendNullColumn(b, 3)
	b = AppendNullColumn(b, 300)
	got := map[uint32]string{}
	if err := DecodeRowValue(b, func(id uint32, d types.Datum) {
		if d.IsNull() {
			got[id] = "NULL"
		} else {
			got[id] = d.Text()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2] != "5" || got[3] != "NULL" || got[300] != "NULL" {
		t.Fatalf("decoded %v", got)
	}
}
