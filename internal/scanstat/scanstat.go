// Package scanstat describes the work of one pushed-down scan request, as
// a shard server reports it; the transaction layer passes it up and the
// executor shows it in EXPLAIN ANALYZE.
package scanstat

// Stat is one scan request's work on one range.
type Stat struct {
	RangeID, Shard uint64
	// KeysRead are the rows the shard read; RowsReturned and
	// BytesReturned what it sent back after filtering, projection and
	// partial aggregation; Micros the time it spent.
	KeysRead, RowsReturned, BytesReturned, Micros uint64
}

// Options shape one pushed-down scan.
type Options struct {
	// Limit bounds the rows one request returns (0: none).
	Limit int
	// Unordered lets results arrive in any order across ranges (partial
	// aggregates, top-N): ranges then never wait for each other.
	Unordered bool
}
