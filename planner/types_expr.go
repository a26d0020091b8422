package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// Typing of the date/time, interval, jsonb and array operators and
// functions. Evaluation is in exec/types_eval.go; the operators become
// Binary nodes with their own result types, the rest Func nodes.

func isDateTime(t types.T) bool {
	switch t.Family {
	case types.TimestampFamily, types.TimestampTZFamily, types.DateFamily:
		return true
	}
	return false
}

// dateTimeRank orders date < timestamp < timestamptz: the wider side wins
// when two of them meet.
func dateTimeRank(t types.T) int {
	switch t.Family {
	case types.DateFamily:
		return 1
	case types.TimestampFamily:
		return 2
	}
	return 3
}

func widerDateTime(a, b types.T) types.T {
	if dateTimeRank(a) >= dateTimeRank(b) {
		return a
	}
	return b
}

func isUnknown(e Expr) bool { return e.Type().Family == types.UnknownFamily }

// binaryExt types the operators on the newer types; ok is false when the
// operands are not theirs and the ordinary rules apply.
func binaryExt(op BinOp, l, r Expr, loc int32) (Expr, bool, error) {
	lt, rt := l.Type(), r.Type()
	fam := func(t types.T) types.Family { return t.Family }
	noOp := func() (Expr, bool, error) {
		return nil, true, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s %s %s", typeofName(l.Type()), op, typeofName(r.Type()))
	}
	bin := func(l, r Expr, t types.T) (Expr, bool, error) {
		return &Binary{Op: op, L: l, R: r, T: t}, true, nil
	}
	castR := func(t types.T) (Expr, error) { return castTo(r, t) }
	castL := func(t types.T) (Expr, error) { return castTo(l, t) }
	if lt.Family == types.JSONFamily {
		if e, ok, err := jsonPathOp(op, l, r, loc); ok {
			return e, true, err
		}
	}
	if e, ok, err := arrayOp(op, l, r, loc); ok {
		return e, true, err
	}
	switch op {
	case "->", "->>", "@>", "<@", "?":
		if fam(lt) == types.JSONFamily || (fam(lt) == types.UnknownFamily && fam(rt) == types.JSONFamily) {
			var err error
			if isUnknown(l) {
				if l, err = castL(types.JSONB); err != nil {
					return nil, true, err
				}
			}
			switch op {
			case "->", "->>":
				if isUnknown(r) {
					if r, err = castR(types.Text); err != nil {
						return nil, true, err
					}
				}
				rf := r.Type().Family
				if rf != types.StringFamily && rf != types.IntFamily {
					return noOp()
				}
				if op == "->" {
					return bin(l, r, types.JSONB)
				}
				return bin(l, r, types.Text)
			case "?":
				if r, err = castR(types.Text); err != nil || r.Type().Family != types.StringFamily {
					return noOp()
				}
				return bin(l, r, types.Bool)
			}
			if r, err = castR(types.JSONB); err != nil {
				return nil, true, err
			}
			if r.Type().Family != types.JSONFamily {
				return noOp()
			}
			return bin(l, r, types.Bool)
		}
		return nil, false, nil
	case OpConcat:
		if fam(lt) == types.JSONFamily && fam(rt) == types.JSONFamily ||
			fam(lt) == types.JSONFamily && isUnknown(r) || isUnknown(l) && fam(rt) == types.JSONFamily {
			var err error
			if l, err = castL(types.JSONB); err != nil {
				return nil, true, err
			}
			if r, err = castR(types.JSONB); err != nil {
				return nil, true, err
			}
			return bin(l, r, types.JSONB)
		}
		// text || anynonarray and anynonarray || text: the other side is
		// converted to text; with no string on either side there is no ||.
		isStr := func(t types.T) bool { return t.Family == types.StringFamily || t.Family == types.UnknownFamily }
		if !isStr(lt) && !isStr(rt) {
			return noOp()
		}
		var err error
		if l, err = castL(types.Text); err != nil {
			return nil, true, err
		}
		if r, err = castR(types.Text); err != nil {
			return nil, true, err
		}
		return bin(l, r, types.Text)
	}
	if !isDateTime(lt) && !isDateTime(rt) && fam(lt) != types.IntervalFamily && fam(rt) != types.IntervalFamily {
		return nil, false, nil
	}
	if op.IsComparison() {
		return nil, false, nil
	}
	var err error
	// An untyped literal next to a date/time value: timestamp + '1 day' and
	// timestamp - '1 day' read it as an interval only where that is the
	// sole choice; otherwise it takes the other side's type.
	switch {
	case isUnknown(r) && op == OpAdd && (isDateTime(lt) && fam(lt) != types.DateFamily):
		r, err = castR(types.Interval)
	case isUnknown(l) && op == OpAdd && (isDateTime(rt) && fam(rt) != types.DateFamily):
		l, err = castL(types.Interval)
	case isUnknown(r) && (op == OpMul || op == OpDiv) && fam(lt) == types.IntervalFamily:
		r, err = castR(types.Float8)
	case isUnknown(l) && op == OpMul && fam(rt) == types.IntervalFamily:
		l, err = castL(types.Float8)
	case isUnknown(r):
		r, err = castR(lt)
	case isUnknown(l):
		l, err = castL(rt)
	}
	if err != nil {
		return nil, true, err
	}
	lt, rt = l.Type(), r.Type()
	lf, rf := lt.Family, rt.Family
	iv := types.IntervalFamily
	switch op {
	case OpAdd:
		switch {
		case lf == iv && rf == iv:
			return bin(l, r, types.Interval)
		case (lf == types.TimestampFamily || lf == types.TimestampTZFamily) && rf == iv:
			return bin(l, r, lt)
		case lf == iv && (rf == types.TimestampFamily || rf == types.TimestampTZFamily):
			return bin(r, l, rt)
		case lf == types.DateFamily && rf == iv:
			return bin(l, r, types.Timestamp)
		case lf == iv && rf == types.DateFamily:
			return bin(r, l, types.Timestamp)
		case lf == types.DateFamily && rf == types.IntFamily:
			return bin(l, r, types.Date)
		case lf == types.IntFamily && rf == types.DateFamily:
			return bin(r, l, types.Date)
		}
	case OpSub:
		switch {
		case lf == iv && rf == iv:
			return bin(l, r, types.Interval)
		case (lf == types.TimestampFamily || lf == types.TimestampTZFamily) && rf == iv:
			return bin(l, r, lt)
		case lf == types.DateFamily && rf == iv:
			return bin(l, r, types.Timestamp)
		case lf == types.DateFamily && rf == types.IntFamily:
			return bin(l, r, types.Date)
		case lf == types.DateFamily && rf == types.DateFamily:
			return bin(l, r, types.Int4)
		case isDateTime(lt) && isDateTime(rt):
			w := widerDateTime(lt, rt)
			if l, err = castL(w); err != nil {
				return nil, true, err
			}
			if r, err = castR(w); err != nil {
				return nil, true, err
			}
			return bin(l, r, types.Interval)
		}
	case OpMul:
		switch {
		case lf == iv && isNumeric(rt):
			return bin(l, r, types.Interval)
		case isNumeric(lt) && rf == iv:
			return bin(r, l, types.Interval)
		}
	case OpDiv:
		if lf == iv && isNumeric(rt) {
			return bin(l, r, types.Interval)
		}
	}
	return noOp()
}

