package exec

import (
	"crypto/rand"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// Evaluation of the date/time, interval, jsonb and array operators and
// functions the planner types in planner/types_expr.go.

func isTime(f types.Family) bool {
	return f == types.TimestampFamily || f == types.TimestampTZFamily
}

func timeDatum(t types.T, us int64) types.Datum {
	if t.Family == types.TimestampTZFamily {
		return types.NewTimestampTZ(us)
	}
	return types.NewTimestamp(us)
}

// extArith evaluates a binary operator on the newer types; ok is false
// when the operator is an ordinary numeric one.
func extArith(op planner.BinOp, l, r types.Datum, t types.T) (types.Datum, bool, error) {
	lf, rf := l.Family(), r.Family()
	iv := types.IntervalFamily
	if (lf == types.ArrayFamily || rf == types.ArrayFamily) && lf != types.JSONFamily {
		return arrayArith(op, l, r)
	}
	if op == planner.OpSub && lf == types.JSONFamily {
		d, err := jsonDelete(l.JSONValue(), r)
		return d, true, err
	}
	if op == planner.OpConcat && lf == types.JSONFamily {
		return types.NewJSONText(types.EncodeJSON(jsonConcat(l.JSONValue(), r.JSONValue()))), true, nil
	}
	switch op {
	case "->", "->>":
		d, err := jsonGet(l, r, op == "->>")
		return d, true, err
	case "#>", "#>>":
		var path []string
		for _, e := range r.Elems() {
			if e.IsNull() {
				return types.Null, true, nil
			}
			path = append(path, e.Str())
		}
		return jsonPath(l.JSONValue(), path, op == "#>>"), true, nil
	case "?|", "?&":
		keys := jsonKeys(l.JSONValue())
		anyOf := op == "?|"
		for _, e := range r.Elems() {
			if e.IsNull() {
				continue
			}
			_, has := keys[e.Str()]
			if has && anyOf {
				return types.NewBool(true), true, nil
			}
			if !has && !anyOf {
				return types.NewBool(false), true, nil
			}
		}
		return types.NewBool(!anyOf), true, nil
	case "@>", "<@":
		a, b := l.JSONValue(), r.JSONValue()
		if op == "<@" {
			a, b = b, a
		}
		return types.NewBool(types.JSONContains(a, b)), true, nil
	case "?":
		switch v := l.JSONValue().(type) {
		case map[string]any:
			_, ok := v[r.Str()]
			return types.NewBool(ok), true, nil
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok && s == r.Str() {
					return types.NewBool(true), true, nil
				}
			}
		case string:
			return types.NewBool(v == r.Str()), true, nil
		}
		return types.NewBool(false), true, nil
	}
	if lf != iv && rf != iv && !isTime(lf) && !isTime(rf) && lf != types.DateFamily && rf != types.DateFamily {
		return types.Null, false, nil
	}
	addSpan := func(us int64, v types.Span, t types.T) (types.Datum, bool, error) {
		r, err := types.AddSpanToTimestamp(us, v)
		return timeDatum(t, r), true, err
	}
	switch op {
	case planner.OpAdd, planner.OpSub:
		neg := op == planner.OpSub
		switch {
		case lf == iv && rf == iv:
			b := r.Interval()
			if neg {
				b = types.NegSpan(b)
			}
			v, err := types.AddSpans(l.Interval(), b)
			return types.NewInterval(v), true, err
		case isTime(lf) && rf == iv:
			b := r.Interval()
			if neg {
				b = types.NegSpan(b)
			}
			return addSpan(l.Int(), b, t)
		case lf == types.DateFamily && rf == iv:
			b := r.Interval()
			if neg {
				b = types.NegSpan(b)
			}
			return addSpan(types.DateToMicros(l.Int()), b, t)
		case lf == types.DateFamily && rf == types.IntFamily:
			n := r.Int()
			if neg {
				n = -n
			}
			if types.IsInfinite(l.Int()) {
				return l, true, nil
			}
			d := l.Int() + n
			if d < -2451545 || d > 2147483647-2451545 {
				return types.Null, true, pgerr.New(pgerr.DatetimeFieldOverflow, "date out of range")
			}
			return types.NewDate(d), true, nil
		case lf == types.DateFamily && rf == types.DateFamily && neg:
			if types.IsInfinite(l.Int()) || types.IsInfinite(r.Int()) {
				return types.Null, true, pgerr.New(pgerr.DatetimeFieldOverflow, "cannot subtract infinite dates")
			}
			return types.NewInt(l.Int() - r.Int()), true, nil
		case isTime(lf) && isTime(rf) && neg:
			v, err := types.SubTimestamps(l.Int(), r.Int())
			return types.NewInterval(v), true, err
		}
	case planner.OpMul, planner.OpDiv:
		if lf == iv {
			if op == planner.OpDiv {
				v, err := types.DivSpan(l.Interval(), r.AsFloat())
				return types.NewInterval(v), true, err
			}
			v, err := types.MulSpan(l.Interval(), r.AsFloat())
			return types.NewInterval(v), true, err
		}
	}
	return types.Null, true, pgerr.New(pgerr.UndefinedFunction, "operator does not exist: %s %s %s", l.TypeName(), op, r.TypeName())
}

