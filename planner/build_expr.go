package planner

import (
	"math"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

func errAt(code string, loc int32, format string, args ...any) error {
	e := pgerr.New(code, format, args...)
	if loc >= 0 {
		e.Position = int(loc) + 1
	}
	return e
}

// buildExpr types an expression of the AST.
func (s *scope) buildExpr(n *pg.Node) (Expr, error) {
	switch {
	case n.GetAConst() != nil:
		return constExpr(n.GetAConst())
	case n.GetColumnRef() != nil:
		return s.resolve(n.GetColumnRef())
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		if ae := tc.Arg.GetAArrayExpr(); ae != nil && len(ae.Elements) == 0 {
			return emptyArray(tc.TypeName)
		}
		e, err := s.buildExpr(tc.Arg)
		if err != nil {
			return nil, err
		}
		t, err := typeFromName(tc.TypeName)
		if err != nil {
			return nil, err
		}
		if t.Family == types.IntervalFamily {
			return intervalCast(e, tc.TypeName)
		}
		return explicitCast(e, t)
	case n.GetBoolExpr() != nil:
		be := n.GetBoolExpr()
		args := make([]Expr, len(be.Args))
		for i, a := range be.Args {
			e, err := s.buildExpr(a)
			if err != nil {
				return nil, err
			}
			if e, err = coerceBool(e, be.Location); err != nil {
				return nil, err
			}
			args[i] = e
		}
		switch be.Boolop {
		case pg.BoolExprType_AND_EXPR:
			return &And{Args: args}, nil
		case pg.BoolExprType_OR_EXPR:
			return &Or{Args: args}, nil
		default:
			return &Not{E: args[0]}, nil
		}
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		e, err := s.buildExpr(nt.Arg)
		if err != nil {
			return nil, err
		}
		return &IsNull{E: e, Not: nt.Nulltesttype == pg.NullTestType_IS_NOT_NULL}, nil
	case n.GetAExpr() != nil:
		return s.buildAExpr(n.GetAExpr())
	case n.GetFuncCall() != nil:
		return s.buildFunc(n.GetFuncCall())
	case n.GetParamRef() != nil:
		return s.param(n.GetParamRef())
	case n.GetSubLink() != nil:
		return s.buildSubLink(n.GetSubLink())
	case n.GetCaseExpr() != nil:
		return s.buildCase(n.GetCaseExpr())
	case n.GetCoalesceExpr() != nil:
		ce := n.GetCoalesceExpr()
		return s.buildVariadic("coalesce", ce.Args, ce.Location)
	case n.GetMinMaxExpr() != nil:
		mm := n.GetMinMaxExpr()
		name := "greatest"
		if mm.Op == pg.MinMaxOp_IS_LEAST {
			name = "least"
		}
		return s.buildVariadic(name, mm.Args, mm.Location)
	case n.GetBooleanTest() != nil:
		return s.buildBooleanTest(n.GetBooleanTest())
	case n.GetAArrayExpr() != nil:
		return s.buildArrayExpr(n.GetAArrayExpr())
	case n.GetAIndirection() != nil:
		return s.buildIndirection(n.GetAIndirection())
	case n.GetSqlvalueFunction() != nil:
		f := n.GetSqlvalueFunction()
		switch f.Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
			return &Func{Name: "now", T: types.TimestampTZ}, nil
		case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			return &Cast{E: &Func{Name: "now", T: types.TimestampTZ}, T: types.Timestamp}, nil
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
			return &Cast{E: &Func{Name: "now", T: types.TimestampTZ}, T: types.Date}, nil
		}
		return nil, errAt(pgerr.FeatureNotSupported, f.Location, "this SQL value function is not supported yet")
	}
	return nil, pgerr.New(pgerr.FeatureNotSupported, "expression is not supported yet")
}

func funcName(fc *pg.FuncCall) string {
	var parts []string
	for _, p := range fc.Funcname {
		parts = append(parts, p.GetString_().GetSval())
	}
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		return parts[1]
	}
	return strings.Join(parts, ".")
}