// buildAnyArray types x op ANY (array) and x op ALL (array).
func (s *scope) buildAnyArray(a *pg.A_Expr, op string) (Expr, error) {
	l, r, err := s.operands(a)
	if err != nil {
		return nil, err
	}
	if op == "!=" {
		op = string(OpNe)
	}
	if !BinOp(op).IsComparison() {
		return nil, errAt(pgerr.FeatureNotSupported, a.Location, "operator %s with ANY/ALL is not supported", op)
	}
	if isUnknown(l) && isUnknown(r) {
		if l, err = castTo(l, types.Text); err != nil {
			return nil, err
		}
	}
	if isUnknown(r) {
		if r, err = castTo(r, types.ArrayOf(l.Type())); err != nil {
			return nil, err
		}
	}
	if !r.Type().IsArray() {
		return nil, errAt(pgerr.WrongObjectType, a.Location, "op ANY/ALL (array) requires array on right side")
	}
	// Type the comparison as if the element were a value.
	probe := &ColRef{Name: "elem", T: r.Type().Elem()}
	cmp, err := binary(BinOp(op), l, probe, a.Location)
	if err != nil {
		return nil, err
	}
	b, ok := cmp.(*Binary)
	if !ok || b.R != Expr(probe) {
		return nil, errAt(pgerr.UndefinedFunction, a.Location, "operator does not exist: %s %s %s", typeofName(l.Type()), op, typeofName(r.Type().Elem()))
	}
	name := "any"
	if a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL {
		name = "all"
	}
	return &Func{Name: name + " " + op, Args: []Expr{b.L, r}, T: types.Bool}, nil
}

