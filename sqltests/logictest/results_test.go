package logictest

import (
	"slices"
	"testing"
)

func TestSortValues(t *testing.T) {
	vals := func() []string { return []string{"2", "b", "10", "a", "1", "c", "10", "Z"} }
	for _, tc := range []struct {
		mode SortMode
		want []string
	}{
		{NoSort, []string{"2", "b", "10", "a", "1", "c", "10", "Z"}},
		// Rows compare column by column as byte strings: "10" < "2",
		// and ties on the first column fall to the second ("Z" < "a").
		{RowSort, []string{"1", "c", "10", "Z", "10", "a", "2", "b"}},
		{ValueSort, []string{"1", "10", "10", "2", "Z", "a", "b", "c"}},
	} {
		got := vals()
		sortValues(got, 2, tc.mode)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.mode, got, tc.want)
		}
	}
}

// The expected digests below were computed once with the md5sum tool, not
// with crypto/md5, so the test checks hashValues independently:
//
//	printf '1\n2\n3\n' | md5sum           -> c0710d6b4f15dfa88f600b0e6b624077
//	printf 'NULL\n(empty)\n@b\n' | md5sum -> 71d77af578a1c2b86cb6fd4f6fecdfff
//	printf '' | md5sum                    -> d41d8cd98f00b204e9800998ecf8427e
//
// The 30 values are the result of select1.test:94 (SELECT CASE WHEN
// c>(SELECT avg(c) FROM t1) THEN a*2 ELSE b*10 END FROM t1 ORDER BY 1),
// whose expected hash SQLite's own runner wrote into the corpus.
func TestHashValues(t *testing.T) {
	select1at94 := []string{"358", "364", "376", "382", "398", "402", "410", "426", "432", "440",
		"458", "468", "478", "486", "490", "1000", "1050", "1120", "1180", "1240",
		"1290", "1300", "1390", "1430", "1450", "1510", "1580", "1600", "1670", "1700"}
	for _, tc := range []struct {
		vals []string
		want string
	}{
		{[]string{"1", "2", "3"}, "c0710d6b4f15dfa88f600b0e6b624077"},
		{[]string{"NULL", "(empty)", "@b"}, "71d77af578a1c2b86cb6fd4f6fecdfff"},
		{nil, "d41d8cd98f00b204e9800998ecf8427e"},
		{select1at94, "3c13dee48d9356ae19af2515e05e6b54"},
	} {
		if got := hashValues(tc.vals); got != tc.want {
			t.Errorf("hashValues(%q) = %s, want %s", tc.vals, got, tc.want)
		}
	}
	if got, want := hashLine([]string{"1", "2", "3"}), "3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"; got != want {
		t.Errorf("hashLine = %q, want %q", got, want)
	}
}

func TestShouldHash(t *testing.T) {
	for _, tc := range []struct {
		threshold, n int
		want         bool
	}{
		{8, 8, false}, {8, 9, true}, {0, 1000, false}, {1, 2, true}, {1, 1, false},
	} {
		if got := shouldHash(tc.threshold, tc.n); got != tc.want {
			t.Errorf("shouldHash(%d, %d) = %v, want %v", tc.threshold, tc.n, got, tc.want)
		}
	}
}

func TestMatchResults(t *testing.T) {
	vals := []string{"1", "2", "3"}
	for _, tc := range []struct {
		expected []string
		want     bool
	}{
		{[]string{"1", "2", "3"}, true},
		{[]string{"1", "2"}, false},
		{[]string{"1", "2", "3", "4"}, false},
		{[]string{"1", "3", "2"}, false},
		{[]string{"3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"}, true},
		{[]string{"3 values hashing to C0710D6B4F15DFA88F600B0E6B624077"}, true},
		{[]string{"4 values hashing to c0710d6b4f15dfa88f600b0e6b624077"}, false},
		{[]string{"3 values hashing to 00000000000000000000000000000000"}, false},
		{nil, false},
	} {
		if got := matchResults(vals, tc.expected); got != tc.want {
			t.Errorf("matchResults(%q) = %v, want %v", tc.expected, got, tc.want)
		}
	}
	if !matchResults(nil, nil) {
		t.Error("no rows should match no expected lines")
	}
	if got, want := expectedHash([]string{"1", "2", "3"}), "c0710d6b4f15dfa88f600b0e6b624077"; got != want {
		t.Errorf("expectedHash(values) = %s, want %s", got, want)
	}
}