func constExpr(c *pg.A_Const) (Expr, error) {
	switch {
	case c.Isnull:
		return &Const{Val: types.Null, T: types.Unknown}, nil
	case c.GetIval() != nil:
		v := int64(c.GetIval().Ival)
		return &Const{Val: types.NewInt(v), T: types.Int4}, nil
	case c.GetFval() != nil:
		s := c.GetFval().Fval
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			// A literal that fits int4 is an integer (-2147483648 arrives
			// here, already negated), as PostgreSQL types it.
			if v == int64(int32(v)) {
				return &Const{Val: types.NewInt(v), T: types.Int4}, nil
			}
			return &Const{Val: types.NewInt(v), T: types.Int8}, nil
		}
		d, err := types.ParseDatum(types.Numeric, s)
		if err != nil {
			return nil, err
		}
		if x := *d.Decimal(); x.IsZero() && x.Negative { // -0.0 arrives negated
			x.Negative = false
			d = types.NewDecimal(&x)
		}
		return &Const{Val: d, T: types.Numeric}, nil
	case c.GetBoolval() != nil:
		return &Const{Val: types.NewBool(c.GetBoolval().Boolval), T: types.Bool}, nil
	case c.GetSval() != nil:
		return &Const{Val: types.NewString(c.GetSval().Sval), T: types.Unknown}, nil
	}
	return nil, errAt(pgerr.FeatureNotSupported, c.Location, "constant is not supported")
}

func typeFromName(tn *pg.TypeName) (types.T, error) {
	var names []string
	for _, n := range tn.Names {
		names = append(names, n.GetString_().GetSval())
	}
	if len(names) == 2 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	name := strings.Join(names, ".")
	switch name {
	case "int2":
		name = "smallint"
	case "int4":
		name = "integer"
	case "int8":
		name = "bigint"
	case "float8":
		name = "double precision"
	case "float4":
		name = "real"
	}
	if len(tn.Typmods) > 0 && (name == "varchar" || name == "bpchar") {
		if c := tn.Typmods[0].GetAConst(); c != nil && c.GetIval() != nil {
			name += "(" + strconv.Itoa(int(c.GetIval().Ival)) + ")"
		}
	}
	if len(tn.ArrayBounds) > 1 {
		return types.T{}, errAt(pgerr.FeatureNotSupported, tn.Location, "multidimensional arrays are not supported")
	}
	if len(tn.ArrayBounds) == 1 {
		name += "[]"
	}
	t, err := types.Parse(name)
	if err != nil {
		if pe, ok := err.(*pgerr.Error); ok && tn.Location >= 0 {
			pe.Position = int(tn.Location) + 1
		}
		return types.T{}, err
	}
	return t, nil
}

// castTo converts e to t, folding constants so bad literals fail at plan time.
func castTo(e Expr, t types.T) (Expr, error) {
	if p, ok := e.(*Param); ok && p.slot.t.Family == types.UnknownFamily && t.Family != types.UnknownFamily {
		p.slot.t = t // a parameter takes the type its use asks for
		return p, nil
	}
	if !types.Castable(e.Type(), t) {
		return nil, pgerr.New("42846", "cannot cast type %s to %s", typeofName(e.Type()), typeofName(t))
	}
	if c, ok := e.(*Const); ok {
		d, err := types.Cast(c.Val, t)
		if err != nil {
			return nil, err
		}
		return &Const{Val: d, T: t}, nil
	}
	if e.Type() == t {
		return e, nil
	}
	return &Cast{E: e, T: t}, nil
}

func coerceBool(e Expr, loc int32) (Expr, error) {
	switch e.Type().Family {
	case types.BoolFamily:
		return e, nil
	case types.UnknownFamily:
		return castTo(e, types.Bool)
	}
	return nil, errAt(pgerr.DatatypeMismatch, loc, "argument of boolean expression must be type boolean, not type %s", e.Type())
}

