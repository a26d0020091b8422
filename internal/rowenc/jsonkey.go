package rowenc

import (
	"fmt"
	"sort"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/types"
)

// A jsonb key column is an order part that sorts as PostgreSQL's jsonb
// btree does, then the normalised text, from which the value decodes. The
// order part is, per value, a kind rank (an empty top-level array first,
// then null, string, number, boolean, array, object), then for a string
// its bytes, a number its decimal encoding, a boolean itself, an array its
// element count and elements, an object its pair count and its keys
// (compared as strings, visited in storage order) and values. Equal-ranking
// values that print differently (1.0 and 1) stay different keys.

const (
	jsonRankEmptyTop = iota
	jsonRankNull
	jsonRankString
	jsonRankNumber
	jsonRankBool
	jsonRankArray
	jsonRankObject
)

type keyEnc struct{ desc bool }

func (e keyEnc) int(b []byte, v int64) []byte {
	if e.desc {
		return keys.EncodeIntDescending(b, v)
	}
	return keys.EncodeIntAscending(b, v)
}

func (e keyEnc) str(b []byte, s string) []byte {
	if e.desc {
		return keys.EncodeStringDescending(b, s)
	}
	return keys.EncodeStringAscending(b, s)
}

func (e keyEnc) json(b []byte, v any, top bool) []byte {
	switch x := v.(type) {
	case nil:
		return e.int(b, jsonRankNull)
	case string:
		return e.str(e.int(b, jsonRankString), x)
	case *apd.Decimal:
		b = e.int(b, jsonRankNumber)
		neg, digits, exp, nan := decimalParts(x)
		if e.desc {
			return keys.EncodeDecimalDescending(b, neg, digits, exp, nan)
		}
		return keys.EncodeDecimalAscending(b, neg, digits, exp, nan)
	case bool:
		b = e.int(b, jsonRankBool)
		if e.desc {
			return keys.EncodeBoolDescending(b, x)
		}
		return keys.EncodeBoolAscending(b, x)
	case []any:
		if top && len(x) == 0 {
			return e.int(b, jsonRankEmptyTop)
		}
		b = e.int(e.int(b, jsonRankArray), int64(len(x)))
		for _, el := range x {
			b = e.json(b, el, false)
		}
		return b
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool {
			if len(ks[i]) != len(ks[j]) {
				return len(ks[i]) < len(ks[j])
			}
			return ks[i] < ks[j]
		})
		b = e.int(e.int(b, jsonRankObject), int64(len(x)))
		for _, k := range ks {
			b = e.json(e.str(b, k), x[k], false)
		}
		return b
	}
	panic(fmt.Sprintf("rowenc: unexpected JSON value %T", v))
}

func encodeJSONKey(b []byte, d types.Datum, desc bool) []byte {
	e := keyEnc{desc: desc}
	b = e.json(b, d.JSONValue(), true)
	return e.str(b, d.Str())
}

type keyDec struct{ desc bool }

func (k keyDec) int(b []byte) (int64, []byte, error) {
	if k.desc {
		return keys.DecodeIntDescending(b)
	}
	return keys.DecodeIntAscending(b)
}

func (k keyDec) str(b []byte) (string, []byte, error) {
	if k.desc {
		return keys.DecodeStringDescending(b)
	}
	return keys.DecodeStringAscending(b)
}

// skip passes over one value of the order part.
func (k keyDec) skip(b []byte) ([]byte, error) {
	rank, b, err := k.int(b)
	if err != nil {
		return nil, err
	}
	switch rank {
	case jsonRankEmptyTop, jsonRankNull:
		return b, nil
	case jsonRankString:
		_, b, err = k.str(b)
		return b, err
	case jsonRankNumber:
		dec := keys.DecodeDecimalAscending
		if k.desc {
			dec = keys.DecodeDecimalDescending
		}
		_, _, _, _, b, err = dec(b)
		return b, err
	case jsonRankBool:
		dec := keys.DecodeBoolAscending
		if k.desc {
			dec = keys.DecodeBoolDescending
		}
		_, b, err = dec(b)
		return b, err
	case jsonRankArray, jsonRankObject:
		n, rest, err := k.int(b)
		if err != nil {
			return nil, err
		}
		if n < 0 || n > int64(len(rest)) {
			return nil, fmt.Errorf("jsonb key: bad count %d: %w", n, keys.ErrCorrupt)
		}
		b = rest
		for i := int64(0); i < n; i++ {
			if rank == jsonRankObject {
				if _, b, err = k.str(b); err != nil {
					return nil, err
				}
			}
			if b, err = k.skip(b); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("jsonb key: unknown kind %d: %w", rank, keys.ErrCorrupt)
}

func decodeJSONKey(b []byte, desc bool) (types.Datum, []byte, error) {
	k := keyDec{desc: desc}
	rest, err := k.skip(b)
	if err != nil {
		return types.Null, nil, err
	}
	s, rest, err := k.str(rest)
	if err != nil {
		return types.Null, nil, err
	}
	return types.NewJSONText(s), rest, nil
}
