package exec

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// Program is the work a frontend pushes down to the shard servers that
// hold a scan's ranges: each server decodes its rows, keeps those Filter
// admits and then either returns them (their values cut down to the
// Needed columns, at most Limit of them, or only its TopN) or folds them
// into a partial aggregation (Agg). Expressions are over the table row.
//
// Programs travel as bytes in api.ScanRequest.program; the encoding is
// this package's own (txn passes it through without looking inside).
type Program struct {
	Table *planner.Table
	// Filter admits rows (nil: all).
	Filter planner.Expr
	// Needed[i] says whether column i must be returned (nil: all).
	Needed []bool
	// Limit bounds the rows one request returns (0: no bound).
	Limit int
	// TopN keeps only the first N rows under Keys (N > 0).
	TopN *TopN
	// Agg, when set, aggregates instead of returning rows.
	Agg *PartialAgg
}

// TopN orders rows by Keys (expressions over the table row) and keeps N.
type TopN struct {
	Keys []TopNKey
	N    int
}

// TopNKey is one ordering term of a TopN.
type TopNKey struct {
	E          planner.Expr
	Desc       bool
	NullsFirst bool
}

// PartialAgg groups rows by Group and computes Aggs per group, as partial
// states the frontend merges.
type PartialAgg struct {
	Group []planner.Expr
	Aggs  []*planner.AggCall
}

// pushableAggs are the aggregates whose partial states merge.
var pushableAggs = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true,
}

// immutableFuncs are the scalar functions a shard may evaluate: their
// result depends on their arguments only (no clock, session or randomness).
var immutableFuncs = map[string]bool{
	"abs": true, "round": true, "trunc": true, "floor": true, "ceil": true,
	"ceiling": true, "mod": true, "power": true, "pow": true, "sqrt": true,
	"sign": true, "exp": true, "ln": true, "log": true, "cbrt": true,
	"lower": true, "upper": true, "length": true, "char_length": true,
	"character_length": true, "octet_length": true, "substring": true,
	"substr": true, "btrim": true, "ltrim": true, "rtrim": true, "trim": true,
	"position": true, "strpos": true, "replace": true, "concat": true,
	"concat_ws": true, "left": true, "right": true, "reverse": true,
	"repeat": true, "lpad": true, "rpad": true, "initcap": true,
	"starts_with": true, "coalesce": true, "nullif": true, "greatest": true,
	"least": true, "md5": true, "ascii": true, "chr": true,
}

// Pushable reports whether e can be evaluated on a shard server: it reads
// only the row (no outer references or subqueries) and calls only
// immutable functions.
func Pushable(e planner.Expr) bool {
	ok := true
	var walk func(e planner.Expr)
	walk = func(e planner.Expr) {
		if !ok || e == nil {
			return
		}
		switch e := e.(type) {
		case *planner.Const, *planner.ColRef, *planner.Param:
		case *planner.Binary:
			walk(e.L)
			walk(e.R)
		case *planner.And:
			for _, a := range e.Args {
				walk(a)
			}
		case *planner.Or:
			for _, a := range e.Args {
				walk(a)
			}
		case *planner.Not:
			walk(e.E)
		case *planner.Neg:
			walk(e.E)
		case *planner.IsNull:
			walk(e.E)
		case *planner.Cast:
			if !encodableType(e.T) || !encodableType(e.E.Type()) {
				ok = false
				return
			}
			walk(e.E)
		case *planner.Func:
			if !immutableFuncs[e.Name] {
				ok = false
				return
			}
			for _, a := range e.Args {
				walk(a)
			}
		case *planner.Case:
			walk(e.Operand)
			for _, w := range e.Whens {
				walk(w.Cond)
				walk(w.Result)
			}
			walk(e.Else)
		case *planner.Like:
			walk(e.E)
			walk(e.Pattern)
		case *planner.IsDistinct:
			walk(e.L)
			walk(e.R)
		default:
			ok = false
		}
		if ok && e != nil && !encodableType(e.Type()) {
			ok = false
		}
	}
	walk(e)
	return ok
}

