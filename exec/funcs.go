package exec

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

func (r *runner) evalCase(c *planner.Case, en *env) (types.Datum, error) {
	for _, w := range c.Whens {
		v, err := r.eval(w.Cond, en)
		if err != nil {
			return types.Null, err
		}
		if truth(v) {
			return r.eval(w.Result, en)
		}
	}
	if c.Else == nil {
		return types.Null, nil
	}
	return r.eval(c.Else, en)
}

func (r *runner) evalFunc(f *planner.Func, en *env) (types.Datum, error) {
	// coalesce evaluates lazily; the rest take all their arguments.
	if f.Name == "coalesce" {
		for _, a := range f.Args {
			v, err := r.eval(a, en)
			if err != nil || !v.IsNull() {
				return v, err
			}
		}
		return types.Null, nil
	}
	args := make([]types.Datum, len(f.Args))
	for i, a := range f.Args {
		v, err := r.eval(a, en)
		if err != nil {
			return types.Null, err
		}
		args[i] = v
	}
	if d, ok, err := evalTypeFunc(f, args); ok {
		return d, err
	}
	switch f.Name {
	case "nextval", "currval", "setval", "lastval", "pg_sequence_last_value", "shardsql_sequence_last_value":
		return r.sequenceFunc(f.Name, args)
	case "nullif":
		if !args[0].IsNull() && !args[1].IsNull() && types.Compare(args[0], args[1]) == 0 {
			return types.Null, nil
		}
		return args[0], nil
	case "greatest", "least":
		best := types.Null
		for _, a := range args {
			if a.IsNull() {
				continue
			}
			c := 0
			if !best.IsNull() {
				c = types.Compare(a, best)
			}
			if best.IsNull() || (f.Name == "greatest" && c > 0) || (f.Name == "least" && c < 0) {
				best = a
			}
		}
		return best, nil
	case "current_setting":
		if args[0].IsNull() {
			return types.Null, nil
		}
		set, _ := r.ctx.Value(settingsKey{}).(Settings)
		if set != nil {
			if v, ok := set.Setting(args[0].Str()); ok {
				return types.NewString(v), nil
			}
		}
		if len(args) == 2 && !args[1].IsNull() && args[1].Bool() {
			return types.Null, nil
		}
		return types.Null, pgerr.New(pgerr.UndefinedObject, "unrecognized configuration parameter %q", args[0].Str())
	case "set_config":
		if args[0].IsNull() {
			return types.Null, pgerr.New(pgerr.NullValueNotAllowed, "SET requires parameter name")
		}
		set, _ := r.ctx.Value(settingsKey{}).(Settings)
		if set == nil {
			return types.Null, pgerr.New(pgerr.FeatureNotSupported, "set_config is not available here")
		}
		v := ""
		if !args[1].IsNull() {
			v = args[1].Str()
		}
		if err := set.SetSetting(args[0].Str(), v); err != nil {
			return types.Null, err
		}
		return types.NewString(v), nil
	case "pg_sleep":
		if !args[0].IsNull() && args[0].AsFloat() > 0 {
			t := time.NewTimer(time.Duration(args[0].AsFloat() * float64(time.Second)))
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.ctx.Done():
				return types.Null, pgerr.New(pgerr.QueryCanceled, "canceling statement due to user request")
			}
		}
		return types.NewString(""), nil
	case "now":
		// The time zone is UTC (TimeZone is reported as UTC), so now() and
		// CURRENT_TIMESTAMP are the wall-clock time in UTC.
		return types.NewTimestamp(time.Now().UnixMicro()), nil
	case "concat":
		var b strings.Builder
		for _, a := range args {
			if !a.IsNull() {
				b.WriteString(a.Str())
			}
		}
		return types.NewString(b.String()), nil
	}
	for _, a := range args {
		if a.IsNull() {
			return types.Null, nil // the rest are strict
		}
	}
	a := args[0]
	switch f.Name {
	case "abs":
		switch a.Family() {
		case types.IntFamily:
			if a.Int() == math.MinInt64 {
				return types.Null, outOfRange(f.T)
			}
			if a.Int() < 0 {
				return types.CastInt(-a.Int(), f.T)
			}
			return a, nil
		case types.FloatFamily:
			return types.NewFloat(math.Abs(a.Float())), nil
		}
		var d apd.Decimal
		d.Abs(a.Decimal())
		return types.NewDecimal(&d), nil
	case "sign":
		switch a.Family() {
		case types.IntFamily:
			return types.NewInt(int64(sign(float64(a.Int())))), nil
		case types.FloatFamily:
			return types.NewFloat(float64(sign(a.Float()))), nil
		}
		if a.Decimal().Form == apd.NaN {
			return a, nil // sign('NaN'::numeric) is NaN
		}
		return types.NewDecimal(apd.New(int64(a.Decimal().Sign()), 0)), nil
	case "round", "trunc", "floor", "ceil":
		return roundFunc(f.Name, args)
	case "power", "sqrt", "exp", "ln":
		return mathFunc(f.Name, args, f.T)
	case "substring_regex":
		return regexSubstring(a.Str(), args[1].Str())
	case "lower":
		return types.NewString(strings.ToLower(a.Str())), nil
	case "upper":
		return types.NewString(strings.ToUpper(a.Str())), nil
	case "length":
		return types.NewInt(int64(utf8.RuneCountInString(a.Str()))), nil
	case "chr":
		c := a.Int()
		if c <= 0 || c > utf8.MaxRune || (c >= 0xD800 && c <= 0xDFFF) {
			return types.Null, pgerr.New(pgerr.ProgramLimitExceeded, "requested character not valid for encoding: %d", c)
		}
		return types.NewString(string(rune(c))), nil
	case "ascii":
		r, _ := utf8.DecodeRuneInString(a.Str())
		if a.Str() == "" {
			r = 0
		}
		return types.NewInt(int64(r)), nil
	case "md5":
		sum := md5.Sum([]byte(a.Str()))
		return types.NewString(hex.EncodeToString(sum[:])), nil
	case "btrim", "ltrim", "rtrim":
		cut := " "
		if len(args) > 1 {
			cut = args[1].Str()
		}
		s := a.Str()
		if f.Name != "rtrim" {
			s = strings.TrimLeft(s, cut)
		}
		if f.Name != "ltrim" {
			s = strings.TrimRight(s, cut)
		}
		return types.NewString(s), nil
	case "substring":
		runes := []rune(a.Str())
		start := args[1].Int()
		end := int64(len(runes)) + 1
		if len(args) > 2 {
			n := args[2].Int()
			if n < 0 {
				return types.Null, pgerr.New(pgerr.SubstringError, "negative substring length not allowed")
			}
			end = start + n
		}
		start = max(start, 1)
		end = min(end, int64(len(runes))+1)
		if start >= end {
			return types.NewString(""), nil
		}
		return types.NewString(string(runes[start-1 : end-1])), nil
	case "replace":
		if args[1].Str() == "" {
			return a, nil
		}
		return types.NewString(strings.ReplaceAll(a.Str(), args[1].Str(), args[2].Str())), nil
	case "strpos":
		i := strings.Index(a.Str(), args[1].Str())
		if i < 0 {
			return types.NewInt(0), nil
		}
		return types.NewInt(int64(utf8.RuneCountInString(a.Str()[:i]) + 1)), nil
	}
	return types.Null, pgerr.New(pgerr.UndefinedFunction, "function %s does not exist", f.Name)
}

