package exec

import (
	"bytes"
	"context"

	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// BatchGetter is implemented by a KV that reads many keys in one round
// per range (txn.Txn).
type BatchGetter interface {
	BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error)
}

// lookupJoinMaxLeft is the most left rows a join reads the right side
// for by primary-key lookups; past it the join hashes the right side.
var lookupJoinMaxLeft = 1024

// lookupJoin says how to look a left row's partner up by primary key.
type lookupJoin struct {
	scan *planner.Scan
	// pkExpr[p] is the left key expression giving primary-key column p.
	pkExpr []planner.Expr
}

// lookupJoinPlan returns how an inner or left join can read its right
// side by primary key: the right side is a table scan and the equality
// keys cover exactly its primary key, with matching types.
func (r *runner) lookupJoinPlan(j *planner.Join) *lookupJoin {
	if _, ok := r.kv.(BatchGetter); !ok || r.ctx.Value(noPushdownKey{}) != nil {
		return nil
	}
	if j.Kind != planner.InnerJoin && j.Kind != planner.LeftJoin {
		return nil
	}
	s, ok := j.Right.(*planner.Scan)
	if !ok || r.lockScans[s] || len(s.Table.PK) == 0 || len(j.RightKeys) != len(s.Table.PK) {
		return nil
	}
	lk := &lookupJoin{scan: s, pkExpr: make([]planner.Expr, len(s.Table.PK))}
	for i, e := range j.RightKeys {
		c, ok := e.(*planner.ColRef)
		if !ok {
			return nil
		}
		p := -1
		for pi, o := range s.Table.PK {
			if o == c.Ord {
				p = pi
			}
		}
		if p < 0 || lk.pkExpr[p] != nil {
			return nil
		}
		// Only where equal values encode to equal keys: the same type,
		// or integers of any width (decimals may differ in trailing zeros).
		lt, ct := j.LeftKeys[i].Type(), s.Table.Columns[c.Ord].Type
		if lt != ct && (lt.Family != types.IntFamily || ct.Family != types.IntFamily) {
			return nil
		}
		if ct.Family == types.DecimalFamily || ct.Family == types.FloatFamily {
			return nil
		}
		lk.pkExpr[p] = j.LeftKeys[i]
	}
	return lk
}

// runLookupJoin buffers up to lookupJoinMaxLeft left rows; if the left
// side ends there it reads their partners with batched primary-key
// lookups, else it hashes the right side and goes on as a hash join.
func (r *runner) runLookupJoin(j *planner.Join, lk *lookupJoin, outer *env, emit func([]types.Datum) error) error {
	var buf [][]types.Datum
	var h *hashJoin
	err := r.run(j.Left, outer, func(left []types.Datum) error {
		if h != nil {
			return h.probe(left)
		}
		buf = append(buf, left)
		if len(buf) <= lookupJoinMaxLeft {
			return r.grow(rowSize(left), "join buffer")
		}
		h = &hashJoin{r: r, j: j, outer: outer, emit: emit}
		if err := h.build(); err != nil {
			return err
		}
		for _, row := range buf {
			if err := h.probe(row); err != nil {
				return err
			}
		}
		buf = nil
		return nil
	})
	if err != nil {
		return err
	}
	if h != nil {
		return h.finish()
	}
	r.noteLookup(j, len(buf))
	return r.lookupRows(j, lk, buf, outer, emit)
}

func (r *runner) lookupRows(j *planner.Join, lk *lookupJoin, lefts [][]types.Datum, outer *env, emit func([]types.Datum) error) error {
	t := lk.scan.Table
	nl, nr := len(j.Left.Cols()), len(j.Right.Cols())
	keys := make([][]byte, len(lefts))
	var want [][]byte
	for i, left := range lefts {
		en := &env{row: left, outer: outer}
		pk := make([]types.Datum, len(lk.pkExpr))
		ok := true
		for p, e := range lk.pkExpr {
			v, err := r.eval(e, en)
			if err != nil {
				return err
			}
			if v.IsNull() {
				ok = false
				break
			}
			if ct := t.Columns[t.PK[p]].Type; ct.Family == types.IntFamily && v.Family() == types.IntFamily {
				// Integers of another width: one outside the column's
				// range has no partner. (Other families encode as they
				// are: a cast could change the value, as varchar(n) does.)
				if v, err = types.Cast(v, ct); err != nil {
					ok = false
					break
				}
			}
			pk[p] = v
		}
		if !ok {
			continue
		}
		k, err := rowenc.EncodeRowKey(t.ID, pk, t.PKDesc)
		if err != nil || !inAccess(r.access(lk.scan), k) {
			continue
		}
		keys[i] = k
		want = append(want, k)
	}
	found, err := r.kv.(BatchGetter).BatchGet(r.ctx, want)
	if err != nil {
		return err
	}
	dec := newRowDecoder(t)
	an := r.an.scan(lk.scan)
	for i, left := range lefts {
		var right []types.Datum
		if keys[i] != nil {
			if v, ok := found[string(keys[i])]; ok {
				an.received(keys[i], v)
				row, err := dec.decode(keys[i], v, false)
				if err != nil {
					return err
				}
				right = row
				if f := lk.scan.Filter; f != nil {
					v, err := r.eval(f, &env{row: row, outer: outer})
					if err != nil {
						return err
					}
					if !truth(v) {
						right = nil
					}
				}
			}
		}
		if right != nil {
			row := append(append(make([]types.Datum, 0, nl+nr), left...), right...)
			keep := true
			if j.On != nil {
				v, err := r.eval(j.On, &env{row: row, outer: outer})
				if err != nil {
					return err
				}
				keep = truth(v)
			}
			if keep {
				if err := emit(row); err != nil {
					return err
				}
				continue
			}
		}
		if j.Kind == planner.LeftJoin {
			if err := emit(append(append(make([]types.Datum, 0, nl+nr), left...), nulls(nr)...)); err != nil {
				return err
			}
		}
	}
	return nil
}

// inAccess reports whether a row key lies in what a scan reads.
func inAccess(a planner.Access, key []byte) bool {
	if a.Point != nil {
		return bytes.Equal(a.Point, key)
	}
	for _, sp := range a.Spans {
		if bytes.Compare(key, sp.Start) >= 0 && (len(sp.End) == 0 || bytes.Compare(key, sp.End) < 0) {
			return true
		}
	}
	return false
}