// buildArrayExpr types ARRAY[a, b, ...].
func (s *scope) buildArrayExpr(ae *pg.A_ArrayExpr) (Expr, error) {
	if len(ae.Elements) == 0 {
		return nil, errAt("42P18", ae.Location, "cannot determine type of empty array")
	}
	elems := make([]Expr, len(ae.Elements))
	for i, n := range ae.Elements {
		if n.GetAArrayExpr() != nil {
			return nil, errAt(pgerr.FeatureNotSupported, ae.Location, "multidimensional arrays are not supported")
		}
		e, err := s.buildExpr(n)
		if err != nil {
			return nil, err
		}
		elems[i] = e
	}
	t, err := commonType(argTypes(elems), "ARRAY", ae.Location)
	if err != nil {
		return nil, err
	}
	if t.IsArray() {
		return nil, errAt(pgerr.FeatureNotSupported, ae.Location, "multidimensional arrays are not supported")
	}
	cast, err := castAll(elems, t)
	if err != nil {
		return nil, err
	}
	return &Func{Name: "array", Args: cast, T: types.ArrayOf(t)}, nil
}

// buildIndirection types a[i] (one subscript of a one-dimensional array).
func (s *scope) buildIndirection(ind *pg.A_Indirection) (Expr, error) {
	e, err := s.buildExpr(ind.Arg)
	if err != nil {
		return nil, err
	}
	for _, n := range ind.Indirection {
		idx := n.GetAIndices()
		if idx == nil || idx.IsSlice || idx.Uidx == nil {
			return nil, pgerr.New(pgerr.FeatureNotSupported, "this subscript or field selection is not supported yet")
		}
		if !e.Type().IsArray() {
			return nil, pgerr.New(pgerr.DatatypeMismatch, "cannot subscript type %s because it does not support subscripting", e.Type())
		}
		i, err := s.buildExpr(idx.Uidx)
		if err != nil {
			return nil, err
		}
		if i, err = castTo(i, types.Int4); err != nil {
			return nil, err
		}
		if i.Type().Family != types.IntFamily {
			return nil, pgerr.New(pgerr.DatatypeMismatch, "array subscript must have type integer")
		}
		e = &Func{Name: "array_subscript", Args: []Expr{e, i}, T: e.Type().Elem()}
	}
	return e, nil
}

