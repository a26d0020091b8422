package txn

import (
	"fmt"
	"testing"

	"github.com/shardsql/shardsql/api"
)

func rd(id, gen uint64, start, end string) *api.RangeDescriptor {
	d := &api.RangeDescriptor{RangeId: id, Generation: gen, Shard: id}
	if start != "" {
		d.StartKey = []byte(start)
	}
	if end != "" {
		d.EndKey = []byte(end)
	}
	return d
}

func descString(d *api.RangeDescriptor) string {
	if d == nil {
		return "nil"
	}
	end := string(d.EndKey)
	if end == "" {
		end = "+inf"
	}
	return fmt.Sprintf("r%d/g%d[%q,%q)", d.RangeId, d.Generation, d.StartKey, end)
}

func TestRangeCache(t *testing.T) {
	type op struct {
		insert *api.RangeDescriptor
		evict  *api.RangeDescriptor
	}
	ins := func(d *api.RangeDescriptor) op { return op{insert: d} }
	evi := func(d *api.RangeDescriptor) op { return op{evict: d} }
	for _, tt := range []struct {
		name string
		ops  []op
		// want maps a lookup key to "rID/gGen" or "" (miss).
		want map[string]string
	}{
		{
			name: "empty cache",
			want: map[string]string{"": "", "a": "", "\xff": ""},
		},
		{
			name: "adjacent ranges, half-open bounds, empty end is +inf",
			ops:  []op{ins(rd(2, 1, "c", "f")), ins(rd(1, 1, "a", "c")), ins(rd(3, 1, "f", ""))},
			want: map[string]string{
				"": "", "0": "", "a": "r1/g1", "b\xff\xff": "r1/g1", "c": "r2/g1", "c\x00": "r2/g1",
				"e\xff": "r2/g1", "f": "r3/g1", "zzzz": "r3/g1", "\xff\xff\xff": "r3/g1",
			},
		},
		{
			name: "empty start key is -inf",
			ops:  []op{ins(rd(1, 1, "", "m")), ins(rd(2, 1, "m", ""))},
			want: map[string]string{"": "r1/g1", "\x00": "r1/g1", "l\xff": "r1/g1", "m": "r2/g1", "z": "r2/g1"},
		},
		{
			name: "single range over the whole keyspace",
			ops:  []op{ins(rd(1, 1, "", ""))},
			want: map[string]string{"": "r1/g1", "k": "r1/g1", "\xff": "r1/g1"},
		},
		{
			name: "gap between cached ranges misses",
			ops:  []op{ins(rd(1, 1, "a", "c")), ins(rd(3, 1, "f", "h"))},
			want: map[string]string{"b": "r1/g1", "c": "", "e": "", "f": "r3/g1", "h": "", "z": ""},
		},
		{
			name: "overlapping insert evicts every older overlapping range",
			ops: []op{
				ins(rd(1, 1, "a", "c")), ins(rd(2, 1, "c", "f")), ins(rd(3, 1, "f", "")),
				ins(rd(1, 2, "b", "g")),
			},
			want: map[string]string{"a": "", "b": "r1/g2", "c": "r1/g2", "f\xff": "r1/g2", "g": "", "z": ""},
		},
		{
			name: "insert inside a larger cached range evicts it",
			ops:  []op{ins(rd(1, 1, "a", "")), ins(rd(1, 2, "a", "m"))},
			want: map[string]string{"a": "r1/g2", "l": "r1/g2", "m": "", "z": ""},
		},
		{
			name: "split halves replace the parent",
			ops:  []op{ins(rd(1, 1, "a", "z")), ins(rd(2, 2, "m", "z")), ins(rd(1, 2, "a", "m"))},
			want: map[string]string{"a": "r1/g2", "m": "r2/g2", "y": "r2/g2", "z": ""},
		},
		{
			name: "same range, same end, newer generation replaces",
			ops:  []op{ins(rd(1, 1, "a", "m")), ins(rd(1, 3, "a", "m"))},
			want: map[string]string{"a": "r1/g3"},
		},
		{
			name: "older generation of the same range never replaces a newer one",
			ops:  []op{ins(rd(1, 3, "a", "m")), ins(rd(1, 2, "a", "m")), ins(rd(1, 1, "a", ""))},
			want: map[string]string{"a": "r1/g3", "l": "r1/g3", "m": "", "z": ""},
		},
		{
			name: "stale parent does not evict newer halves",
			ops:  []op{ins(rd(1, 2, "a", "m")), ins(rd(2, 2, "m", "")), ins(rd(1, 1, "a", ""))},
			want: map[string]string{"a": "r1/g2", "m": "r2/g2", "z": "r2/g2"},
		},
		{
			// A lookup answered before a split lands after the split's right
			// half was cached: the right half is newer (higher generation)
			// although it is another range.
			name: "stale parent does not evict a newer range of another id",
			ops:  []op{ins(rd(2, 2, "m", "")), ins(rd(1, 1, "a", ""))},
			want: map[string]string{"a": "", "m": "r2/g2", "z": "r2/g2"},
		},
		{
			name: "evict removes only the same generation",
			ops: []op{
				ins(rd(1, 2, "a", "m")), ins(rd(2, 2, "m", "")),
				evi(rd(1, 1, "a", "m")), // older view: kept
				evi(rd(3, 2, "g", "m")), // other range with the same end: kept
				evi(rd(2, 2, "m", "")),  // exact: evicted
			},
			want: map[string]string{"a": "r1/g2", "m": "", "z": ""},
		},
		{
			name: "evict then re-insert",
			ops:  []op{ins(rd(1, 1, "a", "m")), evi(rd(1, 1, "a", "m")), ins(rd(1, 1, "a", "m"))},
			want: map[string]string{"a": "r1/g1", "m": ""},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newRangeCache()
			for _, o := range tt.ops {
				if o.insert != nil {
					c.insert(o.insert)
				} else {
					c.evict(o.evict)
				}
			}
			for k, want := range tt.want {
				d := c.lookup([]byte(k))
				got := ""
				if d != nil {
					got = fmt.Sprintf("r%d/g%d", d.RangeId, d.Generation)
					if !contains(d, []byte(k)) {
						t.Errorf("lookup(%q) = %s, which does not contain the key", k, descString(d))
					}
				}
				if got != want {
					t.Errorf("lookup(%q) = %s, want %q", k, descString(d), want)
				}
			}
			// The cache never holds overlapping ranges.
			var prev *api.RangeDescriptor
			c.tree.Ascend(func(d *api.RangeDescriptor) bool {
				if prev != nil && (len(prev.EndKey) == 0 || string(prev.EndKey) > string(d.StartKey)) {
					t.Errorf("cached ranges overlap: %s and %s", descString(prev), descString(d))
				}
				prev = d
				return true
			})
		})
	}
}
