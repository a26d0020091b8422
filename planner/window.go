package planner

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// FrameBound is one end of a window frame.
type FrameBound int

// Frame bounds.
const (
	UnboundedPreceding FrameBound = iota
	OffsetPreceding
	CurrentRow
	OffsetFollowing
	UnboundedFollowing
)

// WindowFrame is the set of rows of its partition an aggregate (and
// first_value, last_value, nth_value) reads for one row. In RANGE mode
// CURRENT ROW means the row's peers too (rows equal in the window's ORDER
// BY; without ORDER BY the whole partition); ROWS counts single rows.
type WindowFrame struct {
	Rows       bool
	Start, End FrameBound
	// StartOffset and EndOffset count rows (ROWS); StartValue and EndValue
	// are distances in the value of the window's one ORDER BY column
	// (RANGE).
	StartOffset, EndOffset int64
	StartValue, EndValue   types.Datum
}

// defaultFrame is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
var defaultFrame = WindowFrame{Start: UnboundedPreceding, End: CurrentRow}

func (f WindowFrame) String() string {
	mode := "range"
	if f.Rows {
		mode = "rows"
	}
	b := func(fb FrameBound, off int64, val types.Datum) string {
		o := fmt.Sprint(off)
		if !f.Rows {
			o = val.String()
		}
		return [...]string{"unbounded preceding", o + " preceding", "current row", o + " following", "unbounded following"}[fb]
	}
	return mode + " " + b(f.Start, f.StartOffset, f.StartValue) + " to " + b(f.End, f.EndOffset, f.EndValue)
}

// WindowCall is a window function call. It appears in expressions only
// while a query is planned; the planner moves each into a Window operator
// and reads its result as a column.
type WindowCall struct {
	// Name is a window function (row_number, rank, dense_rank,
	// percent_rank, cume_dist, ntile, lag, lead, first_value, last_value,
	// nth_value), or "agg" for an aggregate used as a window function.
	Name string
	Args []Expr
	// Agg is the aggregate when Name is "agg".
	Agg       *AggCall
	Partition []Expr
	// Order are the window's ORDER BY expressions; OrderKeys their
	// directions (Col unused).
	Order     []Expr
	OrderKeys []SortKey
	Frame     WindowFrame
	T         types.T
}

func (w *WindowCall) Type() types.T { return w.T }
func (w *WindowCall) String() string {
	var b strings.Builder
	if w.Agg != nil {
		b.WriteString(w.Agg.String())
	} else {
		b.WriteString(w.Name + joinExprs(w.Args, ", "))
	}
	b.WriteString(" over(partition" + joinExprs(w.Partition, ", ") + " order(")
	for i, o := range w.Order {
		fmt.Fprintf(&b, "%s desc=%v nf=%v,", o, w.OrderKeys[i].Desc, w.OrderKeys[i].NullsFirst)
	}
	b.WriteString(") " + w.Frame.String() + ")")
	return b.String()
}

// Window computes window functions over all of its input: its row is the
// input row followed by the value of each of Funcs.
type Window struct {
	Input   Rel
	Funcs   []*WindowCall
	Columns []ColInfo
}

// Cols implements Rel.
func (w *Window) Cols() []ColInfo { return w.Columns }

// windowFuncs are the functions that exist only as window functions.
var windowFuncs = map[string]bool{
	"row_number": true, "rank": true, "dense_rank": true, "percent_rank": true, "cume_dist": true,
	"ntile": true, "lag": true, "lead": true, "first_value": true, "last_value": true, "nth_value": true,
}

// Frame option bits of pg's WindowDef.FrameOptions.
const (
	frameNonDefault        = 0x00001
	frameRows              = 0x00004
	frameGroups            = 0x00008
	frameBetween           = 0x00010
	frameStartUnboundedPre = 0x00020
	frameEndUnboundedFol   = 0x00100
	frameStartCurrentRow   = 0x00200
	frameEndCurrentRow     = 0x00400
	frameStartOffsetPre    = 0x00800
	frameEndOffsetPre      = 0x01000
	frameStartOffsetFol    = 0x02000
	frameEndOffsetFol      = 0x04000
	frameExclusion         = 0x08000 | 0x10000 | 0x20000
)