// typeFunc types the date/time, jsonb and array functions; ok is false
// for other names.
func typeFunc(name string, args []Expr, loc int32) (Expr, bool, error) {
	wrong := func() (Expr, bool, error) {
		ts := make([]string, len(args))
		for i, a := range args {
			ts[i] = a.Type().String()
		}
		return nil, true, errAt(pgerr.UndefinedFunction, loc, "function %s(%s) does not exist", name, joinStrings(ts))
	}
	cast := func(i int, t types.T) bool {
		c, err := castTo(args[i], t)
		if err != nil {
			return false
		}
		args[i] = c
		return true
	}
	switch name {
	case "date_trunc":
		if len(args) != 2 || !cast(0, types.Text) {
			return wrong()
		}
		if isUnknown(args[1]) && !cast(1, types.TimestampTZ) {
			return wrong()
		}
		t := args[1].Type()
		switch t.Family {
		case types.DateFamily:
			cast(1, types.TimestampTZ)
			t = types.TimestampTZ
		case types.TimestampFamily, types.TimestampTZFamily, types.IntervalFamily:
		default:
			return wrong()
		}
		return &Func{Name: name, Args: args, T: t}, true, nil
	case "extract", "date_part":
		if len(args) != 2 || !cast(0, types.Text) {
			return wrong()
		}
		if isUnknown(args[1]) && !cast(1, types.TimestampTZ) {
			return wrong()
		}
		t := args[1].Type()
		if !isDateTime(t) && t.Family != types.IntervalFamily {
			return wrong()
		}
		if name == "date_part" {
			if t.Family == types.DateFamily {
				cast(1, types.Timestamp)
			}
			return &Func{Name: name, Args: args, T: types.Float8}, true, nil
		}
		return &Func{Name: name, Args: args, T: types.Numeric}, true, nil
	case "age":
		if len(args) < 1 || len(args) > 2 {
			return wrong()
		}
		for i := range args {
			if isUnknown(args[i]) || args[i].Type().Family == types.DateFamily {
				cast(i, types.Timestamp)
			}
		}
		if len(args) == 1 {
			args = append(args, &Func{Name: "current_date_ts", T: args[0].Type()})
		}
		w := widerDateTime(args[0].Type(), args[1].Type())
		if !isDateTime(args[0].Type()) || !isDateTime(args[1].Type()) || !cast(0, w) || !cast(1, w) {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.Interval}, true, nil
	case "timezone":
		if len(args) != 2 || !cast(0, types.Text) || args[0].Type().Family != types.StringFamily {
			return wrong()
		}
		if isUnknown(args[1]) {
			cast(1, types.TimestampTZ)
		}
		switch args[1].Type().Family {
		case types.TimestampFamily:
			return &Func{Name: name, Args: args, T: types.TimestampTZ}, true, nil
		case types.DateFamily: // date converts to timestamptz here, as in PostgreSQL
			cast(1, types.TimestampTZ)
			return &Func{Name: name, Args: args, T: types.Timestamp}, true, nil
		case types.TimestampTZFamily:
			return &Func{Name: name, Args: args, T: types.Timestamp}, true, nil
		}
		return wrong()
	case "to_timestamp":
		if len(args) != 1 || !cast(0, types.Float8) || !isNumeric(args[0].Type()) {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.TimestampTZ}, true, nil
	case "make_date", "make_timestamp", "make_timestamptz":
		n := map[string]int{"make_date": 3, "make_timestamp": 6, "make_timestamptz": 6}[name]
		if len(args) != n {
			return wrong()
		}
		for i := range args {
			t := types.Int4
			if i == 5 {
				t = types.Float8
			}
			if !cast(i, t) || !isNumeric(args[i].Type()) {
				return wrong()
			}
		}
		t := map[string]types.T{"make_date": types.Date, "make_timestamp": types.Timestamp, "make_timestamptz": types.TimestampTZ}[name]
		return &Func{Name: name, Args: args, T: t}, true, nil
	case "justify_hours", "justify_days", "justify_interval":
		if len(args) != 1 || !cast(0, types.Interval) || args[0].Type().Family != types.IntervalFamily {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.Interval}, true, nil
	case "make_interval":
		return nil, false, nil
	case "jsonb_typeof", "jsonb_array_length", "jsonb_pretty":
		if len(args) != 1 || !cast(0, types.JSONB) || args[0].Type().Family != types.JSONFamily {
			return wrong()
		}
		t := types.Text
		if name == "jsonb_array_length" {
			t = types.Int4
		}
		return &Func{Name: name, Args: args, T: t}, true, nil
	case "to_jsonb":
		if len(args) != 1 {
			return wrong()
		}
		if isUnknown(args[0]) {
			cast(0, types.Text)
		}
		return &Func{Name: name, Args: args, T: types.JSONB}, true, nil
	case "array_length", "array_lower", "array_upper":
		if len(args) != 2 || !args[0].Type().IsArray() || !cast(1, types.Int4) || args[1].Type().Family != types.IntFamily {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.Int4}, true, nil
	case "array_append", "array_prepend", "array_cat":
		if len(args) != 2 {
			return wrong()
		}
		e, ok, err := arrayOp(OpConcat, args[0], args[1], loc)
		if !ok || err != nil {
			return wrong()
		}
		if f, isF := e.(*Func); !isF || f.Name != name {
			return wrong()
		}
		return e, true, nil
	case "cardinality":
		if len(args) != 1 || !args[0].Type().IsArray() {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.Int4}, true, nil
	case "array_to_string":
		if len(args) < 2 || len(args) > 3 || !args[0].Type().IsArray() || !cast(1, types.Text) || (len(args) == 3 && !cast(2, types.Text)) {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.Text}, true, nil
	case "array_position":
		if len(args) != 2 || !args[0].Type().IsArray() || !cast(1, args[0].Type().Elem()) {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.Int4}, true, nil
	case "length", "octet_length":
		if len(args) == 1 && args[0].Type().Family == types.BytesFamily {
			return &Func{Name: "bytea_length", Args: args, T: types.Int4}, true, nil
		}
		return nil, false, nil
	case "pg_typeof":
		if len(args) != 1 {
			return wrong()
		}
		return &Const{Val: types.NewString(typeofName(args[0].Type())), T: types.Text}, true, nil
	case "jsonb_build_object", "jsonb_build_array":
		if name == "jsonb_build_object" && len(args)%2 != 0 {
			return nil, true, errAt(pgerr.InvalidParameterValue, loc, "argument list must have even number of elements")
		}
		for i := range args {
			if isUnknown(args[i]) {
				cast(i, types.Text)
			}
		}
		return &Func{Name: name, Args: args, T: types.JSONB}, true, nil
	case "jsonb_extract_path", "jsonb_extract_path_text":
		if len(args) < 1 || !cast(0, types.JSONB) || args[0].Type().Family != types.JSONFamily {
			return wrong()
		}
		for i := 1; i < len(args); i++ {
			if !cast(i, types.Text) || args[i].Type().Family != types.StringFamily {
				return wrong()
			}
		}
		t := types.JSONB
		if name == "jsonb_extract_path_text" {
			t = types.Text
		}
		return &Func{Name: name, Args: args, T: t}, true, nil
	case "jsonb_strip_nulls":
		if len(args) != 1 || !cast(0, types.JSONB) || args[0].Type().Family != types.JSONFamily {
			return wrong()
		}
		return &Func{Name: name, Args: args, T: types.JSONB}, true, nil
	case "gen_random_uuid":
		if len(args) != 0 {
			return wrong()
		}
		return &Func{Name: name, T: types.UUID}, true, nil
	}
	return nil, false, nil
}

