package exec

import (
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// env is the row an expression is evaluated over, and the rows of the
// enclosing queries (for correlated subqueries).
type env struct {
	row   []types.Datum
	outer *env
}

var decCtx = apd.BaseContext.WithPrecision(40)

// eval computes e over row.
func (ec *runner) eval(e planner.Expr, en *env) (types.Datum, error) {
	switch e := e.(type) {
	case *planner.Const:
		return e.Val, nil
	case *planner.Param:
		return ec.param(e)
	case *planner.ColRef:
		return en.row[e.Ord], nil
	case *planner.OuterRef:
		o := en
		for i := 0; i < e.Depth; i++ {
			o = o.outer
		}
		return o.row[e.Ord], nil
	case *planner.Subquery:
		return ec.evalSubquery(e, en)
	case *planner.Case:
		return ec.evalCase(e, en)
	case *planner.Func:
		return ec.evalFunc(e, en)
	case *planner.Like:
		return ec.evalLike(e, en)
	case *planner.IsDistinct:
		l, err := ec.eval(e.L, en)
		if err != nil {
			return types.Null, err
		}
		r, err := ec.eval(e.R, en)
		if err != nil {
			return types.Null, err
		}
		same := (l.IsNull() && r.IsNull()) || (!l.IsNull() && !r.IsNull() && types.Compare(l, r) == 0)
		return types.NewBool(same == e.Not), nil
	case *planner.Binary:
		l, err := ec.eval(e.L, en)
		if err != nil {
			return types.Null, err
		}
		r, err := ec.eval(e.R, en)
		if err != nil {
			return types.Null, err
		}
		if l.IsNull() || r.IsNull() {
			return types.Null, nil
		}
		if e.Op.IsComparison() {
			return types.NewBool(compareOp(e.Op, types.Compare(l, r))), nil
		}
		if e.Op == planner.OpConcat && e.T.Family == types.StringFamily {
			return types.NewString(l.Str() + r.Str()), nil
		}
		return arith(e.Op, l, r, e.T)
	case *planner.And:
		sawNull := false
		for _, a := range e.Args {
			v, err := ec.eval(a, en)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				sawNull = true
			} else if !v.Bool() {
				return types.NewBool(false), nil
			}
		}
		if sawNull {
			return types.Null, nil
		}
		return types.NewBool(true), nil
	case *planner.Or:
		sawNull := false
		for _, a := range e.Args {
			v, err := ec.eval(a, en)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				sawNull = true
			} else if v.Bool() {
				return types.NewBool(true), nil
			}
		}
		if sawNull {
			return types.Null, nil
		}
		return types.NewBool(false), nil
	case *planner.Not:
		v, err := ec.eval(e.E, en)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		return types.NewBool(!v.Bool()), nil
	case *planner.Neg:
		v, err := ec.eval(e.E, en)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		switch v.Family() {
		case types.IntFamily:
			return arith(planner.OpSub, types.NewInt(0), v, e.Type())
		case types.FloatFamily:
			if v.IsFloat4() {
				return types.NewFloat4(-v.Float()), nil
			}
			return types.NewFloat(-v.Float()), nil
		case types.IntervalFamily:
			return types.NewInterval(types.NegSpan(v.Interval())), nil
		}
		d := *v.Decimal()
		d.Negative = !d.Negative && !d.IsZero()
		return types.NewDecimal(&d), nil
	case *planner.IsNull:
		v, err := ec.eval(e.E, en)
		if err != nil {
			return types.Null, err
		}
		return types.NewBool(v.IsNull() != e.Not), nil
	case *planner.Cast:
		v, err := ec.eval(e.E, en)
		if err != nil {
			return types.Null, err
		}
		return types.Cast(v, e.T)
	case *planner.UniqueRowID:
		id, err := ec.ids.NextRowID(ec.ctx)
		if err != nil {
			return types.Null, err
		}
		return types.NewInt(id), nil
	}
	return types.Null, pgerr.New(pgerr.Internal, "cannot evaluate %T", e)
}

func compareOp(op planner.BinOp, c int) bool {
	switch op {
	case planner.OpEq:
		return c == 0
	case planner.OpNe:
		return c != 0
	case planner.OpLt:
		return c < 0
	case planner.OpLe:
		return c <= 0
	case planner.OpGt:
		return c > 0
	}
	return c >= 0
}

func outOfRange(t types.T) error {
	return pgerr.New(pgerr.NumericOutOfRange, "%s out of range", t)
}

var errDivZero = pgerr.New(pgerr.DivisionByZero, "division by zero")

// arith applies an arithmetic operator with PostgreSQL's rules: integer
// overflow is an error, integer division truncates, x/0 is an error.
func arith(op planner.BinOp, l, r types.Datum, t types.T) (types.Datum, error) {
	if d, ok, err := extArith(op, l, r, t); ok {
		return d, err
	}
	switch t.Family {
	case types.IntFamily:
		a, b := l.Int(), r.Int()
		var v int64
		switch op {
		case planner.OpAdd:
			v = a + b
			if (v > a) != (b > 0) {
				return types.Null, outOfRange(t)
			}
		case planner.OpSub:
			v = a - b
			if (v < a) != (b > 0) {
				return types.Null, outOfRange(t)
			}
		case planner.OpMul:
			if a != 0 && b != 0 {
				v = a * b
				if v/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
					return types.Null, outOfRange(t)
				}
			}
		case planner.OpDiv, planner.OpMod:
			if b == 0 {
				return types.Null, errDivZero
			}
			if b == -1 {
				if op == planner.OpMod {
					return types.NewInt(0), nil
				}
				if a == math.MinInt64 {
					return types.Null, outOfRange(t)
				}
				v = -a
			} else if op == planner.OpDiv {
				v = a / b
			} else {
				v = a % b
			}
		}
		d, err := types.CastInt(v, t)
		if err != nil {
			return types.Null, outOfRange(t)
		}
		return d, nil
	case types.FloatFamily:
		a, b := l.AsFloat(), r.AsFloat()
		var v float64
		switch op {
		case planner.OpAdd:
			v = a + b
		case planner.OpSub:
			v = a - b
		case planner.OpMul:
			v = a * b
		case planner.OpDiv:
			if b == 0 {
				return types.Null, errDivZero
			}
			v = a / b
		case planner.OpMod:
			if b == 0 {
				return types.Null, errDivZero
			}
			v = math.Mod(a, b)
		}
		if math.IsInf(v, 0) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
			return types.Null, pgerr.New(pgerr.NumericOutOfRange, "value out of range: overflow")
		}
		if t.Width == 32 {
			return types.Cast(types.NewFloat(v), t)
		}
		return types.NewFloat(v), nil
	}
	a, b := l.AsDecimal(), r.AsDecimal()
	var v apd.Decimal
	var err error
	switch op {
	case planner.OpAdd:
		_, err = exactCtx.Add(&v, a, b)
	case planner.OpSub:
		_, err = exactCtx.Sub(&v, a, b)
	case planner.OpMul:
		_, err = exactCtx.Mul(&v, a, b)
	case planner.OpDiv:
		return numericDiv(a, b)
	case planner.OpMod:
		if b.IsZero() {
			return types.Null, errDivZero
		}
		_, err = decCtx.Rem(&v, a, b)
	}
	if err != nil {
		return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, "numeric")
	}
	if v.IsZero() {
		v.Negative = false // PostgreSQL has no negative zero numeric
	}
	return types.NewDecimal(&v), nil
}

// truth reports whether a filter value admits the row (NULL does not).
func truth(d types.Datum) bool { return !d.IsNull() && d.Bool() }