// encodableType reports whether t survives String and types.Parse.
func encodableType(t types.T) bool {
	if t.Family == types.UnknownFamily {
		return true
	}
	u, err := types.Parse(t.String())
	return err == nil && u == t
}

// PushableAgg reports whether an aggregate can be computed partially on
// shard servers.
func PushableAgg(c *planner.AggCall) bool {
	if !pushableAggs[c.Name] || c.Distinct || c.Sep != nil || c.Filter != nil || len(c.Order) > 0 {
		return false
	}
	// The partial states carry integer, numeric and float sums only (not
	// interval sums).
	if (c.Name == "sum" || c.Name == "avg") && c.Arg != nil {
		switch c.Arg.Type().Family {
		case types.IntFamily, types.FloatFamily, types.DecimalFamily:
		default:
			return false
		}
	}
	return c.Arg == nil || Pushable(c.Arg)
}

// --- encoding ---

type progWriter struct {
	b []byte
	// params are the values that replace parameters in expressions.
	params []types.Datum
}

func (w *progWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *progWriter) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *progWriter) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *progWriter) flag(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *progWriter) typ(t types.T) {
	if t.Family == types.UnknownFamily {
		w.str("")
		return
	}
	w.str(t.String())
}

func (w *progWriter) datum(d types.Datum) {
	if d.IsNull() {
		w.flag(false)
		return
	}
	w.flag(true)
	v := rowenc.EncodeRowValue(nil, []uint32{0}, []types.Datum{d})
	w.str(string(v))
}

// Expression tags.
const (
	tagNil byte = iota
	tagConst
	tagCol
	tagBinary
	tagAnd
	tagOr
	tagNot
	tagNeg
	tagIsNull
	tagCast
	tagFunc
	tagCase
	tagLike
	tagIsDistinct
)

func (w *progWriter) expr(e planner.Expr) {
	switch e := e.(type) {
	case nil:
		w.b = append(w.b, tagNil)
	case *planner.Const:
		w.b = append(w.b, tagConst)
		w.typ(e.T)
		w.datum(e.Val)
	case *planner.Param:
		v := types.Null
		if e.N >= 1 && e.N <= len(w.params) {
			v = w.params[e.N-1]
		}
		w.b = append(w.b, tagConst)
		w.typ(e.Type())
		w.datum(v)
	case *planner.ColRef:
		w.b = append(w.b, tagCol)
		w.uvarint(uint64(e.Ord))
		w.str(e.Name)
		w.typ(e.T)
	case *planner.Binary:
		w.b = append(w.b, tagBinary)
		w.str(string(e.Op))
		w.typ(e.T)
		w.expr(e.L)
		w.expr(e.R)
	case *planner.And:
		w.b = append(w.b, tagAnd)
		w.exprs(e.Args)
	case *planner.Or:
		w.b = append(w.b, tagOr)
		w.exprs(e.Args)
	case *planner.Not:
		w.b = append(w.b, tagNot)
		w.expr(e.E)
	case *planner.Neg:
		w.b = append(w.b, tagNeg)
		w.expr(e.E)
	case *planner.IsNull:
		w.b = append(w.b, tagIsNull)
		w.flag(e.Not)
		w.expr(e.E)
	case *planner.Cast:
		w.b = append(w.b, tagCast)
		w.typ(e.T)
		w.expr(e.E)
	case *planner.Func:
		w.b = append(w.b, tagFunc)
		w.str(e.Name)
		w.typ(e.T)
		w.exprs(e.Args)
	case *planner.Case:
		w.b = append(w.b, tagCase)
		w.typ(e.T)
		w.expr(e.Operand)
		w.uvarint(uint64(len(e.Whens)))
		for _, wh := range e.Whens {
			w.expr(wh.Cond)
			w.expr(wh.Result)
		}
		w.expr(e.Else)
	case *planner.Like:
		w.b = append(w.b, tagLike)
		w.flag(e.Not)
		w.flag(e.CaseInsensitive)
		w.expr(e.E)
		w.expr(e.Pattern)
	case *planner.IsDistinct:
		w.b = append(w.b, tagIsDistinct)
		w.flag(e.Not)
		w.expr(e.L)
		w.expr(e.R)
	default:
		panic(fmt.Sprintf("exec: cannot push down %T", e))
	}
}