func joinStrings(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

// typeofName is format_type without the type modifier, as pg_typeof and
// PostgreSQL's operator errors show a type.
func typeofName(t types.T) string {
	switch {
	case t.Family == types.UnknownFamily:
		return "unknown"
	case t.IsArray():
		return typeofName(t.Elem()) + "[]"
	case t.Family == types.StringFamily && t.Bpchar:
		return "character"
	case t.Family == types.StringFamily && t.Varchar:
		return "character varying"
	case t.Family == types.TimestampFamily:
		return "timestamp without time zone"
	}
	return t.String()
}

// typedExprName names a result column for the expressions of this file as
// PostgreSQL's FigureColname does: ARRAY[...] is "array", a[1] takes the
// array's name, CURRENT_DATE is "current_date", and a cast keeps the name
// of a function call or of these instead of taking the type's name.
func typedExprName(n *pg.Node) (string, bool) {
	switch {
	case n.GetAArrayExpr() != nil:
		return "array", true
	case n.GetAIndirection() != nil:
		if cr := n.GetAIndirection().Arg.GetColumnRef(); cr != nil {
			f := cr.Fields
			return f[len(f)-1].GetString_().GetSval(), true
		}
		return typedExprName(n.GetAIndirection().Arg)
	case n.GetSqlvalueFunction() != nil:
		switch n.GetSqlvalueFunction().Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
			return "current_date", true
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
			return "current_timestamp", true
		case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			return "localtimestamp", true
		}
	case n.GetTypeCast() != nil:
		arg := n.GetTypeCast().Arg
		if arg.GetFuncCall() != nil {
			return funcName(arg.GetFuncCall()), true
		}
		return typedExprName(arg)
	}
	return "", false
}

