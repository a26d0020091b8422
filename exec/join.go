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
	right, err := r.collect(j.Right, outer)
	if err != nil {
		return err
	}
	nl, nr := len(j.Left.Cols()), len(j.Right.Cols())
	hashed := len(j.LeftKeys) > 0
	var table map[string][]int
	if hashed {
		table = map[string][]int{}
		for i, row := range right {
			k, ok, err := r.joinKey(j.RightKeys, row, outer)
			if err != nil {
				return err
			}
			if ok {
				table[k] = append(table[k], i)
			}
		}
	}
	var rightMatched []bool
	if j.Kind == planner.RightJoin || j.Kind == planner.FullJoin {
		rightMatched = make([]bool, len(right))
	}
	all := make([]int, len(right))
	for i := range all {
		all[i] = i
	}
	err = r.run(j.Left, outer, func(left []types.Datum) error {
		cands := all
		if hashed {
			k, ok, err := r.joinKey(j.LeftKeys, left, outer)
			if err != nil {
				return err
			}
			cands = nil
			if ok {
				cands = table[k]
			}
		}
		matched := false
		for _, i := range cands {
			if err := r.tick(); err != nil {
				return err
			}
			row := make([]types.Datum, 0, nl+nr)
			row = append(append(row, left...), right[i]...)
			if j.On != nil {
				v, err := r.eval(j.On, &env{row: row, outer: outer})
				if err != nil {
					return err
				}
				if !truth(v) {
					continue
				}
			}
			matched = true
			if rightMatched != nil {
				rightMatched[i] = true
			}
			if err := emit(row); err != nil {
				return err
			}
		}
		if !matched && (j.Kind == planner.LeftJoin || j.Kind == planner.FullJoin) {
			return emit(append(append(make([]types.Datum, 0, nl+nr), left...), nulls(nr)...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, m := range rightMatched {
		if !m {
			if err := emit(append(nulls(nl), right[i]...)); err != nil {
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