func sign(f float64) int {
	switch {
	case f > 0:
		return 1
	case f < 0:
		return -1
	}
	return 0
}

func roundFunc(name string, args []types.Datum) (types.Datum, error) {
	a := args[0]
	var places int32
	if len(args) > 1 {
		places = int32(args[1].Int())
	}
	if a.Family() == types.FloatFamily {
		f := a.Float()
		switch name {
		case "round":
			return types.NewFloat(math.RoundToEven(f)), nil // PostgreSQL rounds float8 half to even
		case "trunc":
			return types.NewFloat(math.Trunc(f)), nil
		case "floor":
			return types.NewFloat(math.Floor(f)), nil
		}
		return types.NewFloat(math.Ceil(f)), nil
	}
	d := a.AsDecimal()
	var out apd.Decimal
	c := decCtx.WithPrecision(1000)
	switch name {
	case "round":
		c.Rounding = apd.RoundHalfUp
	case "trunc":
		c.Rounding = apd.RoundDown
	case "floor", "ceil":
		// Truncate, then step away from zero when a fraction was cut off
		// on the side being rounded to (apd's RoundFloor misses -0.09).
		c.Rounding = apd.RoundDown
		places = 0
	}
	if _, err := c.Quantize(&out, d, -places); err != nil {
		return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, name)
	}
	if name == "floor" || name == "ceil" {
		step := int64(-1)
		if name == "ceil" {
			step = 1
		}
		if out.Cmp(d) != 0 && (d.Negative == (step < 0)) {
			if _, err := c.Add(&out, &out, apd.New(step, 0)); err != nil {
				return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, name)
			}
		}
	}
	if out.IsZero() {
		out.Negative = false // PostgreSQL has no negative zero numeric
	}
	if out.Exponent > 0 { // round(1234, -2) is 1200, not 12E+2
		if _, err := c.Quantize(&out, &out, 0); err != nil {
			return types.Null, pgerr.Wrap(err, pgerr.NumericOutOfRange, name)
		}
	}
	return types.NewDecimal(&out), nil
}