func isNumeric(t types.T) bool {
	return t.Family == types.IntFamily || t.Family == types.FloatFamily || t.Family == types.DecimalFamily
}

// unify makes the operands of a binary operator comparable: an untyped
// literal takes the other side's type.
func unify(l, r Expr, op string, loc int32) (Expr, Expr, error) {
	lt, rt := l.Type(), r.Type()
	var err error
	switch {
	case lt.Family == types.UnknownFamily && rt.Family == types.UnknownFamily:
		if l, err = castTo(l, types.Text); err != nil {
			return nil, nil, err
		}
		r, err = castTo(r, types.Text)
		return l, r, err
	case lt.Family == types.UnknownFamily:
		l, err = castTo(l, rt)
		return l, r, err
	case rt.Family == types.UnknownFamily:
		r, err = castTo(r, lt)
		return l, r, err
	case lt.IsArray() && rt.IsArray():
		if _, err := commonType([]types.T{lt.Elem(), rt.Elem()}, "ARRAY", loc); err != nil {
			return nil, nil, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s %s %s", typeofName(lt), op, typeofName(rt))
		}
		return l, r, nil
	case lt.Family == rt.Family, isNumeric(lt) && isNumeric(rt):
		return l, r, nil
	case isDateTime(lt) && isDateTime(rt):
		w := widerDateTime(lt, rt)
		if l, err = castTo(l, w); err != nil {
			return nil, nil, err
		}
		r, err = castTo(r, w)
		return l, r, err
	}
	return nil, nil, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s %s %s", typeofName(lt), op, typeofName(rt))
}

// arithType is the result type of arithmetic on two numeric types.
func arithType(l, r types.T) types.T {
	switch {
	case l.Family == types.FloatFamily && r.Family == types.FloatFamily && l.Width == 32 && r.Width == 32:
		return types.Float4
	case l.Family == types.FloatFamily || r.Family == types.FloatFamily:
		return types.Float8
	case l.Family == types.DecimalFamily || r.Family == types.DecimalFamily:
		return types.Numeric
	}
	if l.Width >= r.Width {
		return l
	}
	return r
}