func (s *scope) buildWindowCall(name string, fc *pg.FuncCall) (Expr, error) {
	switch {
	case s.inAgg:
		return nil, errAt(pgerr.GroupingError, fc.Location, "aggregate function calls cannot contain window function calls")
	case s.inWin:
		return nil, errAt("42P20", fc.Location, "window function calls cannot be nested")
	case s.q.wins == nil:
		if s.q.winClause != "" {
			return nil, errAt("42P20", fc.Location, "window functions are not allowed in %s", s.q.winClause)
		}
		return nil, errAt("42P20", fc.Location, "window functions are not allowed here")
	}
	switch {
	case len(fc.AggOrder) > 0:
		return nil, errAt(pgerr.FeatureNotSupported, fc.Location, "aggregate ORDER BY is not implemented for window functions")
	case fc.AggFilter != nil && !aggFuncs[name]:
		return nil, errAt(pgerr.FeatureNotSupported, fc.Location, "FILTER is not implemented for non-aggregate window functions")
	case fc.AggWithinGroup || fc.FuncVariadic:
		return nil, errAt(pgerr.FeatureNotSupported, fc.Location, "this form of window function call is not supported yet")
	}
	def, err := s.q.windowDef(fc.Over)
	if err != nil {
		return nil, err
	}
	in := s.with(s.cols)
	in.inWin = true
	w := &WindowCall{Name: name}
	for _, p := range def.PartitionClause {
		e, err := in.buildExpr(p)
		if err != nil {
			return nil, err
		}
		if e.Type().Family == types.UnknownFamily {
			if e, err = castTo(e, types.Text); err != nil {
				return nil, err
			}
		}
		w.Partition = append(w.Partition, e)
	}
	for _, o := range def.OrderClause {
		sb := o.GetSortBy()
		e, err := in.buildExpr(sb.Node)
		if err != nil {
			return nil, err
		}
		if e.Type().Family == types.UnknownFamily {
			if e, err = castTo(e, types.Text); err != nil {
				return nil, err
			}
		}
		w.Order = append(w.Order, e)
		w.OrderKeys = append(w.OrderKeys, sortKey(sb))
	}
	if w.Frame, err = in.frame(def, w); err != nil {
		return nil, err
	}
	if aggFuncs[name] {
		if fc.AggDistinct {
			return nil, errAt(pgerr.FeatureNotSupported, fc.Location, "DISTINCT is not implemented for window functions")
		}
		if w.Agg, err = in.aggCall(name, fc); err != nil {
			return nil, err
		}
		w.Name, w.T = "agg", w.Agg.T
	} else if err := in.windowArgs(w, name, fc); err != nil {
		return nil, err
	}
	*s.q.wins = append(*s.q.wins, w)
	return w, nil
}

// windowArgs builds and types the arguments of a window-only function.
func (s *scope) windowArgs(w *WindowCall, name string, fc *pg.FuncCall) error {
	if !windowFuncs[name] {
		return errAt(pgerr.WrongObjectType, fc.Location, "OVER specified, but %s is not a window function nor an aggregate function", name)
	}
	if fc.AggStar || fc.AggDistinct {
		return errAt(pgerr.WrongObjectType, fc.Location, "%s is not an aggregate function", name)
	}
	args := make([]Expr, len(fc.Args))
	for i, a := range fc.Args {
		e, err := s.buildExpr(a)
		if err != nil {
			return err
		}
		args[i] = e
	}
	nargs := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return errAt(pgerr.UndefinedFunction, fc.Location, "function %s with %d arguments does not exist", name, len(args))
		}
		return nil
	}
	var err error
	switch name {
	case "row_number", "rank", "dense_rank":
		w.T = types.Int8
		err = nargs(0, 0)
	case "percent_rank", "cume_dist":
		w.T = types.Float8
		err = nargs(0, 0)
	case "ntile":
		if err = nargs(1, 1); err == nil {
			args[0], err = castTo(args[0], types.Int4)
		}
		w.T = types.Int4
	case "lag", "lead", "first_value", "last_value", "nth_value":
		switch name {
		case "lag", "lead":
			err = nargs(1, 3)
		case "nth_value":
			err = nargs(2, 2)
		default:
			err = nargs(1, 1)
		}
		if err != nil {
			return err
		}
		val := []Expr{args[0]}
		if (name == "lag" || name == "lead") && len(args) == 3 {
			val = append(val, args[2]) // the default unifies with the value
		}
		if w.T, err = commonType(argTypes(val), strings.ToUpper(name), fc.Location); err != nil {
			return err
		}
		if args[0], err = castTo(args[0], w.T); err != nil {
			return err
		}
		if len(args) > 1 {
			if args[1], err = castTo(args[1], types.Int4); err != nil {
				return err
			}
		}
		if len(args) > 2 {
			if args[2], err = castTo(args[2], w.T); err != nil {
				return err
			}
		}
	}
	w.Args = args
	return err
}