// jsonGet is jsonb -> key / index (and ->> as text).
func jsonGet(l, r types.Datum, asText bool) (types.Datum, error) {
	var v any
	found := false
	switch x := l.JSONValue().(type) {
	case map[string]any:
		if r.Family() == types.StringFamily {
			v, found = x[r.Str()]
		}
	default:
		// PostgreSQL stores a top-level scalar as a one-element array, so
		// scalar -> 0 (and -> -1) is the scalar itself.
		if r.Family() == types.IntFamily && (r.Int() == 0 || r.Int() == -1) {
			v, found = x, true
		}
	case []any:
		if r.Family() == types.IntFamily {
			i := r.Int()
			if i < 0 {
				i += int64(len(x))
			}
			if i >= 0 && i < int64(len(x)) {
				v, found = x[i], true
			}
		}
	}
	if !found {
		return types.Null, nil
	}
	if asText {
		switch s := v.(type) {
		case nil:
			return types.Null, nil
		case string:
			return types.NewString(s), nil
		}
		return types.NewString(types.EncodeJSON(v)), nil
	}
	return types.NewJSONText(types.EncodeJSON(v)), nil
}

// evalTypeFunc evaluates the functions of planner/types_expr.go; ok is
// false for other functions.
func evalTypeFunc(f *planner.Func, args []types.Datum) (types.Datum, bool, error) {
	if strings.HasPrefix(f.Name, "any ") || strings.HasPrefix(f.Name, "all ") {
		d, err := anyAll(f.Name, args[0], args[1])
		return d, true, err
	}
	switch f.Name {
	case "array_cat", "array_append", "array_prepend":
		l, r := args[0], args[1]
		var out []types.Datum
		if f.Name == "array_prepend" {
			out = append(out, l)
		} else {
			out = append(out, l.Elems()...)
		}
		if f.Name == "array_append" {
			out = append(out, r)
		} else {
			out = append(out, r.Elems()...)
		}
		if f.Name == "array_cat" && l.IsNull() && r.IsNull() {
			return types.Null, true, nil
		}
		return types.NewArray(out), true, nil
	case "jsonb_build_object", "jsonb_build_array":
		return jsonBuild(f.Name, args)
	case "cast_truncating":
		d, err := types.CastTruncating(args[0], f.T)
		return d, true, err
	case "now":
		return types.NewTimestampTZ(time.Now().UnixMicro()), true, nil
	case "current_date_ts":
		return timeDatum(f.T, time.Now().UTC().Truncate(24*time.Hour).UnixMicro()), true, nil
	case "array":
		return types.NewArray(args), true, nil
	case "gen_random_uuid":
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		return types.NewUUID(u), true, nil
	case "array_to_string":
		if args[0].IsNull() || args[1].IsNull() {
			return types.Null, true, nil
		}
		var parts []string
		for _, e := range args[0].Elems() {
			switch {
			case !e.IsNull():
				parts = append(parts, e.Text())
			case len(args) == 3 && !args[2].IsNull():
				parts = append(parts, args[2].Str())
			}
		}
		return types.NewString(strings.Join(parts, args[1].Str())), true, nil
	case "array_position":
		if args[0].IsNull() {
			return types.Null, true, nil
		}
		for i, e := range args[0].Elems() {
			if (e.IsNull() && args[1].IsNull()) || (!e.IsNull() && !args[1].IsNull() && types.Compare(e, args[1]) == 0) {
				return types.NewInt(int64(i + 1)), true, nil
			}
		}
		return types.Null, true, nil
	case "date_trunc", "extract", "date_part", "age", "justify_hours", "justify_days", "justify_interval",
		"jsonb_typeof", "jsonb_array_length", "jsonb_pretty", "to_jsonb", "array_length", "array_lower", "array_upper",
		"cardinality", "array_subscript", "bytea_length", "jsonb_extract_path", "jsonb_extract_path_text", "jsonb_strip_nulls", "timezone", "to_timestamp", "make_date", "make_timestamp", "make_timestamptz":
	default:
		return types.Null, false, nil
	}
	for _, a := range args {
		if a.IsNull() {
			return types.Null, true, nil
		}
	}
	d, err := strictTypeFunc(f, args)
	return d, true, err
}

