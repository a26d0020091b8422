package types

import (
	"strings"

	"github.com/shardsql/shardsql/internal/pgerr"
)

func malformedArray(s, detail string) error {
	return pgerr.New(pgerr.InvalidTextRep, "malformed array literal: \"%s\"", s).WithDetail("%s", detail)
}

// ParseArray reads a one-dimensional array literal such as {1,2,NULL} or
// {"a b","c\"d"} with elements of type elem.
func ParseArray(elem T, s string) (Datum, error) {
	in := strings.TrimSpace(s)
	if len(in) < 2 || in[0] != '{' {
		return Null, malformedArray(s, `Array value must start with "{" or dimension information.`)
	}
	if in[len(in)-1] != '}' {
		return Null, malformedArray(s, "Junk after closing right brace.")
	}
	body := in[1 : len(in)-1]
	var elems []Datum
	if strings.TrimSpace(body) == "" {
		return NewArray(elems), nil
	}
	i := 0
	for {
		for i < len(body) && isArraySpace(body[i]) {
			i++
		}
		var item strings.Builder
		quoted := false
		if i < len(body) && body[i] == '{' {
			return Null, pgerr.New(pgerr.FeatureNotSupported, "multidimensional arrays are not supported")
		}
		if i < len(body) && body[i] == '"' {
			quoted = true
			i++
			for {
				if i >= len(body) {
					return Null, malformedArray(s, "Unexpected end of input.")
				}
				c := body[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' && i+1 < len(body) {
					i++
					c = body[i]
				}
				item.WriteByte(c)
				i++
			}
			for i < len(body) && isArraySpace(body[i]) {
				i++
			}
		} else {
			for i < len(body) && body[i] != ',' {
				c := body[i]
				if c == '"' || c == '{' || c == '}' {
					return Null, malformedArray(s, "Unexpected array element.")
				}
				if c == '\\' && i+1 < len(body) {
					i++
					c = body[i]
				}
				item.WriteByte(c)
				i++
			}
		}
		if i < len(body) && body[i] != ',' {
			return Null, malformedArray(s, "Unexpected array element.")
		}
		text := item.String()
		if !quoted {
			text = strings.TrimRight(text, " \t\n\r\v\f")
			if text == "" {
				return Null, malformedArray(s, "Unexpected \",\" character.")
			}
		}
		if !quoted && strings.EqualFold(text, "null") {
			elems = append(elems, Null)
		} else {
			d, err := ParseDatum(elem, text)
			if err != nil {
				return Null, err
			}
			elems = append(elems, d)
		}
		if i >= len(body) {
			break
		}
		if body[i] != ',' {
			return Null, malformedArray(s, "Unexpected array element.")
		}
		i++
	}
	return NewArray(elems), nil
}

func isArraySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// formatArray writes array_out's form: {1,2,NULL,"a b"}.
func formatArray(elems []Datum) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		if e.IsNull() {
			b.WriteString("NULL")
			continue
		}
		t := e.Text()
		if needsQuotes(t) {
			b.WriteByte('"')
			for j := 0; j < len(t); j++ {
				if t[j] == '"' || t[j] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(t[j])
			}
			b.WriteByte('"')
		} else {
			b.WriteString(t)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func needsQuotes(t string) bool {
	if t == "" || strings.EqualFold(t, "null") {
		return true
	}
	for j := 0; j < len(t); j++ {
		switch t[j] {
		case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
	}
	return false
}
