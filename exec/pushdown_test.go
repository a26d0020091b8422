package exec

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// pdTable is t(k int primary key, g int, v text, f float8, n numeric).
func pdTable() *planner.Table {
	return &planner.Table{ID: 42, Name: "t", Columns: []planner.Column{
		{ID: 1, Name: "k", Type: types.Int4},
		{ID: 2, Name: "g", Type: types.Int4, Nullable: true},
		{ID: 3, Name: "v", Type: types.Text, Nullable: true},
		{ID: 4, Name: "f", Type: types.Float8, Nullable: true},
		{ID: 5, Name: "n", Type: types.Numeric, Nullable: true},
	}, PK: []int{0}, PKDesc: []bool{false}}
}

func col(t *planner.Table, i int) *planner.ColRef {
	return &planner.ColRef{Ord: i, Name: t.Columns[i].Name, T: t.Columns[i].Type}
}

func intConst(v int64) *planner.Const { return &planner.Const{Val: types.NewInt(v), T: types.Int4} }

type pdRow struct {
	key, value []byte
	row        []types.Datum
}

// randomRows makes n rows with NULLs, duplicates and negative values, in
// key order.
func randomRows(t *testing.T, rng *rand.Rand, tbl *planner.Table, n int) []pdRow {
	var out []pdRow
	for k := 0; k < n; k++ {
		row := []types.Datum{types.NewInt(int64(k)), types.Null, types.Null, types.Null, types.Null}
		if rng.Intn(8) > 0 {
			row[1] = types.NewInt(int64(rng.Intn(5) - 1))
		}
		if rng.Intn(8) > 0 {
			row[2] = types.NewString(fmt.Sprintf("s%d", rng.Intn(30)))
		}
		if rng.Intn(8) > 0 {
			row[3] = types.NewFloat(float64(rng.Intn(1000)) / 8)
		}
		if rng.Intn(8) > 0 {
			d, _, _ := apd.NewFromString(fmt.Sprintf("%d.%02d", rng.Intn(2000)-1000, rng.Intn(100)))
			row[4] = types.NewDecimal(d)
		}
		key, err := rowenc.EncodeRowKey(tbl.ID, row[:1], tbl.PKDesc)
		if err != nil {
			t.Fatal(err)
		}
		ids := []uint32{2, 3, 4, 5}
		out = append(out, pdRow{key: key, value: rowenc.EncodeRowValue(nil, ids, row[1:]), row: row})
	}
	return out
}

// chunks cuts rows into random consecutive pieces (as ranges would).
func chunks(rng *rand.Rand, rows []pdRow) [][]pdRow {
	var out [][]pdRow
	for len(rows) > 0 {
		n := 1 + rng.Intn(len(rows))
		out = append(out, rows[:n])
		rows = rows[n:]
	}
	return out
}

func seeded(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewSource(seed))
}