func strictTypeFunc(f *planner.Func, args []types.Datum) (types.Datum, error) {
	a := args[0]
	switch f.Name {
	case "date_trunc":
		x := args[1]
		if x.Family() == types.IntervalFamily {
			v, err := types.TruncSpan(a.Str(), x.Interval())
			return types.NewInterval(v), err
		}
		us, err := types.TruncTimestamp(a.Str(), x.Int(), f.T)
		return timeDatum(f.T, us), err
	case "extract", "date_part":
		x := args[1]
		var d types.Datum
		var err error
		switch x.Family() {
		case types.IntervalFamily:
			d, err = types.ExtractSpan(a.Str(), x.Interval())
		case types.DateFamily:
			d, err = types.ExtractTimestamp(a.Str(), types.DateToMicros(x.Int()), types.Date)
		case types.TimestampTZFamily:
			d, err = types.ExtractTimestamp(a.Str(), x.Int(), types.TimestampTZ)
		default:
			d, err = types.ExtractTimestamp(a.Str(), x.Int(), types.Timestamp)
		}
		if err != nil || f.Name == "extract" || d.IsNull() {
			return d, err
		}
		v, _ := d.Decimal().Float64()
		if d.Decimal().Form == apd.Infinite {
			v = math.Inf(1)
			if d.Decimal().Negative {
				v = math.Inf(-1)
			}
		}
		return types.NewFloat(v), nil
	case "age":
		if types.IsInfinite(a.Int()) || types.IsInfinite(args[1].Int()) {
			return types.Null, pgerr.New(pgerr.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
		}
		return types.NewInterval(age(a.Int(), args[1].Int())), nil
	case "justify_hours":
		return types.NewInterval(types.JustifyHours(a.Interval())), nil
	case "justify_days":
		return types.NewInterval(justifyDays(a.Interval())), nil
	case "justify_interval":
		return types.NewInterval(justifyInterval(a.Interval())), nil
	case "jsonb_typeof":
		return types.NewString(types.JSONTypeOf(a.JSONValue())), nil
	case "jsonb_pretty":
		return types.NewString(a.Text()), nil
	case "jsonb_array_length":
		arr, ok := a.JSONValue().([]any)
		if !ok {
			return types.Null, pgerr.New(pgerr.InvalidParameterValue, "cannot get array length of a non-array")
		}
		return types.NewInt(int64(len(arr))), nil
	case "to_jsonb":
		return toJSONB(a)
	case "array_length", "array_upper", "array_lower":
		n := len(a.Elems())
		if args[1].Int() != 1 || n == 0 {
			return types.Null, nil
		}
		if f.Name == "array_lower" {
			return types.NewInt(1), nil
		}
		return types.NewInt(int64(n)), nil
	case "timezone":
		loc, err := types.LoadZone(a.Str())
		if err != nil {
			return types.Null, err
		}
		if types.IsInfinite(args[1].Int()) {
			if args[1].Family() == types.TimestampTZFamily {
				return types.NewTimestamp(args[1].Int()), nil
			}
			return types.NewTimestampTZ(args[1].Int()), nil
		}
		if args[1].Family() == types.TimestampTZFamily {
			return types.NewTimestamp(types.InstantToWall(args[1].Int(), loc)), nil
		}
		return types.NewTimestampTZ(types.WallToInstant(args[1].Int(), loc)), nil
	case "to_timestamp":
		f := a.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 9e12 {
			return types.Null, pgerr.New(pgerr.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", a.Text())
		}
		return types.NewTimestampTZ(int64(math.RoundToEven(f * 1e6))), nil
	case "make_date", "make_timestamp", "make_timestamptz":
		var h, mi int64
		var sec float64
		if len(args) == 6 {
			h, mi, sec = args[3].Int(), args[4].Int(), args[5].AsFloat()
		}
		us, err := types.MakeTimestamp(a.Int(), args[1].Int(), args[2].Int(), h, mi, sec, f.Name == "make_date")
		if err != nil {
			return types.Null, err
		}
		switch f.Name {
		case "make_date":
			return types.NewDate(us / types.MicrosPerDay), nil
		case "make_timestamptz":
			return types.NewTimestampTZ(us), nil
		}
		return types.NewTimestamp(us), nil
	case "jsonb_extract_path", "jsonb_extract_path_text":
		var path []string
		for _, p := range args[1:] {
			path = append(path, p.Str())
		}
		return jsonPath(a.JSONValue(), path, f.Name == "jsonb_extract_path_text"), nil
	case "jsonb_strip_nulls":
		return types.NewJSONText(types.EncodeJSON(stripNulls(a.JSONValue()))), nil
	case "bytea_length":
		return types.NewInt(int64(len(a.Str()))), nil
	case "cardinality":
		return types.NewInt(int64(len(a.Elems()))), nil
	case "array_subscript":
		i := args[1].Int()
		elems := a.Elems()
		if i < 1 || i > int64(len(elems)) {
			return types.Null, nil
		}
		return elems[i-1], nil
	}
	return types.Null, pgerr.New(pgerr.UndefinedFunction, "function %s does not exist", f.Name)
}

// anyAll is x op ANY (array) / x op ALL (array) with three-valued logic.
func anyAll(name string, x, arr types.Datum) (types.Datum, error) {
	if arr.IsNull() {
		return types.Null, nil
	}
	all := strings.HasPrefix(name, "all ")
	op := planner.BinOp(name[4:])
	sawNull := false
	for _, e := range arr.Elems() {
		if x.IsNull() || e.IsNull() {
			sawNull = true
			continue
		}
		hit := compareOp(op, types.Compare(x, e))
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

func justifyDays(v types.Span) types.Span {
	whole := v.Days / 30
	v.Days -= whole * 30
	v.Months += whole
	switch {
	case v.Months > 0 && v.Days < 0:
		v.Days += 30
		v.Months--
	case v.Months < 0 && v.Days > 0:
		v.Days -= 30
		v.Months++
	}
	return v
}

// justifyInterval is justify_interval: whole days out of the time, whole
// months out of the days, then every field given the same sign.
func justifyInterval(v types.Span) types.Span {
	whole := v.Micros / types.MicrosPerDay
	v.Micros -= whole * types.MicrosPerDay
	v.Days += int32(whole)
	wm := v.Days / 30
	v.Days -= wm * 30
	v.Months += wm
	switch {
	case v.Months > 0 && (v.Days < 0 || (v.Days == 0 && v.Micros < 0)):
		v.Days += 30
		v.Months--
	case v.Months < 0 && (v.Days > 0 || (v.Days == 0 && v.Micros > 0)):
		v.Days -= 30
		v.Months++
	}
	switch {
	case v.Days > 0 && v.Micros < 0:
		v.Micros += types.MicrosPerDay
		v.Days--
	case v.Days < 0 && v.Micros > 0:
		v.Micros -= types.MicrosPerDay
		v.Days++
	}
	return v
}

// age is PostgreSQL's age(a, b): a - b in years, months and days, borrowing
// from the calendar rather than from 30-day months.
func age(a, b int64) types.Span {
	neg := a < b
	if neg {
		a, b = b, a
	}
	ta, tb := time.UnixMicro(a).UTC(), time.UnixMicro(b).UTC()
	ya, ma, da := ta.Date()
	yb, mb, db := tb.Date()
	years, months, days := ya-yb, int(ma)-int(mb), da-db
	tod := (a - floorDivMicros(a)) - (b - floorDivMicros(b))
	if tod < 0 {
		tod += types.MicrosPerDay
		days--
	}
	if days < 0 {
		// borrow the length of the earlier timestamp's month, as PostgreSQL does
		days += time.Date(yb, mb+1, 0, 0, 0, 0, 0, time.UTC).Day()
		months--
	}
	if months < 0 {
		months += 12
		years--
	}
	v := types.Span{Months: int32(years*12 + months), Days: int32(days), Micros: tod}
	if neg {
		v = types.NegSpan(v)
	}
	return v
}

func floorDivMicros(us int64) int64 {
	q := us / types.MicrosPerDay
	if us%types.MicrosPerDay != 0 && us < 0 {
		q--
	}
	return q * types.MicrosPerDay
}

// toJSONB converts a SQL value to jsonb.
func toJSONB(d types.Datum) (types.Datum, error) {
	var v any
	switch d.Family() {
	case types.JSONFamily:
		return d, nil
	case types.BoolFamily:
		v = d.Bool()
	case types.IntFamily, types.DecimalFamily:
		v = d.AsDecimal()
	case types.FloatFamily:
		if math.IsNaN(d.Float()) || math.IsInf(d.Float(), 0) {
			v = d.Text()
		} else {
			dec, _, err := apd.NewFromString(d.Text())
			if err != nil {
				return types.Null, err
			}
			v = dec
		}
	case types.StringFamily:
		v = d.Str()
	case types.TimestampFamily, types.TimestampTZFamily, types.DateFamily:
		s := d.Text()
		if d.Family() != types.DateFamily {
			s = strings.Replace(s, " ", "T", 1)
			if d.Family() == types.TimestampTZFamily {
				s += ":00"
			}
		}
		v = s
	case types.ArrayFamily:
		var out []any
		for _, e := range d.Elems() {
			if e.IsNull() {
				out = append(out, nil)
				continue
			}
			j, err := toJSONB(e)
			if err != nil {
				return types.Null, err
			}
			out = append(out, j.JSONValue())
		}
		if out == nil {
			out = []any{}
		}
		v = out
	default:
		v = d.Text()
	}
	return types.NewJSONText(types.EncodeJSON(v)), nil
}

// arrayArith is array || array / element, and @>, <@, && between arrays.
func arrayArith(op planner.BinOp, l, r types.Datum) (types.Datum, bool, error) {
	elems := func(d types.Datum) []types.Datum {
		if d.Family() == types.ArrayFamily {
			return d.Elems()
		}
		return []types.Datum{d}
	}
	has := func(arr []types.Datum, x types.Datum) bool {
		for _, e := range arr {
			if !e.IsNull() && types.Compare(e, x) == 0 {
				return true
			}
		}
		return false
	}
	switch op {
	case planner.OpConcat:
		out := append(append([]types.Datum{}, elems(l)...), elems(r)...)
		return types.NewArray(out), true, nil
	case "@>", "<@":
		a, b := l.Elems(), r.Elems()
		if op == "<@" {
			a, b = b, a
		}
		for _, x := range b {
			if x.IsNull() || !has(a, x) {
				return types.NewBool(false), true, nil
			}
		}
		return types.NewBool(true), true, nil
	case "&&":
		for _, x := range r.Elems() {
			if !x.IsNull() && has(l.Elems(), x) {
				return types.NewBool(true), true, nil
			}
		}
		return types.NewBool(false), true, nil
	}
	return types.Null, true, pgerr.New(pgerr.UndefinedFunction, "operator does not exist: %s", op)
}

// jsonConcat is jsonb || jsonb: objects merge (the right side wins), and
// otherwise both sides become arrays that are concatenated.
func jsonConcat(a, b any) any {
	ao, aok := a.(map[string]any)
	bo, bok := b.(map[string]any)
	if aok && bok {
		out := map[string]any{}
		for k, v := range ao {
			out[k] = v
		}
		for k, v := range bo {
			out[k] = v
		}
		return out
	}
	asArr := func(v any) []any {
		if arr, ok := v.([]any); ok {
			return arr
		}
		return []any{v}
	}
	return append(append([]any{}, asArr(a)...), asArr(b)...)
}

// jsonPath follows a path of keys and array indexes (#>, #>>).
func jsonPath(v any, path []string, asText bool) types.Datum {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return types.Null
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil {
				return types.Null
			}
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				return types.Null
			}
			v = x[i]
		default:
			return types.Null
		}
	}
	if asText {
		switch s := v.(type) {
		case nil:
			return types.Null
		case string:
			return types.NewString(s)
		}
		return types.NewString(types.EncodeJSON(v))
	}
	return types.NewJSONText(types.EncodeJSON(v))
}

// jsonKeys is the set ?| and ?& test: an object's keys, or an array's
// string elements.
func jsonKeys(v any) map[string]bool {
	out := map[string]bool{}
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			out[k] = true
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out[s] = true
			}
		}
	case string:
		out[x] = true
	}
	return out
}

