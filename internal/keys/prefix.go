package keys

// PrefixEnd returns the smallest key that is greater than every key with
// prefix p: a copy of p with trailing 0xFF bytes dropped and the last
// remaining byte incremented. It returns nil, meaning the end of the
// keyspace, if p is empty or consists only of 0xFF bytes. p is not modified.
func PrefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			end := make([]byte, i+1)
			copy(end, p)
			end[i]++
			return end
		}
	}
	return nil
}