// windowDef resolves a window specification against the WINDOW clause.
func (q *queryInfo) windowDef(over *pg.WindowDef) (*pg.WindowDef, error) {
	named := func(name string, loc int32) (*pg.WindowDef, error) {
		for _, d := range q.windows {
			if d.Name == name {
				return q.windowDef(&pg.WindowDef{Refname: d.Refname, PartitionClause: d.PartitionClause, OrderClause: d.OrderClause,
					FrameOptions: d.FrameOptions, StartOffset: d.StartOffset, EndOffset: d.EndOffset, Location: d.Location})
			}
		}
		return nil, errAt(pgerr.UndefinedObject, loc, "window %q does not exist", name)
	}
	if over.Name != "" && over.Refname == "" { // OVER w
		return named(over.Name, over.Location)
	}
	if over.Refname == "" {
		return over, nil
	}
	base, err := named(over.Refname, over.Location)
	if err != nil {
		return nil, err
	}
	switch {
	case len(over.PartitionClause) > 0:
		return nil, errAt("42P20", over.Location, "cannot override PARTITION BY clause of window %q", over.Refname)
	case len(over.OrderClause) > 0 && len(base.OrderClause) > 0:
		return nil, errAt("42P20", over.Location, "cannot override ORDER BY clause of window %q", over.Refname)
	case base.FrameOptions&frameNonDefault != 0:
		return nil, errAt("42P20", over.Location, "cannot copy window %q because it has a frame clause", over.Refname)
	}
	out := &pg.WindowDef{PartitionClause: base.PartitionClause, OrderClause: base.OrderClause,
		FrameOptions: over.FrameOptions, StartOffset: over.StartOffset, EndOffset: over.EndOffset, Location: over.Location}
	if len(over.OrderClause) > 0 {
		out.OrderClause = over.OrderClause
	}
	return out, nil
}

// frame turns a window definition's frame clause into a WindowFrame.
func (s *scope) frame(def *pg.WindowDef, w *WindowCall) (WindowFrame, error) {
	o := def.FrameOptions
	if o&frameNonDefault == 0 {
		return defaultFrame, nil
	}
	if o&frameGroups != 0 {
		return WindowFrame{}, errAt(pgerr.FeatureNotSupported, def.Location, "GROUPS frames are not supported yet")
	}
	if o&frameExclusion != 0 {
		return WindowFrame{}, errAt(pgerr.FeatureNotSupported, def.Location, "frame exclusion is not supported yet")
	}
	f := WindowFrame{Rows: o&frameRows != 0, End: CurrentRow}
	var err error
	switch {
	case o&frameStartUnboundedPre != 0:
		f.Start = UnboundedPreceding
	case o&frameStartCurrentRow != 0:
		f.Start = CurrentRow
	case o&frameStartOffsetPre != 0:
		f.Start = OffsetPreceding
		f.StartOffset, f.StartValue, err = s.frameOffset(def.StartOffset, f.Rows, "starting", w)
	case o&frameStartOffsetFol != 0:
		f.Start = OffsetFollowing
		f.StartOffset, f.StartValue, err = s.frameOffset(def.StartOffset, f.Rows, "starting", w)
	}
	if err != nil {
		return f, err
	}
	if o&frameBetween != 0 {
		switch {
		case o&frameEndUnboundedFol != 0:
			f.End = UnboundedFollowing
		case o&frameEndCurrentRow != 0:
			f.End = CurrentRow
		case o&frameEndOffsetPre != 0:
			f.End = OffsetPreceding
			f.EndOffset, f.EndValue, err = s.frameOffset(def.EndOffset, f.Rows, "ending", w)
		case o&frameEndOffsetFol != 0:
			f.End = OffsetFollowing
			f.EndOffset, f.EndValue, err = s.frameOffset(def.EndOffset, f.Rows, "ending", w)
		}
	}
	return f, err
}