// jsonDelete is jsonb - key, jsonb - index and jsonb - text[].
func jsonDelete(v any, r types.Datum) (types.Datum, error) {
	drop := map[string]bool{}
	switch r.Family() {
	case types.IntFamily:
		arr, ok := v.([]any)
		if !ok {
			if _, isObj := v.(map[string]any); isObj {
				return types.Null, pgerr.New(pgerr.InvalidParameterValue, "cannot delete from object using integer index")
			}
			return types.Null, pgerr.New(pgerr.InvalidParameterValue, "cannot delete from scalar")
		}
		i := int(r.Int())
		if i < 0 {
			i += len(arr)
		}
		if i >= 0 && i < len(arr) {
			arr = append(append([]any{}, arr[:i]...), arr[i+1:]...)
		}
		return types.NewJSONText(types.EncodeJSON(arr)), nil
	case types.ArrayFamily:
		for _, e := range r.Elems() {
			if !e.IsNull() {
				drop[e.Str()] = true
			}
		}
	default:
		drop[r.Str()] = true
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !drop[k] {
				out[k] = e
			}
		}
		return types.NewJSONText(types.EncodeJSON(out)), nil
	case []any:
		out := []any{}
		for _, e := range x {
			if s, ok := e.(string); !ok || !drop[s] {
				out = append(out, e)
			}
		}
		return types.NewJSONText(types.EncodeJSON(out)), nil
	}
	return types.Null, pgerr.New(pgerr.InvalidParameterValue, "cannot delete from scalar")
}

func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e != nil {
				out[k] = stripNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripNulls(e)
		}
		return out
	}
	return v
}

// jsonBuild is jsonb_build_object and jsonb_build_array.
func jsonBuild(name string, args []types.Datum) (types.Datum, bool, error) {
	vals := make([]any, len(args))
	for i, a := range args {
		if a.IsNull() {
			continue
		}
		j, err := toJSONB(a)
		if err != nil {
			return types.Null, true, err
		}
		vals[i] = j.JSONValue()
	}
	if name == "jsonb_build_array" {
		return types.NewJSONText(types.EncodeJSON(vals)), true, nil
	}
	obj := map[string]any{}
	for i := 0; i < len(args); i += 2 {
		if args[i].IsNull() {
			return types.Null, true, pgerr.New(pgerr.InvalidParameterValue, "argument %d: key must not be null", i+1)
		}
		k := args[i].Text()
		if args[i].Family() == types.StringFamily {
			k = args[i].TrimmedStr()
		}
		obj[k] = vals[i+1]
	}
	return types.NewJSONText(types.EncodeJSON(obj)), true, nil
}