// sendThrough encodes and decodes p, as the trip to a shard does.
func sendThrough(t *testing.T, p *Program) *Program {
	q, err := DecodeProgram(p.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestProgramEncodingRoundTrip(t *testing.T) {
	tbl := pdTable()
	// Column v was added with a default that older rows read.
	tbl.Columns[2].HasMissing, tbl.Columns[2].Missing = true, types.NewString("dflt")
	filter := &planner.And{Args: []planner.Expr{
		&planner.Binary{Op: planner.OpGt, L: &planner.Binary{Op: planner.OpMod, L: col(tbl, 0), R: intConst(3), T: types.Int4}, R: intConst(0), T: types.Bool},
		&planner.Or{Args: []planner.Expr{
			&planner.IsNull{E: col(tbl, 2), Not: true},
			&planner.Not{E: &planner.Like{E: col(tbl, 2), Pattern: &planner.Const{Val: types.NewString("s1%"), T: types.Text}, CaseInsensitive: true}},
		}},
		&planner.IsDistinct{L: &planner.Neg{E: col(tbl, 1)}, R: &planner.Const{Val: types.Null, T: types.Unknown}, Not: true},
		&planner.Binary{Op: planner.OpLt, L: &planner.Cast{E: col(tbl, 3), T: types.Numeric}, R: col(tbl, 4), T: types.Bool},
		&planner.Binary{Op: planner.OpEq, T: types.Bool,
			L: &planner.Case{T: types.Text, Operand: col(tbl, 1), Whens: []planner.When{{Cond: intConst(1), Result: &planner.Const{Val: types.NewString("one"), T: types.Text}}}},
			R: &planner.Func{Name: "lower", Args: []planner.Expr{col(tbl, 2)}, T: types.Text}},
	}}
	if !Pushable(filter) {
		t.Fatalf("filter should be pushable: %s", filter)
	}
	p := &Program{Table: tbl, Filter: filter, Needed: []bool{true, false, true, false, true}, Limit: 7,
		TopN: &TopN{N: 3, Keys: []TopNKey{{E: col(tbl, 3), Desc: true, NullsFirst: true}}},
		Agg:  &PartialAgg{Group: []planner.Expr{col(tbl, 1)}, Aggs: []*planner.AggCall{{Name: "sum", Arg: col(tbl, 4), T: types.Numeric}, {Name: "count", T: types.Int8}}}}
	q := sendThrough(t, p)
	if q.Filter.String() != p.Filter.String() {
		t.Errorf("filter:\n got %s\nwant %s", q.Filter, p.Filter)
	}
	if fmt.Sprint(q.Needed) != fmt.Sprint(p.Needed) || q.Limit != 7 || q.TopN.N != 3 || !q.TopN.Keys[0].Desc || !q.TopN.Keys[0].NullsFirst {
		t.Errorf("program fields differ: %+v", q)
	}
	if q.TopN.Keys[0].E.String() != p.TopN.Keys[0].E.String() || exprList(q.Agg.Group) != exprList(p.Agg.Group) || aggList(q.Agg.Aggs) != aggList(p.Agg.Aggs) {
		t.Errorf("top-N or aggregate differ: %+v %+v", q.TopN, q.Agg)
	}
	if c := q.Table.Columns[2]; !c.HasMissing || c.Missing.Str() != "dflt" || q.Table.Columns[1].HasMissing {
		t.Errorf("missing values differ: %+v", q.Table.Columns)
	}
	if q.Table.ID != 42 || len(q.Table.Columns) != 5 || q.Table.Columns[4].Type != types.Numeric {
		t.Errorf("table differs: %+v", q.Table)
	}
	for _, bad := range [][]byte{nil, {9}, p.Encode()[:10]} {
		if _, err := DecodeProgram(bad); err == nil {
			t.Errorf("DecodeProgram(%x) should fail", bad)
		}
	}
	// What cannot run on a shard is refused.
	for _, e := range []planner.Expr{
		&planner.Func{Name: "now", T: types.Timestamp},
		&planner.OuterRef{Depth: 1, Ord: 0, T: types.Int4},
		&planner.Subquery{Mode: planner.SubExists, T: types.Bool},
		&planner.Binary{Op: planner.OpEq, L: col(tbl, 0), R: &planner.Func{Name: "random", T: types.Float8}, T: types.Bool},
	} {
		if Pushable(e) {
			t.Errorf("%s should not be pushable", e)
		}
	}
	if PushableAgg(&planner.AggCall{Name: "count", Arg: col(tbl, 0), Distinct: true, T: types.Int8}) ||
		PushableAgg(&planner.AggCall{Name: "string_agg", Arg: col(tbl, 2), T: types.Text}) {
		t.Error("count(DISTINCT) and string_agg have no mergeable partial state here")
	}
}

// TestPartialAggregateMatchesFrontend checks that partial aggregates
// computed per random chunk and merged equal the frontend's aggregation of
// the same filtered rows.
func TestPartialAggregateMatchesFrontend(t *testing.T) {
	rng := seeded(t)
	tbl := pdTable()
	for iter := 0; iter < 30; iter++ {
		rows := randomRows(t, rng, tbl, 1+rng.Intn(300))
		filter := &planner.Binary{Op: planner.OpNe, L: &planner.Binary{Op: planner.OpMod, L: col(tbl, 0), R: intConst(int64(2 + rng.Intn(4))), T: types.Int4}, R: intConst(0), T: types.Bool}
		aggs := []*planner.AggCall{
			{Name: "count", T: types.Int8},
			{Name: "count", Arg: col(tbl, 2), T: types.Int8},
			{Name: "sum", Arg: col(tbl, 0), T: types.Int8},
			{Name: "sum", Arg: col(tbl, 4), T: types.Numeric},
			{Name: "avg", Arg: col(tbl, 0), T: types.Numeric},
			{Name: "avg", Arg: col(tbl, 4), T: types.Numeric},
			{Name: "min", Arg: col(tbl, 2), T: types.Text},
			{Name: "max", Arg: col(tbl, 4), T: types.Numeric},
			{Name: "min", Arg: col(tbl, 3), T: types.Float8},
			{Name: "bool_and", Arg: &planner.Binary{Op: planner.OpGt, L: col(tbl, 3), R: intConst(10), T: types.Bool}, T: types.Bool},
			{Name: "bool_or", Arg: &planner.Binary{Op: planner.OpGt, L: col(tbl, 1), R: intConst(2), T: types.Bool}, T: types.Bool},
		}
		var group []planner.Expr
		if rng.Intn(3) > 0 {
			group = []planner.Expr{col(tbl, 1)}
		}
		// The shards' way: one runner per chunk, partials merged.
		prog := sendThrough(t, &Program{Table: tbl, Filter: filter, Agg: &PartialAgg{Group: group, Aggs: aggs}})
		merged := newAggTable(aggs)
		for _, ch := range chunks(rng, rows) {
			pr := NewProgramRunner(context.Background(), prog)
			for _, r := range ch {
				if _, err := pr.Add(r.key, r.value); err != nil {
					t.Fatal(err)
				}
			}
			_, partials := pr.Result()
			for _, p := range partials {
				if err := merged.merge(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		a := &planner.Aggregate{Group: group, Aggs: aggs}
		var got []string
		if err := emitGroups(a, merged.order, aggs, func(row []types.Datum) error {
			got = append(got, fmt.Sprint(row))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The frontend's way over the same rows.
		vals := &planner.Values{Columns: (&planner.Scan{Table: tbl}).Cols()}
		for _, r := range rows {
			exprs := make([]planner.Expr, len(r.row))
			for i, d := range r.row {
				exprs[i] = &planner.Const{Val: d, T: tbl.Columns[i].Type}
			}
			vals.Rows = append(vals.Rows, exprs)
		}
		a.Input = &planner.Filter{Input: vals, Pred: filter}
		r := &runner{ctx: context.Background(), subqueries: map[int]*subResult{}, scans: map[string][]kvPair{}}
		var want []string
		if err := r.runAggregate(a, nil, func(row []types.Datum) error {
			want = append(want, fmt.Sprint(row))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Join(sorted(got), "\n") != strings.Join(sorted(want), "\n") {
			t.Fatalf("iteration %d: partial aggregation differs\n got %v\nwant %v", iter, got, want)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestTopNAndLimit checks top-N per chunk against a full sort, and that a
// row limit ends a request.
func TestTopNAndLimit(t *testing.T) {
	rng := seeded(t)
	tbl := pdTable()
	for iter := 0; iter < 30; iter++ {
		rows := randomRows(t, rng, tbl, 1+rng.Intn(200))
		n := 1 + rng.Intn(10)
		keys := []TopNKey{{E: col(tbl, 3), Desc: rng.Intn(2) == 0, NullsFirst: rng.Intn(2) == 0}, {E: col(tbl, 2)}}
		prog := sendThrough(t, &Program{Table: tbl, TopN: &TopN{N: n, Keys: keys}, Needed: []bool{true, false, true, true, false}})
		var all [][]types.Datum
		for _, ch := range chunks(rng, rows) {
			pr := NewProgramRunner(context.Background(), prog)
			for _, r := range ch {
				if _, err := pr.Add(r.key, r.value); err != nil {
					t.Fatal(err)
				}
			}
			out, _ := pr.Result()
			if len(out) > n {
				t.Fatalf("chunk returned %d rows, more than %d", len(out), n)
			}
			dec := newRowDecoder(tbl)
			for i, o := range out {
				if i > 0 && compareKeys(out[i-1].Key, o.Key) >= 0 {
					t.Fatalf("top-N rows not in key order")
				}
				row, err := dec.decode(o.Key, o.Value, false)
				if err != nil {
					t.Fatal(err)
				}
				if !row[1].IsNull() || !row[4].IsNull() {
					t.Fatalf("columns not asked for came back: %v", row)
				}
				all = append(all, row)
			}
		}
		sk := []planner.SortKey{{Col: 3, Desc: keys[0].Desc, NullsFirst: keys[0].NullsFirst}, {Col: 2}}
		sortRows(all, sk)
		var want [][]types.Datum
		for _, r := range rows {
			want = append(want, r.row)
		}
		sortRows(want, sk)
		for i := 0; i < n && i < len(want); i++ {
			if fmt.Sprint(all[i][3], all[i][2]) != fmt.Sprint(want[i][3], want[i][2]) {
				t.Fatalf("iteration %d: row %d of the top %d: got %v want %v", iter, i, n, all[i], want[i])
			}
		}
	}

	// A limit ends the request; a row whose filter fails comes back
	// unfiltered and ends it too.
	rows := randomRows(t, rng, tbl, 50)
	div := &planner.Binary{Op: planner.OpGt, T: types.Bool, L: &planner.Binary{Op: planner.OpDiv, T: types.Int4, L: intConst(10), R: &planner.Binary{Op: planner.OpSub, L: col(tbl, 0), R: intConst(20), T: types.Int4}}, R: intConst(-100)}
	pr := NewProgramRunner(context.Background(), sendThrough(t, &Program{Table: tbl, Filter: div, Limit: 100}))
	stopped := -1
	for i, r := range rows {
		full, err := pr.Add(r.key, r.value)
		if err != nil {
			t.Fatal(err)
		}
		if full {
			stopped = i
			break
		}
	}
	out, _ := pr.Result()
	if stopped != 20 || len(out) != 21 {
		t.Fatalf("division by zero at k=20 should end the request with that row: stopped at %d with %d rows", stopped, len(out))
	}
	pr = NewProgramRunner(context.Background(), sendThrough(t, &Program{Table: tbl, Limit: 5}))
	for i, r := range rows {
		full, _ := pr.Add(r.key, r.value)
		if full != (i == 4) {
			t.Fatalf("row %d: full=%v", i, full)
		}
		if full {
			break
		}
	}
	// An aggregate meets the error at once.
	pr = NewProgramRunner(context.Background(), sendThrough(t, &Program{Table: tbl, Filter: div, Agg: &PartialAgg{Aggs: []*planner.AggCall{{Name: "count", T: types.Int8}}}}))
	var err error
	for _, r := range rows {
		if _, err = pr.Add(r.key, r.value); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("aggregate over a failing filter: %v", err)
	}
}

// TestLikeConcurrent: LIKE patterns are compiled through a cache that
// many goroutines use at once (sessions, and the shard servers of one
// process running pushed-down filters); run with -race.
func TestLikeConcurrent(t *testing.T) {
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				re, err := likeRegexp(fmt.Sprintf("v%d_%d%%", g, i), i%2 == 0)
				if err != nil || !re.MatchString(fmt.Sprintf("v%dx%dyz", g, i)) {
					t.Errorf("pattern %d/%d: %v", g, i, err)
					return
				}
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}
