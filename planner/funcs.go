package planner

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

var aggFuncs = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true, "every": true, "string_agg": true, "array_agg": true,
}

func (s *scope) buildFunc(fc *pg.FuncCall) (Expr, error) {
	name := strings.ToLower(funcName(fc))
	if fc.Over != nil {
		return s.buildWindowCall(name, fc)
	}
	if windowFuncs[name] {
		return nil, errAt(pgerr.WrongObjectType, fc.Location, "window function %s requires an OVER clause", name)
	}
	if aggFuncs[name] {
		return s.buildAgg(name, fc)
	}
	if IsSequenceFunc(name) {
		return s.buildSeqFunc(name, fc)
	}
	if fc.AggStar || fc.AggDistinct {
		return nil, errAt(pgerr.WrongObjectType, fc.Location, "%s is not an aggregate function", name)
	}
	args := make([]Expr, len(fc.Args))
	for i, a := range fc.Args {
		e, err := s.buildExpr(a)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	return scalarFunc(name, args, fc.Location)
}

func (s *scope) buildAgg(name string, fc *pg.FuncCall) (Expr, error) {
	if s.q.aggs == nil {
		return nil, errAt(pgerr.GroupingError, fc.Location, "aggregate functions are not allowed here")
	}
	if s.inAgg {
		return nil, errAt(pgerr.GroupingError, fc.Location, "aggregate function calls cannot be nested")
	}
	inner := s.with(s.cols)
	inner.inAgg = true
	a, err := inner.aggCall(name, fc)
	if err != nil {
		return nil, err
	}
	*s.q.aggs = append(*s.q.aggs, a)
	return a, nil
}

// aggCall types an aggregate call, building its arguments in scope s.
func (s *scope) aggCall(name string, fc *pg.FuncCall) (*AggCall, error) {
	if name == "every" {
		name = "bool_and"
	}
	a := &AggCall{Name: name, Distinct: fc.AggDistinct}
	switch {
	case fc.AggStar:
		if name != "count" {
			return nil, errAt(pgerr.SyntaxError, fc.Location, "%s(*) is not allowed", name)
		}
	case name == "string_agg":
		if len(fc.Args) != 2 {
			return nil, errAt(pgerr.UndefinedFunction, fc.Location, "function string_agg requires two arguments")
		}
		var err error
		if a.Arg, err = s.buildExpr(fc.Args[0]); err != nil {
			return nil, err
		}
		if a.Sep, err = s.buildExpr(fc.Args[1]); err != nil {
			return nil, err
		}
		if a.Arg, err = castTo(a.Arg, types.Text); err != nil {
			return nil, err
		}
		if a.Sep, err = castTo(a.Sep, types.Text); err != nil {
			return nil, err
		}
	default:
		if len(fc.Args) != 1 {
			return nil, errAt(pgerr.UndefinedFunction, fc.Location, "function %s takes one argument", name)
		}
		arg, err := s.buildExpr(fc.Args[0])
		if err != nil {
			return nil, err
		}
		if arg.Type().Family == types.UnknownFamily {
			if arg, err = castTo(arg, types.Text); err != nil {
				return nil, err
			}
		}
		a.Arg = arg
	}
	var argT types.T
	if a.Arg != nil {
		argT = a.Arg.Type()
	}
	switch name {
	case "count":
		a.T = types.Int8
	case "sum":
		switch argT.Family {
		case types.IntFamily:
			if argT.Width == 64 {
				a.T = types.Numeric
			} else {
				a.T = types.Int8
			}
		case types.FloatFamily, types.DecimalFamily, types.IntervalFamily:
			a.T = argT
		default:
			return nil, errAt(pgerr.UndefinedFunction, fc.Location, "function sum(%s) does not exist", argT)
		}
	case "avg":
		switch argT.Family {
		case types.IntFamily, types.DecimalFamily:
			a.T = types.Numeric
		case types.FloatFamily:
			a.T = types.Float8
		case types.IntervalFamily:
			a.T = types.Interval
		default:
			return nil, errAt(pgerr.UndefinedFunction, fc.Location, "function avg(%s) does not exist", argT)
		}
	case "min", "max":
		a.T = argT
	case "bool_and", "bool_or":
		if argT.Family != types.BoolFamily {
			return nil, errAt(pgerr.UndefinedFunction, fc.Location, "function %s(%s) does not exist", name, argT)
		}
		a.T = types.Bool
	case "string_agg":
		a.T = types.Text
	case "array_agg":
		if argT.IsArray() {
			return nil, errAt(pgerr.FeatureNotSupported, fc.Location, "array_agg of arrays is not supported")
		}
		a.T = types.ArrayOf(argT)
	}
	return a, s.aggClauses(a, fc)
}

// aggClauses builds an aggregate call's FILTER and ORDER BY.
func (s *scope) aggClauses(a *AggCall, fc *pg.FuncCall) error {
	if fc.AggWithinGroup {
		return errAt(pgerr.FeatureNotSupported, fc.Location, "WITHIN GROUP is not supported yet")
	}
	if fc.AggFilter != nil {
		f, err := s.buildExpr(fc.AggFilter)
		if err != nil {
			return err
		}
		if a.Filter, err = coerceBool(f, fc.Location); err != nil {
			return err
		}
	}
	for _, n := range fc.AggOrder {
		sb := n.GetSortBy()
		e, err := s.buildExpr(sb.Node)
		if err != nil {
			return err
		}
		if e.Type().Family == types.UnknownFamily {
			if e, err = castTo(e, types.Text); err != nil {
				return err
			}
		}
		if a.Distinct && (a.Arg == nil || e.String() != a.Arg.String()) {
			return errAt(pgerr.InvalidColumnRef, fc.Location, "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list")
		}
		a.Order = append(a.Order, e)
		a.OrderKeys = append(a.OrderKeys, sortKey(sb))
	}
	return nil
}

// commonType finds the type several values unify to (CASE, COALESCE, UNION).
func commonType(ts []types.T, what string, loc int32) (types.T, error) {
	var out types.T
	have := false
	for _, t := range ts {
		if t.Family == types.UnknownFamily {
			continue
		}
		if !have {
			out, have = t, true
			continue
		}
		switch {
		case t.Family == out.Family:
			if t.Family == types.IntFamily && t.Width > out.Width {
				out = t
			}
			if t.Family == types.StringFamily && (!t.Varchar || t.Len == 0 || t.Len > out.Len) {
				out = types.Text
			}
		case isNumeric(t) && isNumeric(out):
			out = arithType(out, t)
		case isDateTime(t) && isDateTime(out):
			out = widerDateTime(out, t)
		case t.Family == types.ArrayFamily && out.Family == types.ArrayFamily:
			e, err := commonType([]types.T{out.Elem(), t.Elem()}, what, loc)
			if err != nil {
				return types.T{}, err
			}
			out = types.ArrayOf(e)
		default:
			return types.T{}, errAt(pgerr.DatatypeMismatch, loc, "%s types %s and %s cannot be matched", what, out, t)
		}
	}
	if !have {
		return types.Text, nil
	}
	return out, nil
}

func castAll(es []Expr, t types.T) ([]Expr, error) {
	out := make([]Expr, len(es))
	for i, e := range es {
		c, err := castTo(e, t)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func (s *scope) buildVariadic(name string, nodes []*pg.Node, loc int32) (Expr, error) {
	args := make([]Expr, len(nodes))
	for i, n := range nodes {
		e, err := s.buildExpr(n)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	return scalarFunc(name, args, loc)
}

func argTypes(args []Expr) []types.T {
	ts := make([]types.T, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	return ts
}

// scalarFunc types a call of a built-in scalar function.
func scalarFunc(name string, args []Expr, loc int32) (Expr, error) {
	nargs := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return errAt(pgerr.UndefinedFunction, loc, "function %s(%s) does not exist", name, typeList(args))
		}
		return nil
	}
	if e, ok, err := typeFunc(name, args, loc); ok {
		return e, err
	}
	switch name {
	case "coalesce", "greatest", "least":
		if err := nargs(1, 1000); err != nil {
			return nil, err
		}
		t, err := commonType(argTypes(args), strings.ToUpper(name), loc)
		if err != nil {
			return nil, err
		}
		cast, err := castAll(args, t)
		if err != nil {
			return nil, err
		}
		return &Func{Name: name, Args: cast, T: t}, nil
	case "abs", "sign":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		a := args[0]
		if a.Type().Family == types.UnknownFamily {
			var err error
			if a, err = castTo(a, types.Float8); err != nil {
				return nil, err
			}
		}
		if !isNumeric(a.Type()) {
			return nil, errAt(pgerr.UndefinedFunction, loc, "function %s(%s) does not exist", name, a.Type())
		}
		if name == "sign" && a.Type().Family == types.IntFamily {
			// sign(integer) resolves to sign(double precision).
			var err error
			if a, err = castTo(a, types.Float8); err != nil {
				return nil, err
			}
		}
		return &Func{Name: name, Args: []Expr{a}, T: a.Type()}, nil
	case "round", "trunc", "floor", "ceil", "ceiling":
		if err := nargs(1, 2); err != nil {
			return nil, err
		}
		a := args[0]
		t := a.Type()
		switch {
		case t.Family == types.FloatFamily && len(args) == 1:
		case t.Family == types.FloatFamily:
			return nil, errAt(pgerr.UndefinedFunction, loc, "function %s(%s) does not exist", name, typeList(args))
		case t.Family == types.IntFamily && len(args) == 1:
			// An integer argument resolves to the double precision form
			// (float8 is the preferred numeric type).
			t = types.Float8
		case isNumeric(t) || t.Family == types.UnknownFamily:
			t = types.Numeric
		default:
			return nil, errAt(pgerr.UndefinedFunction, loc, "function %s(%s) does not exist", name, t)
		}
		cast, err := castTo(a, t)
		if err != nil {
			return nil, err
		}
		out := []Expr{cast}
		if len(args) == 2 {
			d, err := castTo(args[1], types.Int4)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		if name == "ceiling" {
			name = "ceil"
		}
		return &Func{Name: name, Args: out, T: t}, nil
	case "mod":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		return binary(OpMod, args[0], args[1], loc)
	case "power", "pow", "sqrt", "exp", "ln":
		if err := nargs(1, 2); err != nil {
			return nil, err
		}
		// numeric only when no argument is double precision (numeric
		// converts to float8 implicitly, not the other way).
		t := types.Float8
		for _, a := range args {
			if a.Type().Family == types.DecimalFamily {
				t = types.Numeric
			}
		}
		for _, a := range args {
			if a.Type().Family == types.FloatFamily {
				t = types.Float8
			}
		}
		cast, err := castAll(args, t)
		if err != nil {
			return nil, err
		}
		if name == "pow" {
			name = "power"
		}
		return &Func{Name: name, Args: cast, T: t}, nil
	case "lower", "upper", "length", "char_length", "character_length", "btrim", "ltrim", "rtrim", "md5":
		if err := nargs(1, 2); err != nil {
			return nil, err
		}
		cast, err := textArgs(name, args, loc)
		if err != nil {
			return nil, err
		}
		t := types.Text
		switch name {
		case "length", "char_length", "character_length":
			t, name = types.Int4, "length"
		}
		return &Func{Name: name, Args: cast, T: t}, nil
	case "now", "transaction_timestamp", "statement_timestamp", "clock_timestamp":
		if err := nargs(0, 0); err != nil {
			return nil, err
		}
		return &Func{Name: "now", T: types.TimestampTZ}, nil
	case "current_setting", "set_config":
		lo, hi := 1, 2
		if name == "set_config" {
			lo, hi = 3, 3
		}
		if err := nargs(lo, hi); err != nil {
			return nil, err
		}
		cast := make([]Expr, len(args))
		for i, a := range args {
			t := types.Text
			if (name == "current_setting" && i == 1) || (name == "set_config" && i == 2) {
				t = types.Bool
			}
			var err error
			if cast[i], err = castTo(a, t); err != nil {
				return nil, err
			}
		}
		return &Func{Name: name, Args: cast, T: types.Text}, nil
	case "pg_sleep":
		// Sleeps for a number of seconds (cancellable); its value is the
		// empty string (PostgreSQL's void).
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		a, err := castTo(args[0], types.Float8)
		if err != nil {
			return nil, err
		}
		return &Func{Name: "pg_sleep", Args: []Expr{a}, T: types.Text}, nil
	case "chr":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		a, err := castTo(args[0], types.Int4)
		if err != nil {
			return nil, err
		}
		return &Func{Name: "chr", Args: []Expr{a}, T: types.Text}, nil
	case "ascii":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		a, err := textArgs(name, args, loc)
		if err != nil {
			return nil, err
		}
		return &Func{Name: "ascii", Args: a, T: types.Int4}, nil
	case "substring", "substr":
		if err := nargs(2, 3); err != nil {
			return nil, err
		}
		if f := args[1].Type().Family; name == "substring" && (f == types.StringFamily || f == types.UnknownFamily) {
			return regexSubstring(args, loc)
		}
		if _, err := textArgs(name, args[:1], loc); err != nil {
			return nil, err
		}
		a, err := castTo(args[0], types.Text)
		if err != nil {
			return nil, err
		}
		rest, err := castAll(args[1:], types.Int8)
		if err != nil {
			return nil, err
		}
		return &Func{Name: "substring", Args: append([]Expr{a}, rest...), T: types.Text}, nil
	case "concat":
		if len(args) == 0 {
			return nil, errAt(pgerr.UndefinedFunction, loc, "function concat() does not exist")
		}
		cast := make([]Expr, len(args))
		for i, a := range args {
			var err error
			if cast[i], err = textOut(a); err != nil {
				return nil, err
			}
		}
		return &Func{Name: name, Args: cast, T: types.Text}, nil
	case "replace", "strpos", "position":
		if name == "replace" {
			if err := nargs(3, 3); err != nil {
				return nil, err
			}
		}
		cast, err := textArgs(name, args, loc)
		if err != nil {
			return nil, err
		}
		t := types.Text
		if name == "strpos" || name == "position" {
			if err := nargs(2, 2); err != nil {
				return nil, err
			}
			// position(a IN b) arrives as position(b, a), which is
			// already strpos's argument order.
			name, t = "strpos", types.Int4
		}
		return &Func{Name: name, Args: cast, T: t}, nil
	}
	return nil, errAt(pgerr.UndefinedFunction, loc, "function %s does not exist", name)
}

func (s *scope) buildCase(ce *pg.CaseExpr) (Expr, error) {
	c := &Case{}
	var operand Expr
	var err error
	if ce.Arg != nil {
		if operand, err = s.buildExpr(ce.Arg); err != nil {
			return nil, err
		}
	}
	var results []Expr
	for _, w := range ce.Args {
		cw := w.GetCaseWhen()
		cond, err := s.buildExpr(cw.Expr)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			if cond, err = binary(OpEq, operand, cond, cw.Location); err != nil {
				return nil, err
			}
		} else if cond, err = coerceBool(cond, cw.Location); err != nil {
			return nil, err
		}
		res, err := s.buildExpr(cw.Result)
		if err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, When{Cond: cond})
		results = append(results, res)
	}
	if ce.Defresult != nil {
		if c.Else, err = s.buildExpr(ce.Defresult); err != nil {
			return nil, err
		}
		results = append(results, c.Else)
	}
	if c.T, err = commonType(argTypes(results), "CASE", ce.Location); err != nil {
		return nil, err
	}
	cast, err := castAll(results, c.T)
	if err != nil {
		return nil, err
	}
	for i := range c.Whens {
		c.Whens[i].Result = cast[i]
	}
	if c.Else != nil {
		c.Else = cast[len(cast)-1]
	}
	return c, nil
}

func (s *scope) buildBooleanTest(bt *pg.BooleanTest) (Expr, error) {
	e, err := s.buildExpr(bt.Arg)
	if err != nil {
		return nil, err
	}
	if e, err = coerceBool(e, bt.Location); err != nil {
		return nil, err
	}
	tr := &Const{Val: types.NewBool(true), T: types.Bool}
	fa := &Const{Val: types.NewBool(false), T: types.Bool}
	switch bt.Booltesttype {
	case pg.BoolTestType_IS_TRUE:
		return &IsDistinct{L: e, R: tr, Not: true}, nil
	case pg.BoolTestType_IS_NOT_TRUE:
		return &IsDistinct{L: e, R: tr}, nil
	case pg.BoolTestType_IS_FALSE:
		return &IsDistinct{L: e, R: fa, Not: true}, nil
	case pg.BoolTestType_IS_NOT_FALSE:
		return &IsDistinct{L: e, R: fa}, nil
	case pg.BoolTestType_IS_UNKNOWN:
		return &IsNull{E: e}, nil
	}
	return &IsNull{E: e, Not: true}, nil
}

func (s *scope) buildSubLink(sl *pg.SubLink) (Expr, error) {
	sel := sl.Subselect.GetSelectStmt()
	if sel == nil {
		return nil, errAt(pgerr.FeatureNotSupported, sl.Location, "this subquery is not supported")
	}
	rel, q, err := buildQuery(sel, s)
	if err != nil {
		return nil, err
	}
	s.q.stmt.subqueries++
	sub := &Subquery{Rel: rel, Correlated: q.correlated, ID: s.q.stmt.subqueries}
	cols := rel.Cols()
	switch sl.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		sub.Mode, sub.T = SubExists, types.Bool
		return sub, nil
	case pg.SubLinkType_EXPR_SUBLINK:
		if len(cols) != 1 {
			return nil, errAt(pgerr.SyntaxError, sl.Location, "subquery must return only one column")
		}
		sub.Mode, sub.T = SubScalar, cols[0].T
		return sub, nil
	case pg.SubLinkType_ANY_SUBLINK, pg.SubLinkType_ALL_SUBLINK:
		if len(cols) != 1 {
			return nil, errAt(pgerr.SyntaxError, sl.Location, "subquery has too many columns")
		}
		test, err := s.buildExpr(sl.Testexpr)
		if err != nil {
			return nil, err
		}
		op := OpEq
		if len(sl.OperName) > 0 {
			op = BinOp(sl.OperName[len(sl.OperName)-1].GetString_().GetSval())
			if op == "!=" {
				op = OpNe
			}
		}
		if !op.IsComparison() {
			return nil, errAt(pgerr.FeatureNotSupported, sl.Location, "operator %s with a subquery is not supported", op)
		}
		// Type the comparison as if the subquery's column were a value.
		probe := &ColRef{Name: cols[0].Name, T: cols[0].T}
		cmp, err := binary(op, test, probe, sl.Location)
		if err != nil {
			return nil, err
		}
		b := cmp.(*Binary)
		if b.R != Expr(probe) {
			return nil, errAt(pgerr.DatatypeMismatch, sl.Location, "cannot compare %s with the subquery's %s", test.Type(), cols[0].T)
		}
		sub.Test, sub.Op, sub.T = b.L, op, types.Bool
		sub.Mode = SubAny
		if sl.SubLinkType == pg.SubLinkType_ALL_SUBLINK {
			sub.Mode = SubAll
		}
		return sub, nil
	}
	return nil, errAt(pgerr.FeatureNotSupported, sl.Location, "this kind of subquery is not supported yet")
}