// arrayOp types array || array, array || element, element || array,
// @> and <@ (containment) and && (overlap) between arrays.
func arrayOp(op BinOp, l, r Expr, loc int32) (Expr, bool, error) {
	lt, rt := l.Type(), r.Type()
	if !lt.IsArray() && !rt.IsArray() {
		return nil, false, nil
	}
	var err error
	switch {
	case lt.IsArray() && isUnknown(r) && op != OpConcat:
		r, err = castTo(r, lt)
	case rt.IsArray() && isUnknown(l) && op != OpConcat:
		l, err = castTo(l, rt)
	case lt.IsArray() && isUnknown(r):
		r, err = castTo(r, lt) // PostgreSQL reads '{...}' next to an array as an array
	case rt.IsArray() && isUnknown(l):
		l, err = castTo(l, rt)
	}
	if err != nil {
		return nil, true, err
	}
	lt, rt = l.Type(), r.Type()
	fail := func() (Expr, bool, error) {
		return nil, true, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s %s %s", typeofName(lt), op, typeofName(rt))
	}
	switch op {
	case OpConcat:
		var elem types.T
		switch {
		case lt.IsArray() && rt.IsArray():
			if elem, err = commonType([]types.T{lt.Elem(), rt.Elem()}, "ARRAY", loc); err != nil {
				return fail()
			}
			if l, err = castTo(l, types.ArrayOf(elem)); err != nil {
				return nil, true, err
			}
			r, err = castTo(r, types.ArrayOf(elem))
		case lt.IsArray():
			elem = lt.Elem()
			if _, err := commonType([]types.T{elem, rt}, "ARRAY", loc); err != nil {
				return fail()
			}
			r, err = castTo(r, elem)
		default:
			elem = rt.Elem()
			if _, err := commonType([]types.T{elem, lt}, "ARRAY", loc); err != nil {
				return fail()
			}
			l, err = castTo(l, elem)
		}
		if err != nil {
			return nil, true, err
		}
		if (l.Type().IsArray() || l.Type() == elem) && (r.Type().IsArray() || r.Type() == elem) {
			// A function, not a Binary: || on arrays is not strict (NULL
			// elements are appended, a NULL array is empty).
			name := "array_cat"
			switch {
			case !l.Type().IsArray():
				name = "array_prepend"
			case !r.Type().IsArray():
				name = "array_append"
			}
			return &Func{Name: name, Args: []Expr{l, r}, T: types.ArrayOf(elem)}, true, nil
		}
		return fail()
	case "@>", "<@", "&&":
		if !lt.IsArray() || !rt.IsArray() {
			return fail()
		}
		if _, err := commonType([]types.T{lt.Elem(), rt.Elem()}, "ARRAY", loc); err != nil {
			return fail()
		}
		return &Binary{Op: op, L: l, R: r, T: types.Bool}, true, nil
	}
	return nil, false, nil
}

