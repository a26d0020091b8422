package planner

import (
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
)

// bound is what the filter says about one primary-key column.
type bound struct {
	eq         *types.Datum
	lo, hi     *types.Datum
	loIncl     bool
	hiIncl     bool
	impossible bool
}

// access derives the key spans a filter needs: one key for equality on the
// whole primary key, the covered span for equality on a prefix plus a range
// on the next column, else the whole table. The filter is still applied to
// every row read, so the spans only need to cover the matching rows.
func access(t *Table, filter Expr) Access {
	var deferred bool
	a := accessSpans(t, filter, &deferred)
	a.Deferred = deferred
	return a
}

func isParam(e Expr) bool {
	if c, ok := e.(*Cast); ok {
		e = c.E
	}
	_, ok := e.(*Param)
	return ok
}

func pkPos(t *Table, ord int) int {
	for i, o := range t.PK {
		if o == ord {
			return i
		}
	}
	return -1
}

func accessSpans(t *Table, filter Expr, deferredOut *bool) (a Access) {
	deferred := false
	defer func() { *deferredOut = deferred }()
	bounds := make([]bound, len(t.PK))
	for _, c := range conjuncts(filter) {
		b, ok := c.(*Binary)
		if !ok || !b.Op.IsComparison() || b.Op == OpNe {
			continue
		}
		col, cl := b.L.(*ColRef)
		k, kl := b.R.(*Const)
		op := b.Op
		if !cl || !kl {
			col, cl = b.R.(*ColRef)
			k, kl = b.L.(*Const)
			op = flip(op)
		}
		if !cl || !kl {
			if pcol, ok := b.L.(*ColRef); ok && isParam(b.R) && pkPos(t, pcol.Ord) >= 0 {
				deferred = true
			} else if pcol, ok := b.R.(*ColRef); ok && isParam(b.L) && pkPos(t, pcol.Ord) >= 0 {
				deferred = true
			}
			continue
		}
		pos := -1
		for i, o := range t.PK {
			if o == col.Ord {
				pos = i
			}
		}
		if pos < 0 || k.Val.IsNull() || k.Val.Family() != col.T.Family {
			continue
		}
		v := k.Val
		bd := &bounds[pos]
		switch op {
		case OpEq:
			if bd.eq != nil && types.Compare(*bd.eq, v) != 0 {
				bd.impossible = true
			}
			bd.eq = &v
		case OpGt, OpGe:
			if bd.lo == nil || types.Compare(v, *bd.lo) > 0 {
				bd.lo, bd.loIncl = &v, op == OpGe
			}
		case OpLt, OpLe:
			if bd.hi == nil || types.Compare(v, *bd.hi) < 0 {
				bd.hi, bd.hiIncl = &v, op == OpLe
			}
		}
	}
	rowStart, rowEnd := keys.RowSpan(t.ID)
	full := Access{Spans: []Span{{Start: rowStart, End: rowEnd}}, Full: true}
	prefix := keys.RowPrefix(t.ID)
	for i, bd := range bounds {
		if bd.impossible {
			return Access{}
		}
		desc := t.PKDesc[i]
		if bd.eq != nil {
			var err error
			if prefix, err = rowenc.EncodeKeyDatum(prefix, *bd.eq, desc); err != nil {
				return full
			}
			if i == len(bounds)-1 {
				return Access{Point: prefix}
			}
			continue
		}
		// A range on this column (ascending only), after an equal prefix.
		start, end := prefix, keys.PrefixEnd(prefix)
		if bd.lo == nil && bd.hi == nil {
			if i == 0 {
				return full
			}
			return Access{Spans: []Span{{Start: start, End: end}}}
		}
		if !desc {
			if bd.lo != nil {
				if s, err := rowenc.EncodeKeyDatum(append([]byte{}, prefix...), *bd.lo, false); err == nil {
					if bd.loIncl {
						start = s
					} else {
						start = keys.PrefixEnd(s)
					}
				}
			} else {
				// NULLs sort first and never match a comparison.
				start = keys.PrefixEnd(keys.EncodeNullAscending(append([]byte{}, prefix...)))
			}
			if bd.hi != nil {
				if e, err := rowenc.EncodeKeyDatum(append([]byte{}, prefix...), *bd.hi, false); err == nil {
					if bd.hiIncl {
						end = keys.PrefixEnd(e)
					} else {
						end = e
					}
				}
			}
		}
		if string(start) >= string(end) {
			return Access{}
		}
		return Access{Spans: []Span{{Start: start, End: end}}}
	}
	return full
}

func flip(op BinOp) BinOp {
	switch op {
	case OpLt:
		return OpGt
	case OpLe:
		return OpGe
	case OpGt:
		return OpLt
	case OpGe:
		return OpLe
	}
	return op
}
