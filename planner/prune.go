package planner

// NeededColumns works out, for every table scan under root, which of the
// table's columns the query reads (in the scan's filter, in the operators
// above it, in correlated subqueries through outer references). The
// executor asks shard servers to return only those (projection pushdown).
// It returns nil when the plan holds an operator or expression it does not
// know, so that nothing is pruned.
func NeededColumns(root Rel) map[*Scan][]bool {
	p := &pruner{out: map[*Scan][]bool{}}
	p.rel(root, allTrue(len(root.Cols())), nil)
	if p.bad {
		return nil
	}
	return p.out
}

type pruner struct {
	out map[*Scan][]bool
	bad bool
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// rel marks what rel needs of its inputs to produce the columns in want;
// outer[d-1] is the row an outer reference of depth d reads.
func (p *pruner) rel(r Rel, want []bool, outer [][]bool) {
	if p.bad {
		return
	}
	switch r := r.(type) {
	case *Scan:
		need := make([]bool, len(r.Table.Columns))
		copy(need, want)
		p.expr(r.Filter, need, outer)
		if prev, ok := p.out[r]; ok { // a scan reached twice: union
			for i := range need {
				need[i] = need[i] || prev[i]
			}
		}
		p.out[r] = need
	case *Values:
		for _, row := range r.Rows {
			for _, e := range row {
				p.expr(e, nil, outer)
			}
		}
	case *Filter:
		need := append([]bool(nil), want...)
		p.expr(r.Pred, need, outer)
		p.rel(r.Input, need, outer)
	case *Project:
		need := make([]bool, len(r.Input.Cols()))
		for _, e := range r.Exprs { // every expression is evaluated
			p.expr(e, need, outer)
		}
		p.rel(r.Input, need, outer)
	case *Join:
		nl := len(r.Left.Cols())
		joined := make([]bool, nl+len(r.Right.Cols()))
		copy(joined, want)
		p.expr(r.On, joined, outer)
		left, right := joined[:nl:nl], joined[nl:]
		for _, e := range r.LeftKeys {
			p.expr(e, left, outer)
		}
		for _, e := range r.RightKeys {
			p.expr(e, right, outer)
		}
		p.rel(r.Left, left, outer)
		p.rel(r.Right, right, outer)
	case *Aggregate:
		need := make([]bool, len(r.Input.Cols()))
		for _, e := range r.Group {
			p.expr(e, need, outer)
		}
		for _, a := range r.Aggs {
			p.expr(a, need, outer)
		}
		p.rel(r.Input, need, outer)
	case *Window:
		nIn := len(r.Input.Cols())
		need := make([]bool, nIn)
		copy(need, want[:min(len(want), nIn)])
		for _, f := range r.Funcs {
			for _, e := range f.Args {
				p.expr(e, need, outer)
			}
			if f.Agg != nil {
				p.expr(f.Agg, need, outer)
			}
			for _, e := range f.Partition {
				p.expr(e, need, outer)
			}
			for _, e := range f.Order {
				p.expr(e, need, outer)
			}
		}
		p.rel(r.Input, need, outer)
	case *Distinct:
		need := append([]bool(nil), want...)
		n := r.On
		if n == 0 {
			n = len(need)
		}
		for i := 0; i < n && i < len(need); i++ {
			need[i] = true
		}
		for _, k := range r.Keys {
			if k >= 0 && k < len(need) {
				need[k] = true
			}
		}
		p.rel(r.Input, need, outer)
	case *Sort:
		need := append([]bool(nil), want...)
		for _, k := range r.Keys {
			if k.Col < len(need) {
				need[k.Col] = true
			}
		}
		p.rel(r.Input, need, outer)
	case *Limit:
		p.rel(r.Input, want, outer)
	case *SetOp:
		p.rel(r.Left, allTrue(len(r.Left.Cols())), outer)
		p.rel(r.Right, allTrue(len(r.Right.Cols())), outer)
	default:
		p.bad = true
	}
}

// expr marks the columns of row (the row e is evaluated over) and of the
// outer rows that e reads.
func (p *pruner) expr(e Expr, row []bool, outer [][]bool) {
	if p.bad || e == nil {
		return
	}
	mark := func(b []bool, ord int) {
		if ord < 0 || ord >= len(b) {
			p.bad = true
			return
		}
		b[ord] = true
	}
	switch e := e.(type) {
	case *Const, *UniqueRowID, *Param:
	case *ColRef:
		mark(row, e.Ord)
	case *OuterRef:
		if e.Depth < 1 || e.Depth > len(outer) {
			p.bad = true
			return
		}
		mark(outer[e.Depth-1], e.Ord)
	case *Subquery:
		p.expr(e.Test, row, outer)
		// The subquery's rows see this row as depth 1.
		sub := append([][]bool{row}, outer...)
		if row == nil {
			sub[0] = []bool{}
		}
		p.rel(e.Rel, allTrue(len(e.Rel.Cols())), sub)
	case *Binary:
		p.expr(e.L, row, outer)
		p.expr(e.R, row, outer)
	case *And:
		for _, a := range e.Args {
			p.expr(a, row, outer)
		}
	case *Or:
		for _, a := range e.Args {
			p.expr(a, row, outer)
		}
	case *Not:
		p.expr(e.E, row, outer)
	case *Neg:
		p.expr(e.E, row, outer)
	case *IsNull:
		p.expr(e.E, row, outer)
	case *Cast:
		p.expr(e.E, row, outer)
	case *Func:
		for _, a := range e.Args {
			p.expr(a, row, outer)
		}
	case *Case:
		p.expr(e.Operand, row, outer)
		for _, w := range e.Whens {
			p.expr(w.Cond, row, outer)
			p.expr(w.Result, row, outer)
		}
		p.expr(e.Else, row, outer)
	case *Like:
		p.expr(e.E, row, outer)
		p.expr(e.Pattern, row, outer)
	case *IsDistinct:
		p.expr(e.L, row, outer)
		p.expr(e.R, row, outer)
	case *AggCall:
		p.expr(e.Arg, row, outer)
		p.expr(e.Sep, row, outer)
		p.expr(e.Filter, row, outer)
		for _, o := range e.Order {
			p.expr(o, row, outer)
		}
	default:
		p.bad = true
	}
}
