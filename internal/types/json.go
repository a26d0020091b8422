package types

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// A jsonb datum holds its normalised text: object keys sorted as
// PostgreSQL stores them (shorter keys first, then bytewise), duplicate keys
// reduced to the last one, numbers in numeric's output form, and the
// spacing of jsonb_out ({"a": 1, "b": [1, 2]}). Operators parse it back.

// JSON values after DecodeJSON: nil, bool, *apd.Decimal, string, []any,
// map[string]any.

// DecodeJSON parses JSON text into a tree.
func DecodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type json")
	}
	return convertJSON(v)
}

func convertJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		d, _, err := apd.NewFromString(string(v))
		if err != nil {
			return nil, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type json")
		}
		return NormalizeNumeric(d), nil
	case []any:
		for i := range v {
			c, err := convertJSON(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
	case map[string]any:
		for k := range v {
			c, err := convertJSON(v[k])
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
	}
	return v, nil
}

// ParseJSON parses JSON text into a jsonb datum.
func ParseJSON(s string) (Datum, error) {
	v, err := DecodeJSON(s)
	if err != nil {
		return Null, err
	}
	return NewJSONText(EncodeJSON(v)), nil
}

// JSONValue returns the tree of a jsonb datum.
func (d Datum) JSONValue() any {
	v, _ := DecodeJSON(d.s)
	return v
}

// jsonKeyLess orders object keys as jsonb does: by length, then bytes.
func jsonKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// EncodeJSON writes a tree in jsonb's output form.
func EncodeJSON(v any) string {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case *apd.Decimal:
		b.WriteString(v.Text('f'))
	case string:
		writeJSONString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return jsonKeyLess(keys[i], keys[j]) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, v[k])
		}
		b.WriteByte('}')
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// JSONTypeOf names the kind of a JSON value as jsonb_typeof does.
func JSONTypeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case *apd.Decimal:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// jsonRank orders the kinds as jsonb's btree does.
func jsonRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case string:
		return 1
	case *apd.Decimal:
		return 2
	case bool:
		return 3
	case []any:
		return 4
	}
	return 5
}

func compareJSON(a, b string) int {
	if a == b {
		return 0
	}
	av, _ := DecodeJSON(a)
	bv, _ := DecodeJSON(b)
	// PostgreSQL stores a top-level scalar as a one-element array and
	// compares element counts last, so an empty top-level array sorts
	// before every scalar.
	if emptyArray(av) && jsonRank(bv) < 4 {
		return -1
	}
	if emptyArray(bv) && jsonRank(av) < 4 {
		return 1
	}
	return compareJSONValues(av, bv)
}

func emptyArray(v any) bool {
	a, ok := v.([]any)
	return ok && len(a) == 0
}

func compareJSONValues(a, b any) int {
	if ra, rb := jsonRank(a), jsonRank(b); ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch a := a.(type) {
	case string:
		return strings.Compare(a, b.(string))
	case *apd.Decimal:
		return a.Cmp(b.(*apd.Decimal))
	case bool:
		bb := b.(bool)
		switch {
		case a == bb:
			return 0
		case !a:
			return -1
		}
		return 1
	case []any:
		bb := b.([]any)
		if len(a) != len(bb) {
			return cmp.Compare(len(a), len(bb))
		}
		for i := range a {
			if c := compareJSONValues(a[i], bb[i]); c != 0 {
				return c
			}
		}
		return 0
	case map[string]any:
		bb := b.(map[string]any)
		if len(a) != len(bb) {
			return cmp.Compare(len(a), len(bb))
		}
		ak, bk := sortedKeys(a), sortedKeys(bb)
		for i := range ak {
			if ak[i] != bk[i] { // keys are visited in storage order but compared as strings
				return strings.Compare(ak[i], bk[i])
			}
			if c := compareJSONValues(a[ak[i]], bb[bk[i]]); c != 0 {
				return c
			}
		}
	}
	return 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return jsonKeyLess(keys[i], keys[j]) })
	return keys
}

// JSONContains is jsonb's @>: whether a contains b.
func JSONContains(a, b any) bool {
	switch bv := b.(type) {
	case map[string]any:
		av, ok := a.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range bv {
			x, ok := av[k]
			if !ok || !JSONContains(x, v) {
				return false
			}
		}
		return true
	case []any:
		av, ok := a.([]any)
		if !ok {
			return false
		}
		for _, v := range bv {
			found := false
			for _, x := range av {
				if JSONContains(x, v) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if av, ok := a.([]any); ok { // an array contains a scalar it has as an element
		for _, x := range av {
			if jsonRank(x) == jsonRank(b) && compareJSONValues(x, b) == 0 {
				return true
			}
		}
		return false
	}
	return jsonRank(a) == jsonRank(b) && compareJSONValues(a, b) == 0
}

// castJSONScalar is jsonb::numeric, ::integer, ::real, ::boolean ...: the
// jsonb must hold a number (a boolean for ::boolean).
func castJSONScalar(d Datum, t T) (Datum, error) {
	v := d.JSONValue()
	switch t.Family {
	case IntFamily, FloatFamily, DecimalFamily:
		if n, ok := v.(*apd.Decimal); ok {
			return Cast(NewDecimal(n), t)
		}
	case BoolFamily:
		if b, ok := v.(bool); ok {
			return NewBool(b), nil
		}
	default:
		return Null, pgerr.New("42846", "cannot cast type jsonb to %s", t)
	}
	kind := JSONTypeOf(v)
	if kind == "number" {
		kind = "numeric"
	}
	return Null, pgerr.New(pgerr.InvalidParameterValue, "cannot cast jsonb %s to type %s", kind, t)
}