// frameOffset evaluates a frame offset: a constant, not NULL, not
// negative; for ROWS a count of rows, for RANGE a distance in the value of
// the window's one ORDER BY column (which must be a number).
func (s *scope) frameOffset(n *pg.Node, rows bool, which string, w *WindowCall) (int64, types.Datum, error) {
	t := types.Int8
	if !rows {
		if len(w.Order) != 1 {
			return 0, types.Null, pgerr.New("42P20", "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column")
		}
		switch ot := w.Order[0].Type(); ot.Family {
		case types.IntFamily:
		case types.DecimalFamily:
			t = types.Numeric
		case types.FloatFamily:
			t = types.Float8
		default:
			return 0, types.Null, pgerr.New(pgerr.FeatureNotSupported, "RANGE with offset PRECEDING/FOLLOWING is not supported for column type %s yet", ot)
		}
	}
	e, err := s.with(nil).buildExpr(n)
	if err != nil {
		if pgerr.Code(err) == pgerr.UndefinedColumn {
			mode := "RANGE"
			if rows {
				mode = "ROWS"
			}
			return 0, types.Null, pgerr.New(pgerr.InvalidColumnRef, "argument of %s must not contain variables", mode)
		}
		return 0, types.Null, err
	}
	if ot := e.Type(); !rows && t.Family == types.IntFamily && ot.Family != types.IntFamily && ot.Family != types.UnknownFamily {
		return 0, types.Null, pgerr.New(pgerr.FeatureNotSupported, "RANGE with offset PRECEDING/FOLLOWING is not supported for column type %s and offset type %s", w.Order[0].Type(), ot)
	}
	if e, err = castTo(e, t); err != nil {
		return 0, types.Null, err
	}
	c, ok := e.(*Const)
	if !ok {
		return 0, types.Null, pgerr.New(pgerr.FeatureNotSupported, "a frame offset that is not a constant is not supported yet")
	}
	if c.Val.IsNull() {
		return 0, types.Null, pgerr.New("22004", "frame %s offset must not be null", which)
	}
	if rows {
		if c.Val.Int() < 0 {
			return 0, types.Null, pgerr.New("22013", "frame %s offset must not be negative", which)
		}
		return c.Val.Int(), c.Val, nil
	}
	if types.Compare(c.Val, types.NewInt(0)) < 0 {
		return 0, types.Null, pgerr.New("22013", "invalid preceding or following size in window function")
	}
	return 0, c.Val, nil
}

// addWindow moves the window function calls of exprs (over rel's row)
// into a Window operator over rel, replacing each by a column of it.
func addWindow(rel Rel, exprs []Expr) (Rel, error) {
	width := len(rel.Cols())
	win := &Window{Input: rel, Columns: append([]ColInfo{}, rel.Cols()...)}
	for i, e := range exprs {
		m, err := mapExpr(e, func(x Expr) (Expr, error) {
			w, ok := x.(*WindowCall)
			if !ok {
				return x, nil
			}
			k := -1
			for j, f := range win.Funcs {
				if f.String() == w.String() {
					k = j
				}
			}
			if k < 0 {
				k = len(win.Funcs)
				win.Funcs = append(win.Funcs, w)
				win.Columns = append(win.Columns, ColInfo{Name: fmt.Sprintf("window%d", k), T: w.T, Hidden: true})
			}
			return &ColRef{Ord: width + k, Name: fmt.Sprintf("window%d", k), T: w.T}, nil
		})
		if err != nil {
			return nil, err
		}
		exprs[i] = m
	}
	if len(win.Funcs) == 0 {
		return rel, nil
	}
	return win, nil
}

// mapWindowChildren rebuilds a window call with each expression in it
// (arguments, the aggregate's, PARTITION BY, ORDER BY) replaced by f(it).
func mapWindowChildren(w *WindowCall, f func(Expr) (Expr, error)) (Expr, error) {
	c := *w
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
	if c.Args, err = mapAll(w.Args); err != nil {
		return nil, err
	}
	if c.Partition, err = mapAll(w.Partition); err != nil {
		return nil, err
	}
	if c.Order, err = mapAll(w.Order); err != nil {
		return nil, err
	}
	if w.Agg != nil {
		a := *w.Agg
		if a.Arg, err = f(w.Agg.Arg); err != nil {
			return nil, err
		}
		if a.Sep, err = f(w.Agg.Sep); err != nil {
			return nil, err
		}
		if a.Filter, err = f(w.Agg.Filter); err != nil {
			return nil, err
		}
		c.Agg = &a
	}
	return &c, nil
}

// setWindows records the named windows of a WINDOW clause.
func (q *queryInfo) setWindows(defs []*pg.Node) error {
	q.windows = nil
	for _, n := range defs {
		d := n.GetWindowDef()
		for _, prev := range q.windows {
			if prev.Name == d.Name {
				return errAt("42P20", d.Location, "window %q is already defined", d.Name)
			}
		}
		q.windows = append(q.windows, d)
	}
	return nil
}

// hasWindowCall reports whether e contains a window function call.
func hasWindowCall(e Expr) bool {
	found := false
	visitExpr(e, func(x Expr) {
		if _, ok := x.(*WindowCall); ok {
			found = true
		}
	})
	return found
}
