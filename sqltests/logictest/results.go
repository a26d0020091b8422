package logictest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// defaultHashThreshold is SQLite's: results of more than 8 values are
// hashed unless a file or the caller says otherwise.
const defaultHashThreshold = 8

// sortValues orders formatted values, ncol to a row, as mode says:
// RowSort compares rows column by column as byte strings (C's strcmp),
// ValueSort sorts every value on its own.
func sortValues(vals []string, ncol int, mode SortMode) {
	switch mode {
	case ValueSort:
		slices.Sort(vals)
	case RowSort:
		if ncol <= 0 || len(vals)%ncol != 0 {
			return
		}
		rows := make([][]string, 0, len(vals)/ncol)
		for i := 0; i < len(vals); i += ncol {
			rows = append(rows, vals[i:i+ncol:i+ncol])
		}
		slices.SortStableFunc(rows, slices.Compare[[]string])
		out := make([]string, 0, len(vals))
		for _, r := range rows {
			out = append(out, r...)
		}
		copy(vals, out)
	}
}

// hashValues returns the lower-case hex MD5 of the values, each followed
// by "\n".
func hashValues(vals []string) string {
	h := md5.New()
	for _, v := range vals {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashLine is the result line that stands for hashed values.
func hashLine(vals []string) string {
	return fmt.Sprintf("%d values hashing to %s", len(vals), hashValues(vals))
}

var hashLineRE = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-fA-F]{32})$`)

// parseHashLine reports whether expected results are a single hash line,
// and returns the count and the (lower-case) digest.
func parseHashLine(expected []string) (n int, digest string, ok bool) {
	if len(expected) != 1 {
		return 0, "", false
	}
	m := hashLineRE.FindStringSubmatch(strings.TrimSpace(expected[0]))
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	return n, strings.ToLower(m[2]), true
}

// shouldHash is SQLite's rule: results are hashed when the threshold is
// positive and there are more values than it.
func shouldHash(threshold, nvalues int) bool {
	return threshold > 0 && nvalues > threshold
}

// matchResults compares sorted, formatted values with a query's expected
// lines. Expected lines in the hash form are compared with the values'
// hash and count; otherwise they are compared value by value. The form of
// the expected lines, not the threshold, decides, so a hash-threshold
// override never turns a correct result into a failure.
func matchResults(vals, expected []string) bool {
	if n, digest, ok := parseHashLine(expected); ok {
		return n == len(vals) && digest == hashValues(vals)
	}
	return slices.Equal(vals, expected)
}

// expectedHash returns the hash of a query's expected lines, as the label
// check needs it: the digest of a hash line, or the hash of the listed
// values.
func expectedHash(expected []string) string {
	if _, digest, ok := parseHashLine(expected); ok {
		return digest
	}
	return hashValues(expected)
}
