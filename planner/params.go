package planner

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// Param is a statement parameter ($N) of a prepared statement. Its type is
// declared by the client or inferred from where it is used (as an untyped
// literal's would be: compared with an integer column it is an integer);
// one left undetermined is text.
type Param struct {
	N    int // 1-based
	slot *paramSlot
}

type paramSlot struct{ t types.T }

// Type implements Expr.
func (p *Param) Type() types.T { return p.slot.t }

func (p *Param) String() string { return fmt.Sprintf("$%d", p.N) }

// maxParams is the most parameters a statement may have (PostgreSQL's).
const maxParams = 65535

// paramCatalog carries a statement's parameter slots through the builder
// (which reaches it as its Catalog).
type paramCatalog struct {
	Catalog
	slots []*paramSlot
}

func (pc *paramCatalog) slot(n int) *paramSlot {
	for len(pc.slots) < n {
		pc.slots = append(pc.slots, &paramSlot{t: types.Unknown})
	}
	return pc.slots[n-1]
}

// BuildParams plans a statement that may hold parameters. declared gives
// the types the client declared (Unknown: infer); the result has one
// type per parameter ($1 .. $N for the highest N used or declared).
func BuildParams(stmt *pg.Node, cat Catalog, declared []types.T) (Plan, []types.T, error) {
	pc := &paramCatalog{Catalog: cat}
	for i, t := range declared {
		pc.slot(i + 1).t = t
	}
	p, err := Build(stmt, pc)
	if err != nil {
		return nil, nil, err
	}
	out := make([]types.T, len(pc.slots))
	for i, s := range pc.slots {
		if s.t.Family == types.UnknownFamily {
			s.t = types.Text
		}
		out[i] = s.t
	}
	return p, out, nil
}

// param returns the expression for $n in this statement.
func (s *scope) param(pr *pg.ParamRef) (Expr, error) {
	pc, ok := s.catalog().(*paramCatalog)
	if !ok {
		return nil, errAt(pgerr.UndefinedParameter, pr.Location, "there is no parameter $%d", pr.Number)
	}
	if pr.Number < 1 || pr.Number > maxParams {
		return nil, errAt(pgerr.UndefinedParameter, pr.Location, "there is no parameter $%d", pr.Number)
	}
	return &Param{N: int(pr.Number), slot: pc.slot(int(pr.Number))}, nil
}

// SubstituteParams returns e with every parameter replaced by its value
// (vals[N-1], already of the parameter's type).
func SubstituteParams(e Expr, vals []types.Datum) Expr {
	if e == nil || len(vals) == 0 {
		return e
	}
	out, _ := mapExpr(e, func(x Expr) (Expr, error) {
		if p, ok := x.(*Param); ok && p.N <= len(vals) {
			return &Const{Val: vals[p.N-1], T: p.Type()}, nil
		}
		return x, nil
	})
	return out
}

// HasParams reports whether e reads a parameter (not looking into subqueries).
func HasParams(e Expr) bool {
	found := false
	visitExpr(e, func(x Expr) {
		if _, ok := x.(*Param); ok {
			found = true
		}
	})
	return found
}

// AccessFor derives a scan's key spans from its filter with the
// statement's parameter values in place (for an Access marked Deferred).
func AccessFor(t *Table, filter Expr, vals []types.Datum) Access {
	return access(t, SubstituteParams(filter, vals))
}