func mathFunc(name string, args []types.Datum, t types.T) (types.Datum, error) {
	if t.Family == types.DecimalFamily {
		switch name {
		case "power":
			return numericPower(args[0].AsDecimal(), args[1].AsDecimal())
		case "sqrt":
			return numericSqrt(args[0].AsDecimal())
		}
	}
	x := args[0].AsFloat()
	var v float64
	switch name {
	case "power":
		var err error
		if v, err = floatPower(x, args[1].AsFloat()); err != nil {
			return types.Null, err
		}
	case "sqrt":
		if x < 0 {
			return types.Null, errNegSqrt
		}
		v = math.Sqrt(x)
	case "exp":
		v = math.Exp(x)
	case "ln":
		if x <= 0 {
			return types.Null, pgerr.New("2201E", "cannot take logarithm of zero or a negative number")
		}
		v = math.Log(x)
	}
	// Infinity and NaN in give Infinity and NaN out (sqrt('Infinity')),
	// only a finite input overflowing is an error.
	inInf, inNaN := math.IsInf(x, 0), math.IsNaN(x)
	if name == "power" {
		y := args[1].AsFloat()
		inInf, inNaN = inInf || math.IsInf(y, 0), inNaN || math.IsNaN(y)
	}
	if (math.IsInf(v, 0) && !inInf) || (math.IsNaN(v) && !inNaN) {
		return types.Null, pgerr.New(pgerr.NumericOutOfRange, "value out of range: overflow")
	}
	if t.Family == types.DecimalFamily {
		return types.Cast(types.NewFloat(v), types.Numeric)
	}
	return types.NewFloat(v), nil
}

// regexpCache keeps compiled patterns; statements on many sessions (and
// the shard servers running pushed-down filters) use it at once.
type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func (c *regexpCache) get(key string) (*regexp.Regexp, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	re, ok := c.m[key]
	return re, ok
}

// put keeps re unless the cache is full (1,000 patterns).
func (c *regexpCache) put(key string, re *regexp.Regexp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*regexp.Regexp{}
	}
	if len(c.m) < 1000 {
		c.m[key] = re
	}
}

var likeCache regexpCache

// likeRegexp turns a LIKE pattern (% and _, backslash escapes) into a regexp.
func likeRegexp(p string, ci bool) (*regexp.Regexp, error) {
	key := p
	if ci {
		key = "i:" + p
	}
	if re, ok := likeCache.get(key); ok {
		return re, nil
	}
	var b strings.Builder
	b.WriteString("(?s)^")
	if ci {
		b.WriteString("(?i)")
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 == len(p) {
				return nil, pgerr.New("22025", "LIKE pattern must not end with escape character")
			}
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, err
	}
	likeCache.put(key, re)
	return re, nil
}

func (r *runner) evalLike(l *planner.Like, en *env) (types.Datum, error) {
	v, err := r.eval(l.E, en)
	if err != nil || v.IsNull() {
		return types.Null, err
	}
	p, err := r.eval(l.Pattern, en)
	if err != nil || p.IsNull() {
		return types.Null, err
	}
	re, err := likeRegexp(p.Str(), l.CaseInsensitive)
	if err != nil {
		return types.Null, err
	}
	return types.NewBool(re.MatchString(v.Str()) != l.Not), nil
}

// subResult is what a subquery produced: its first column's values.
type subResult struct {
	vals []types.Datum
	// set hashes the non-NULL values (by datumKey) for x IN (SELECT ...)
	// over an uncorrelated subquery; class is their key class, hasNull
	// whether a NULL was among them. Built on first use.
	set     map[string]bool
	class   int
	mixed   bool
	hasNull bool
}

