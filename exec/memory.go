package exec

import (
	"context"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// DefaultMemoryBudget bounds the rows one statement holds on the frontend
// (sort buffers, hash tables of joins, aggregations, DISTINCT and set
// operations, cached subquery results) unless the session sets another.
const DefaultMemoryBudget = 512 << 20

type memoryKey struct{}

// WithMemoryBudget returns a context under which a statement may hold at
// most bytes of rows (0 or less: DefaultMemoryBudget). Past it the
// statement fails with 53200; nothing spills to disk yet.
func WithMemoryBudget(ctx context.Context, bytes int64) context.Context {
	return context.WithValue(ctx, memoryKey{}, bytes)
}

func memoryBudget(ctx context.Context) int64 {
	if b, ok := ctx.Value(memoryKey{}).(int64); ok && b > 0 {
		return b
	}
	return DefaultMemoryBudget
}

// grow accounts for n more bytes held by what; it fails with 53200 once
// the statement's budget is exceeded.
func (r *runner) grow(n int64, what string) error {
	r.memUsed += n
	if r.memLimit == 0 {
		r.memLimit = memoryBudget(r.ctx)
	}
	if r.memUsed > r.memLimit {
		return pgerr.New(pgerr.OutOfMemory, "out of memory").
			WithDetail("The %s needs more than the statement memory budget of %d bytes.", what, r.memLimit).
			WithHint("Raise shardsql.max_statement_memory, or narrow the query; spilling to disk is not implemented yet.")
	}
	return nil
}

// rowSize estimates the bytes a row holds in memory.
func rowSize(row []types.Datum) int64 {
	n := int64(24 + 40*len(row))
	for _, d := range row {
		switch d.Family() {
		case types.StringFamily:
			n += int64(len(d.Str()))
		case types.DecimalFamily:
			n += 32
		}
	}
	return n
}