// explicitCast is CAST(e AS t) / e::t: unlike an assignment, an explicit
// cast to varchar(n) or character(n) cuts a longer string to n characters.
func explicitCast(e Expr, t types.T) (Expr, error) {
	if t.Family != types.StringFamily || t.Len == 0 {
		return castTo(e, t)
	}
	if c, ok := e.(*Const); ok {
		d, err := types.CastTruncating(c.Val, t)
		if err != nil {
			return nil, err
		}
		return &Const{Val: d, T: t}, nil
	}
	if e.Type() == t {
		return e, nil
	}
	return &Func{Name: "cast_truncating", Args: []Expr{e}, T: t}, nil
}

// intervalCast is a cast to interval with optional fields, as in
// INTERVAL '1' DAY or INTERVAL '1 day 2:03:04' DAY TO HOUR: a bare number
// counts the lowest field, and the fields below it are dropped.
func intervalCast(e Expr, tn *pg.TypeName) (Expr, error) {
	mask := int64(0x7FFF)
	if len(tn.Typmods) > 0 {
		if c := tn.Typmods[0].GetAConst(); c != nil && c.GetIval() != nil {
			mask = int64(c.GetIval().Ival)
		}
	}
	if mask == 0x7FFF {
		return castTo(e, types.Interval)
	}
	c, ok := e.(*Const)
	if !ok || c.Val.Family() != types.StringFamily {
		return castTo(e, types.Interval)
	}
	v, err := types.ParseIntervalFields(c.Val.Str(), mask)
	if err != nil {
		return nil, err
	}
	return &Const{Val: types.NewInterval(v), T: types.Interval}, nil
}

// emptyArray is ARRAY[]::t[], whose type only the cast gives.
func emptyArray(tn *pg.TypeName) (Expr, error) {
	t, err := typeFromName(tn)
	if err != nil {
		return nil, err
	}
	if !t.IsArray() {
		return nil, errAt("42846", tn.Location, "cannot cast type %s[] to %s", "unknown", t)
	}
	return &Const{Val: types.NewArray(nil), T: t}, nil
}

// jsonPathOp types jsonb #> text[], #>> text[], - text / int / text[],
// ?| text[] and ?& text[].
func jsonPathOp(op BinOp, l, r Expr, loc int32) (Expr, bool, error) {
	textArr := types.ArrayOf(types.Text)
	var t types.T
	switch op {
	case "#>":
		t = types.JSONB
	case "#>>":
		t = types.Text
	case "?|", "?&":
		t = types.Bool
	case OpSub:
		rf := r.Type().Family
		switch {
		case rf == types.UnknownFamily || rf == types.StringFamily:
			c, err := castTo(r, types.Text)
			if err != nil {
				return nil, true, err
			}
			return &Binary{Op: op, L: l, R: c, T: types.JSONB}, true, nil
		case rf == types.IntFamily || r.Type().IsArray() && r.Type().Elem().Family == types.StringFamily:
		default:
			return nil, true, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: jsonb - %s", typeofName(r.Type()))
		}
		c, err := castTo(r, r.Type())
		if err == nil && r.Type().IsArray() {
			c, err = castTo(r, textArr)
		}
		if err != nil {
			return nil, true, err
		}
		return &Binary{Op: op, L: l, R: c, T: types.JSONB}, true, nil
	default:
		return nil, false, nil
	}
	c, err := castTo(r, textArr)
	if err != nil {
		return nil, true, err
	}
	if c.Type() != textArr {
		return nil, true, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: jsonb %s %s", op, typeofName(r.Type()))
	}
	return &Binary{Op: op, L: l, R: c, T: t}, true, nil
}
