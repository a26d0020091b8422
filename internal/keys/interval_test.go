package keys_test

import (
	"bytes"
	"math"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/keys"
)

type span struct {
	months, days int32
	micros       int64
}

// spanCmp is the model: PostgreSQL's interval order (a month is 30 days).
func spanCmp(a, b span) int {
	const day = 86400 * 1000000
	fd := func(x int64) int64 { return int64(math.Floor(float64(x) / day)) }
	whole := func(s span) (int64, int64) {
		w := int64(s.months)*30 + int64(s.days) + fd(s.micros)
		return w, s.micros - fd(s.micros)*day
	}
	aw, am := whole(a)
	bw, bm := whole(b)
	switch {
	case aw != bw:
		if aw < bw {
			return -1
		}
		return 1
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	}
	return 0
}

func TestIntervalKeyOrder(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	randSpan := func() span {
		if r.Intn(3) == 0 {
			return span{int32(r.Intn(5) - 2), int32(r.Intn(61) - 30), int64(r.Intn(5)-2) * 86400 * 1000000 / 2}
		}
		return span{int32(r.Intn(2001) - 1000), int32(r.Intn(20001) - 10000), r.Int63n(1<<50) - 1<<49}
	}
	vals := make([]span, 500)
	for i := range vals {
		vals[i] = randSpan()
	}
	for _, dir := range []bool{false, true} {
		enc := func(s span) []byte {
			if dir {
				return keys.EncodeIntervalDescending([]byte("p"), s.months, s.days, s.micros)
			}
			return keys.EncodeIntervalAscending([]byte("p"), s.months, s.days, s.micros)
		}
		sort.Slice(vals, func(i, j int) bool { return bytes.Compare(enc(vals[i]), enc(vals[j])) < 0 })
		for i := 1; i < len(vals); i++ {
			c := spanCmp(vals[i-1], vals[i])
			if (!dir && c > 0) || (dir && c < 0) {
				t.Fatalf("seed %d desc=%v: %+v sorts before %+v", seed, dir, vals[i-1], vals[i])
			}
		}
		for _, v := range vals {
			b := enc(v)[1:]
			dec := keys.DecodeIntervalAscending
			if dir {
				dec = keys.DecodeIntervalDescending
			}
			m, d, us, rest, err := dec(append(b, 'x'))
			if err != nil || (span{m, d, us}) != v || string(rest) != "x" {
				t.Fatalf("seed %d: round trip of %+v gave %v %v %v %q, %v", seed, v, m, d, us, rest, err)
			}
			if got := keys.PeekType(b); got != keys.Interval {
				t.Fatalf("PeekType = %v", got)
			}
			if keys.Pretty(b) == "" {
				t.Fatalf("Pretty of an interval is empty")
			}
		}
	}
	if _, _, _, _, err := keys.DecodeIntervalAscending(keys.EncodeIntervalAscending(nil, 1, 2, 3)[:10]); err == nil {
		t.Fatalf("a truncated interval decoded")
	}
}