// keyClass groups the families whose equal values have equal datumKeys.
func keyClass(f types.Family) int {
	switch f {
	case types.IntFamily, types.DecimalFamily:
		return 1
	case types.FloatFamily:
		return 2
	}
	return 3 + int(f)
}

// inSet answers test IN (values) through a hash set; ok is false when
// the values do not share one key class with test (then compare one by one).
func (res *subResult) inSet(test types.Datum) (v types.Datum, ok bool) {
	if res.set == nil {
		res.set = map[string]bool{}
		res.class = -1
		for _, v := range res.vals {
			if v.IsNull() {
				res.hasNull = true
				continue
			}
			c := keyClass(v.Family())
			if res.class >= 0 && c != res.class {
				res.mixed = true
			}
			res.class = c
			var b strings.Builder
			datumKey(&b, v)
			res.set[b.String()] = true
		}
	}
	if test.IsNull() {
		if len(res.vals) == 0 {
			return types.NewBool(false), true
		}
		return types.Null, true
	}
	if res.mixed || (res.class >= 0 && res.class != keyClass(test.Family())) {
		return types.Null, false
	}
	var b strings.Builder
	datumKey(&b, test)
	switch {
	case res.set[b.String()]:
		return types.NewBool(true), true
	case res.hasNull:
		return types.Null, true
	}
	return types.NewBool(false), true
}

func (r *runner) evalSubquery(sq *planner.Subquery, en *env) (types.Datum, error) {
	res, ok := r.subqueries[sq.ID]
	if sq.Correlated && r.ctx.Value(noPushdownKey{}) == nil {
		// A correlated subquery tied to the outer row by equalities runs
		// as a hash semi-join over an index built once (decorrelate.go).
		idx, err := r.corrIndexFor(sq, en)
		if err != nil {
			return types.Null, err
		}
		if idx != nil {
			vals, err := r.corrRows(idx, en, sq.Mode == planner.SubExists)
			if err != nil {
				return types.Null, err
			}
			if sq.Mode == planner.SubScalar && len(vals) > 1 {
				return types.Null, pgerr.New(pgerr.CardinalityViolation, "more than one row returned by a subquery used as an expression")
			}
			res, ok = &subResult{vals: vals}, true
		}
	}
	if !ok || (sq.Correlated && res == nil) {
		res = &subResult{}
		stop := &stopSignal{}
		r.inSubquery++
		err := r.run(sq.Rel, en, func(row []types.Datum) error {
			res.vals = append(res.vals, row[0])
			switch sq.Mode {
			case planner.SubExists:
				return stop
			case planner.SubScalar:
				if len(res.vals) > 1 {
					return pgerr.New(pgerr.CardinalityViolation, "more than one row returned by a subquery used as an expression")
				}
			}
			return nil
		})
		r.inSubquery--
		if err != nil && err != error(stop) {
			return types.Null, err
		}
		if !sq.Correlated {
			r.subqueries[sq.ID] = res
		}
	}
	switch sq.Mode {
	case planner.SubExists:
		return types.NewBool(len(res.vals) > 0), nil
	case planner.SubScalar:
		if len(res.vals) == 0 {
			return types.Null, nil
		}
		return res.vals[0], nil
	}
	// IN / ANY / ALL with three-valued logic.
	test, err := r.eval(sq.Test, en)
	if err != nil {
		return types.Null, err
	}
	if sq.Mode == planner.SubAny && sq.Op == planner.OpEq && !sq.Correlated && len(res.vals) > 8 {
		if v, ok := res.inSet(test); ok {
			return v, nil
		}
	}
	all := sq.Mode == planner.SubAll
	sawNull := false
	for _, v := range res.vals {
		if test.IsNull() || v.IsNull() {
			sawNull = true
			continue
		}
		hit := compareOp(sq.Op, types.Compare(test, v))
		if hit && !all {
			return types.NewBool(true), nil
		}
		if !hit && all {
			return types.NewBool(false), nil
		}
	}
	if sawNull {
		return types.Null, nil
	}
	return types.NewBool(all), nil
}

// Settings gives current_setting() and set_config() a session's settings.
type Settings interface {
	Setting(name string) (string, bool)
	SetSetting(name, value string) error
}

type settingsKey struct{}

// WithSettings returns a context under which statements read and change
// the session's settings through set.
func WithSettings(ctx context.Context, set Settings) context.Context {
	return context.WithValue(ctx, settingsKey{}, set)
}
