package exec

import (
	"strings"

	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// runJoin joins by hashing the right side on the equality keys (or trying
// every right row when there are none), then checking the rest of the
// condition on each candidate pair. Outer joins pad with NULLs.
func (r *runner) runJoin(j *planner.Join, outer *env, emit func([]types.Datum) error) error {
	if lk := r.lookupJoinPlan(j); lk != nil {
		return r.runLookupJoin(j, lk, outer, emit)
	}
	h := &hashJoin{r: r, j: j, outer: outer, emit: emit}
	if err := h.build(); err != nil {
		return err
	}
	if err := r.run(j.Left, outer, h.probe); err != nil {
		return err
	}
	return h.finish()
}

// hashJoin is a join's right side in memory, hashed on its keys, probed
// by the left rows.
type hashJoin struct {
	r      *runner
	j      *planner.Join
	outer  *env
	emit   func([]types.Datum) error
	nl, nr int
	right  [][]types.Datum
	hashed bool
	table  map[string][]int
	all    []int
	// rightMatched records the right rows that found a partner (RIGHT and
	// FULL joins emit the others padded at the end).
	rightMatched []bool
}

func (h *hashJoin) build() error {
	r, j := h.r, h.j
	right, err := r.collect(j.Right, h.outer)
	if err != nil {
		return err
	}
	h.right = right
	h.nl, h.nr = len(j.Left.Cols()), len(j.Right.Cols())
	h.hashed = len(j.LeftKeys) > 0
	if h.hashed {
		h.table = map[string][]int{}
		for i, row := range right {
			k, ok, err := r.joinKey(j.RightKeys, row, h.outer)
			if err != nil {
				return err
			}
			if ok {
				h.table[k] = append(h.table[k], i)
			}
		}
	}
	if j.Kind == planner.RightJoin || j.Kind == planner.FullJoin {
		h.rightMatched = make([]bool, len(right))
	}
	h.all = make([]int, len(right))
	for i := range h.all {
		h.all[i] = i
	}
	return nil
}

func (h *hashJoin) probe(left []types.Datum) error {
	r, j := h.r, h.j
	cands := h.all
	if h.hashed {
		k, ok, err := r.joinKey(j.LeftKeys, left, h.outer)
		if err != nil {
			return err
		}
		cands = nil
		if ok {
			cands = h.table[k]
		}
	}
	matched := false
	for _, i := range cands {
		if err := r.tick(); err != nil {
			return err
		}
		row := make([]types.Datum, 0, h.nl+h.nr)
		row = append(append(row, left...), h.right[i]...)
		if j.On != nil {
			v, err := r.eval(j.On, &env{row: row, outer: h.outer})
			if err != nil {
				return err
			}
			if !truth(v) {
				continue
			}
		}
		matched = true
		if h.rightMatched != nil {
			h.rightMatched[i] = true
		}
		if err := h.emit(row); err != nil {
			return err
		}
	}
	if !matched && (j.Kind == planner.LeftJoin || j.Kind == planner.FullJoin) {
		return h.emit(append(append(make([]types.Datum, 0, h.nl+h.nr), left...), nulls(h.nr)...))
	}
	return nil
}

func (h *hashJoin) finish() error {
	for i, m := range h.rightMatched {
		if !m {
			if err := h.emit(append(nulls(h.nl), h.right[i]...)); err != nil {
				return err
			}
		}
	}
	return nil
}

func nulls(n int) []types.Datum {
	out := make([]types.Datum, n)
	for i := range out {
		out[i] = types.Null
	}
	return out
}

// joinKey evaluates the key expressions over row; ok is false when any is
// NULL (NULL never equals anything).
func (r *runner) joinKey(exprs []planner.Expr, row []types.Datum, outer *env) (string, bool, error) {
	var b strings.Builder
	en := &env{row: row, outer: outer}
	for _, e := range exprs {
		v, err := r.eval(e, en)
		if err != nil {
			return "", false, err
		}
		if v.IsNull() {
			return "", false, nil
		}
		datumKey(&b, v)
	}
	return b.String(), true, nil
}
