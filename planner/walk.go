package planner

// mapExpr rebuilds e bottom-up, replacing each node by what f returns for
// it (after its children were mapped). Subqueries are not entered.
func mapExpr(e Expr, f func(Expr) (Expr, error)) (Expr, error) {
	if e == nil {
		return nil, nil
	}
	m, err := mapChildren(e, func(c Expr) (Expr, error) { return mapExpr(c, f) })
	if err != nil {
		return nil, err
	}
	return f(m)
}

// mapChildren rebuilds e with each direct child replaced by f(child).
func mapChildren(e Expr, f func(Expr) (Expr, error)) (Expr, error) {
	if e == nil {
		return nil, nil
	}
	var err error
	mapAll := func(es []Expr) ([]Expr, error) {
		out := make([]Expr, len(es))
		for i, x := range es {
			if out[i], err = f(x); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	switch x := e.(type) {
	case *Binary:
		c := *x
		if c.L, err = f(x.L); err != nil {
			return nil, err
		}
		if c.R, err = f(x.R); err != nil {
			return nil, err
		}
		return &c, nil
	case *And:
		args, err := mapAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &And{Args: args}, nil
	case *Or:
		args, err := mapAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &Or{Args: args}, nil
	case *Not:
		in, err := f(x.E)
		if err != nil {
			return nil, err
		}
		return &Not{E: in}, nil
	case *Neg:
		in, err := f(x.E)
		if err != nil {
			return nil, err
		}
		return &Neg{E: in}, nil
	case *IsNull:
		in, err := f(x.E)
		if err != nil {
			return nil, err
		}
		return &IsNull{E: in, Not: x.Not}, nil
	case *Cast:
		in, err := f(x.E)
		if err != nil {
			return nil, err
		}
		return &Cast{E: in, T: x.T}, nil
	case *Case:
		c := &Case{T: x.T}
		if c.Operand, err = f(x.Operand); err != nil {
			return nil, err
		}
		for _, w := range x.Whens {
			var nw When
			if nw.Cond, err = f(w.Cond); err != nil {
				return nil, err
			}
			if nw.Result, err = f(w.Result); err != nil {
				return nil, err
			}
			c.Whens = append(c.Whens, nw)
		}
		if c.Else, err = f(x.Else); err != nil {
			return nil, err
		}
		return c, nil
	case *Func:
		args, err := mapAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &Func{Name: x.Name, Args: args, T: x.T}, nil
	case *Like:
		c := *x
		if c.E, err = f(x.E); err != nil {
			return nil, err
		}
		if c.Pattern, err = f(x.Pattern); err != nil {
			return nil, err
		}
		return &c, nil
	case *IsDistinct:
		c := *x
		if c.L, err = f(x.L); err != nil {
			return nil, err
		}
		if c.R, err = f(x.R); err != nil {
			return nil, err
		}
		return &c, nil
	case *Subquery:
		c := *x
		if c.Test, err = f(x.Test); err != nil {
			return nil, err
		}
		return &c, nil
	case *WindowCall:
		return mapWindowChildren(x, f)
	}
	return e, nil
}

// visitExpr calls f on every node of e (not entering subqueries).
// Absent optional children (a CASE without ELSE) are not visited.
func visitExpr(e Expr, f func(Expr)) {
	mapExpr(e, func(x Expr) (Expr, error) {
		if x != nil {
			f(x)
		}
		return x, nil
	})
}
