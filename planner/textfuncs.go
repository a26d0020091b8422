package planner

import (
	"strings"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// typeList formats argument types the way PostgreSQL names a function
// signature in "function f(integer, unknown) does not exist".
func typeList(args []Expr) string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = a.Type().String()
	}
	return strings.Join(s, ", ")
}

// textArgs casts the arguments of a function that takes text: only
// strings and untyped literals convert to text implicitly, as in
// PostgreSQL (length(123) does not exist).
func textArgs(name string, args []Expr, loc int32) ([]Expr, error) {
	for _, a := range args {
		if f := a.Type().Family; f != types.StringFamily && f != types.UnknownFamily {
			return nil, errAt(pgerr.UndefinedFunction, loc, "function %s(%s) does not exist", name, typeList(args))
		}
	}
	return castAll(args, types.Text)
}

// textOut converts a value to its text output, as concat does: like a
// cast to text, except that a boolean is t or f.
func textOut(e Expr) (Expr, error) {
	if e.Type().Family != types.BoolFamily {
		return castTo(e, types.Text)
	}
	str := func(s string) Expr { return &Const{Val: types.NewString(s), T: types.Text} }
	return &Case{Whens: []When{{Cond: e, Result: str("t")}, {Cond: &Not{E: e}, Result: str("f")}}, T: types.Text}, nil
}

// concatOp types a || b: text concatenated with any value cast to text
// (true || 'x' is truex, unlike concat); at least one side must be a
// string or an untyped literal.
func concatOp(l, r Expr, loc int32) (Expr, error) {
	isText := func(t types.T) bool { return t.Family == types.StringFamily || t.Family == types.UnknownFamily }
	if !isText(l.Type()) && !isText(r.Type()) {
		return nil, errAt(pgerr.UndefinedFunction, loc, "operator does not exist: %s || %s", l.Type(), r.Type())
	}
	var err error
	if l, err = castTo(l, types.Text); err != nil {
		return nil, err
	}
	if r, err = castTo(r, types.Text); err != nil {
		return nil, err
	}
	return &Binary{Op: OpConcat, L: l, R: r, T: types.Text}, nil
}

// regexSubstring types substring(s FROM pattern): the part of s the POSIX
// regular expression matches (its first parenthesized subexpression, when
// it has one), NULL when it does not match.
func regexSubstring(args []Expr, loc int32) (Expr, error) {
	if len(args) == 3 {
		return nil, errAt(pgerr.FeatureNotSupported, loc, "substring with SIMILAR patterns is not supported yet")
	}
	cast, err := textArgs("substring", args, loc)
	if err != nil {
		return nil, err
	}
	return &Func{Name: "substring_regex", Args: cast, T: types.Text}, nil
}