func (s *scope) buildAExpr(a *pg.A_Expr) (Expr, error) {
	op := ""
	if len(a.Name) > 0 {
		op = a.Name[len(a.Name)-1].GetString_().GetSval()
	}
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		if a.Lexpr == nil {
			r, err := s.buildExpr(a.Rexpr)
			if err != nil {
				return nil, err
			}
			switch op {
			case "-":
				if c, ok := r.(*Const); ok && c.Val.Family() == types.IntFamily {
					if c.Val.Int() == math.MinInt64 {
						return nil, pgerr.New(pgerr.NumericOutOfRange, "bigint out of range")
					}
					d, err := types.CastInt(-c.Val.Int(), c.T)
					if err != nil {
						return nil, err
					}
					return &Const{Val: d, T: c.T}, nil
				}
				if c, ok := r.(*Const); ok && c.Val.Family() == types.DecimalFamily {
					d := *c.Val.Decimal()
					d.Negative = !d.Negative && !d.IsZero()
					return &Const{Val: types.NewDecimal(&d), T: c.T}, nil
				}
				if !isNumeric(r.Type()) && r.Type().Family != types.IntervalFamily {
					return nil, errAt(pgerr.UndefinedFunction, a.Location, "operator does not exist: - %s", typeofName(r.Type()))
				}
				return &Neg{E: r}, nil
			case "+":
				return r, nil
			}
			return nil, errAt(pgerr.UndefinedFunction, a.Location, "operator does not exist: %s %s", op, typeofName(r.Type()))
		}
		l, r, err := s.operands(a)
		if err != nil {
			return nil, err
		}
		return binary(BinOp(op), l, r, a.Location)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		return s.buildAnyArray(a, op)
	case pg.A_Expr_Kind_AEXPR_IN:
		l, err := s.buildExpr(a.Lexpr)
		if err != nil {
			return nil, err
		}
		var ors []Expr
		for _, item := range a.Rexpr.GetList().GetItems() {
			r, err := s.buildExpr(item)
			if err != nil {
				return nil, err
			}
			eq, err := binary(OpEq, l, r, a.Location)
			if err != nil {
				return nil, err
			}
			ors = append(ors, eq)
		}
		var e Expr = &Or{Args: ors}
		if op == "<>" {
			e = &Not{E: e}
		}
		return e, nil
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		l, err := s.buildExpr(a.Lexpr)
		if err != nil {
			return nil, err
		}
		items := a.Rexpr.GetList().GetItems()
		lo, err := s.buildExpr(items[0])
		if err != nil {
			return nil, err
		}
		hi, err := s.buildExpr(items[1])
		if err != nil {
			return nil, err
		}
		ge, err := binary(OpGe, l, lo, a.Location)
		if err != nil {
			return nil, err
		}
		le, err := binary(OpLe, l, hi, a.Location)
		if err != nil {
			return nil, err
		}
		var e Expr = &And{Args: []Expr{ge, le}}
		if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN {
			e = &Not{E: e}
		}
		return e, nil
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		l, r, err := s.operands(a)
		if err != nil {
			return nil, err
		}
		if l, r, err = unify(l, r, "=", a.Location); err != nil {
			return nil, err
		}
		return &Func{Name: "nullif", Args: []Expr{l, r}, T: l.Type()}, nil
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		l, r, err := s.operands(a)
		if err != nil {
			return nil, err
		}
		if l, r, err = unify(l, r, "=", a.Location); err != nil {
			return nil, err
		}
		return &IsDistinct{L: l, R: r, Not: a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT}, nil
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		l, r, err := s.operands(a)
		if err != nil {
			return nil, err
		}
		if l, err = castTo(l, types.Text); err != nil {
			return nil, err
		}
		if r, err = castTo(r, types.Text); err != nil {
			return nil, err
		}
		if l.Type().Family != types.StringFamily || r.Type().Family != types.StringFamily {
			return nil, errAt(pgerr.UndefinedFunction, a.Location, "operator does not exist: %s ~~ %s", typeofName(l.Type()), typeofName(r.Type()))
		}
		return &Like{E: l, Pattern: r, Not: op == "!~~" || op == "!~~*", CaseInsensitive: a.Kind == pg.A_Expr_Kind_AEXPR_ILIKE}, nil
	}
	return nil, errAt(pgerr.FeatureNotSupported, a.Location, "operator %s is not supported yet", op)
}

func binary(op BinOp, l, r Expr, loc int32) (Expr, error) {
	if op == "!=" {
		op = OpNe
	}
	if e, ok, err := binaryExt(op, l, r, loc); ok {
		return e, err
	}
	if op == OpConcat {
		return concatOp(l, r, loc)
	}
	l, r, err := unify(l, r, string(op), loc)
	if err != nil {
		return nil, err
	}
	lt, rt := l.Type(), r.Type()
	switch op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		return &Binary{Op: op, L: l, R: r, T: types.Bool}, nil
	case OpAdd, OpSub, OpMul, OpDiv, OpMod:
		if !isNumeric(lt) || !isNumeric(rt) {
			return nil, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s %s %s", typeofName(lt), op, typeofName(rt))
		}
		return &Binary{Op: op, L: l, R: r, T: arithType(lt, rt)}, nil
	}
	return nil, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s %s %s", typeofName(lt), op, typeofName(rt))
}

// operands builds both sides of a binary A_Expr.
func (s *scope) operands(a *pg.A_Expr) (Expr, Expr, error) {
	l, err := s.buildExpr(a.Lexpr)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.buildExpr(a.Rexpr)
	if err != nil {
		return nil, nil, err
	}
	return l, r, nil
}