func (w *progWriter) exprs(es []planner.Expr) {
	w.uvarint(uint64(len(es)))
	for _, e := range es {
		w.expr(e)
	}
}

// Encode returns the wire form of p. Every expression in it must be Pushable.
func (p *Program) Encode() []byte { return p.encode(nil) }

// encode is Encode with the values of the statement's parameters.
func (p *Program) encode(params []types.Datum) []byte {
	w := &progWriter{params: params}
	w.b = append(w.b, 1) // version
	t := p.Table
	w.uvarint(uint64(t.ID))
	w.uvarint(uint64(len(t.Columns)))
	for _, c := range t.Columns {
		w.uvarint(uint64(c.ID))
		w.typ(c.Type)
		// What rows written before the column was added read as.
		w.flag(c.HasMissing)
		if c.HasMissing {
			w.datum(c.Missing)
		}
	}
	w.uvarint(uint64(len(t.PK)))
	for i, o := range t.PK {
		w.uvarint(uint64(o))
		w.flag(t.PKDesc[i])
	}
	w.expr(p.Filter)
	w.flag(p.Needed != nil)
	for _, n := range p.Needed {
		w.flag(n)
	}
	w.uvarint(uint64(p.Limit))
	w.flag(p.TopN != nil)
	if p.TopN != nil {
		w.uvarint(uint64(p.TopN.N))
		w.uvarint(uint64(len(p.TopN.Keys)))
		for _, k := range p.TopN.Keys {
			w.expr(k.E)
			w.flag(k.Desc)
			w.flag(k.NullsFirst)
		}
	}
	w.flag(p.Agg != nil)
	if p.Agg != nil {
		w.exprs(p.Agg.Group)
		w.uvarint(uint64(len(p.Agg.Aggs)))
		for _, a := range p.Agg.Aggs {
			w.str(a.Name)
			w.typ(a.T)
			w.expr(a.Arg)
		}
	}
	return w.b
}

// --- decoding ---

var errCorrupt = errors.New("exec: corrupt program")

type progReader struct {
	b   []byte
	err error
}

