package exec

import (
	"context"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

type paramsKey struct{}

// WithParams returns a context under which Run binds a prepared plan's
// parameters: vals[N-1] is $N, already of the parameter's type.
func WithParams(ctx context.Context, vals []types.Datum) context.Context {
	return context.WithValue(ctx, paramsKey{}, vals)
}

func paramsFrom(ctx context.Context) []types.Datum {
	v, _ := ctx.Value(paramsKey{}).([]types.Datum)
	return v
}

func (r *runner) param(p *planner.Param) (types.Datum, error) {
	if p.N < 1 || p.N > len(r.params) {
		return types.Null, pgerr.New(pgerr.UndefinedParameter, "there is no parameter $%d", p.N)
	}
	return r.params[p.N-1], nil
}

// access returns what a scan reads, deriving the spans from the bound
// parameters when they depend on them.
func (r *runner) access(s *planner.Scan) planner.Access {
	if !s.Access.Deferred {
		return s.Access
	}
	if a, ok := r.accessCache[s]; ok {
		return a
	}
	a := planner.AccessFor(s.Table, s.Filter, r.params)
	if r.accessCache == nil {
		r.accessCache = map[*planner.Scan]planner.Access{}
	}
	r.accessCache[s] = a
	return a
}