func (r *progReader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *progReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *progReader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b))+1 && v > 1<<16 {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *progReader) str() string {
	l := r.uvarint()
	if uint64(len(r.b)) < l {
		r.fail()
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

func (r *progReader) flag() bool {
	if len(r.b) == 0 {
		r.fail()
		return false
	}
	v := r.b[0] != 0
	r.b = r.b[1:]
	return v
}

func (r *progReader) typ() types.T {
	s := r.str()
	if s == "" {
		return types.Unknown
	}
	t, err := types.Parse(s)
	if err != nil && r.err == nil {
		r.err = err
	}
	return t
}

func (r *progReader) datum() types.Datum {
	if !r.flag() {
		return types.Null
	}
	d := types.Null
	if err := rowenc.DecodeRowValue([]byte(r.str()), func(_ uint32, v types.Datum) { d = v }); err != nil && r.err == nil {
		r.err = err
	}
	return d
}

func (r *progReader) expr() planner.Expr {
	if len(r.b) == 0 {
		r.fail()
		return nil
	}
	tag := r.b[0]
	r.b = r.b[1:]
	switch tag {
	case tagNil:
		return nil
	case tagConst:
		t := r.typ()
		return &planner.Const{T: t, Val: r.datum()}
	case tagCol:
		ord := int(r.uvarint())
		name := r.str()
		return &planner.ColRef{Ord: ord, Name: name, T: r.typ()}
	case tagBinary:
		op := planner.BinOp(r.str())
		t := r.typ()
		l := r.expr()
		return &planner.Binary{Op: op, T: t, L: l, R: r.expr()}
	case tagAnd:
		return &planner.And{Args: r.exprs()}
	case tagOr:
		return &planner.Or{Args: r.exprs()}
	case tagNot:
		return &planner.Not{E: r.expr()}
	case tagNeg:
		return &planner.Neg{E: r.expr()}
	case tagIsNull:
		not := r.flag()
		return &planner.IsNull{Not: not, E: r.expr()}
	case tagCast:
		t := r.typ()
		return &planner.Cast{T: t, E: r.expr()}
	case tagFunc:
		name := r.str()
		t := r.typ()
		return &planner.Func{Name: name, T: t, Args: r.exprs()}
	case tagCase:
		c := &planner.Case{T: r.typ()}
		c.Operand = r.expr()
		n := r.count()
		for i := 0; i < n && r.err == nil; i++ {
			cond := r.expr()
			c.Whens = append(c.Whens, planner.When{Cond: cond, Result: r.expr()})
		}
		c.Else = r.expr()
		return c
	case tagLike:
		l := &planner.Like{Not: r.flag(), CaseInsensitive: r.flag()}
		l.E = r.expr()
		l.Pattern = r.expr()
		return l
	case tagIsDistinct:
		d := &planner.IsDistinct{Not: r.flag()}
		d.L = r.expr()
		d.R = r.expr()
		return d
	}
	r.fail()
	return nil
}

func (r *progReader) exprs() []planner.Expr {
	n := r.count()
	var out []planner.Expr
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.expr())
	}
	return out
}

// DecodeProgram parses a program sent by a frontend.
func DecodeProgram(b []byte) (*Program, error) {
	r := &progReader{b: b}
	if len(b) == 0 || b[0] != 1 {
		return nil, pgerr.New(pgerr.Internal, "unknown pushdown program version")
	}
	r.b = r.b[1:]
	t := &planner.Table{ID: uint32(r.uvarint())}
	n := r.count()
	for i := 0; i < n && r.err == nil; i++ {
		c := planner.Column{ID: uint32(r.uvarint()), Type: r.typ()}
		if c.HasMissing = r.flag(); c.HasMissing {
			c.Missing = r.datum()
		}
		t.Columns = append(t.Columns, c)
	}
	n = r.count()
	for i := 0; i < n && r.err == nil; i++ {
		o := int(r.uvarint())
		if o >= len(t.Columns) {
			r.fail()
			break
		}
		t.PK = append(t.PK, o)
		t.PKDesc = append(t.PKDesc, r.flag())
	}
	p := &Program{Table: t}
	p.Filter = r.expr()
	if r.flag() {
		p.Needed = make([]bool, len(t.Columns))
		for i := range p.Needed {
			p.Needed[i] = r.flag()
		}
	}
	p.Limit = int(r.uvarint())
	if r.flag() {
		p.TopN = &TopN{N: int(r.uvarint())}
		k := r.count()
		for i := 0; i < k && r.err == nil; i++ {
			e := r.expr()
			p.TopN.Keys = append(p.TopN.Keys, TopNKey{E: e, Desc: r.flag(), NullsFirst: r.flag()})
		}
	}
	if r.flag() {
		p.Agg = &PartialAgg{Group: r.exprs()}
		k := r.count()
		for i := 0; i < k && r.err == nil; i++ {
			name := r.str()
			t := r.typ()
			p.Agg.Aggs = append(p.Agg.Aggs, &planner.AggCall{Name: name, T: t, Arg: r.expr()})
		}
	}
	if r.err != nil {
		return nil, pgerr.Wrap(r.err, pgerr.Internal, "decoding pushdown program")
	}
	return p, nil
}
