package sqltests

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// An Elle-style list-append test: transactions append unique values to
// lists (one row per list, the list a comma-separated text) and read
// whole lists, under REPEATABLE READ, from several clients over ranges on
// three shard servers. The checker derives each list's version order from
// its final value and then looks for what snapshot isolation forbids: lost
// or duplicated appends, reads that are not a prefix of the final order,
// reads of aborted or intermediate writes, and G0, G1c and G-single cycles
// among committed transactions (write skew, G2-item, is allowed).

type elleOp struct {
	key    int
	append int   // value appended, or 0 for a read
	read   []int // the list a read saw
}

type elleTxn struct {
	id  int
	ops []elleOp
}

func parseList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func TestListAppend(t *testing.T) {
	seed := txnSeed(t)
	d := startDemo(t, "--in-memory")
	admin := connect(t, d.sqlAddr)
	const keys = 9
	mustExec(t, admin, "CREATE TABLE lists (k INT PRIMARY KEY, v TEXT NOT NULL)")
	mustExec(t, admin, "ALTER TABLE lists SPLIT AT VALUES (4), (7)")
	for k := 1; k <= keys; k++ {
		mustExec(t, admin, fmt.Sprintf("INSERT INTO lists VALUES (%d, '')", k))
	}
	const clients = 5
	deadline := time.Now().Add(5 * time.Second)
	var mu sync.Mutex
	var committed []elleTxn
	aborted := map[int]bool{} // appended values of aborted transactions
	next := 0
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		conn := connect(t, d.sqlAddr)
		rng := rand.New(rand.NewSource(seed + int64(c)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for time.Now().Before(deadline) {
				mu.Lock()
				next++
				id := next
				mu.Unlock()
				tx := elleTxn{id: id}
				n := 1 + rng.Intn(4)
				for i := 0; i < n; i++ {
					op := elleOp{key: 1 + rng.Intn(keys)}
					if rng.Intn(2) == 0 {
						op.append = id*10 + i + 1 // unique across the run
					}
					tx.ops = append(tx.ops, op)
				}
				err := runElleTxn(ctx, conn, &tx)
				mu.Lock()
				switch {
				case err == nil:
					committed = append(committed, tx)
				default:
					var pe *pgconn.PgError
					if !errors.As(err, &pe) || (pe.Code != "40001" && pe.Code != "40P01") {
						mu.Unlock()
						t.Errorf("seed %d: transaction %d: %v", seed, id, err)
						return
					}
					for _, op := range tx.ops {
						if op.append != 0 {
							aborted[op.append] = true
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	final := map[int][]int{}
	for _, r := range queryRows(t, admin, "SELECT k, v FROM lists") {
		k, _ := strconv.Atoi(r[0])
		final[k] = parseList(r[1])
	}
	t.Logf("seed %d: %d committed, %d aborted appends", seed, len(committed), len(aborted))
	if len(committed) < 20 {
		t.Fatalf("seed %d: only %d transactions committed", seed, len(committed))
	}
	for _, problem := range checkListAppend(committed, aborted, final) {
		t.Errorf("seed %d: %s", seed, problem)
	}
}

// runElleTxn runs one transaction, filling in what its reads saw.
func runElleTxn(ctx context.Context, conn *pgx.Conn, tx *elleTxn) error {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return err
	}
	for i := range tx.ops {
		op := &tx.ops[i]
		var err error
		if op.append != 0 {
			_, err = conn.Exec(ctx, fmt.Sprintf("UPDATE lists SET v = v || ',%d' WHERE k = %d", op.append, op.key))
		} else {
			var v string
			err = conn.QueryRow(ctx, fmt.Sprintf("SELECT v FROM lists WHERE k = %d", op.key)).Scan(&v)
			op.read = parseList(v)
		}
		if err != nil {
			conn.Exec(ctx, "ROLLBACK")
			return err
		}
	}
	_, err := conn.Exec(ctx, "COMMIT")
	return err
}

// checkListAppend returns the anomalies it finds.
func checkListAppend(txns []elleTxn, aborted map[int]bool, final map[int][]int) []string {
	var problems []string
	writer := map[int]int{} // appended value -> committed transaction
	for _, tx := range txns {
		for _, op := range tx.ops {
			if op.append != 0 {
				writer[op.append] = tx.id
			}
		}
	}
	pos := map[int]int{} // value -> index in its final list
	for k, list := range final {
		seen := map[int]bool{}
		for i, v := range list {
			if seen[v] {
				problems = append(problems, fmt.Sprintf("list %d holds %d twice", k, v))
			}
			seen[v] = true
			pos[v] = i
			if aborted[v] {
				problems = append(problems, fmt.Sprintf("list %d holds %d, appended by an aborted transaction", k, v))
			} else if _, ok := writer[v]; !ok {
				problems = append(problems, fmt.Sprintf("list %d holds %d, which no transaction appended", k, v))
			}
		}
	}
	for v, id := range writer {
		if _, ok := pos[v]; !ok {
			problems = append(problems, fmt.Sprintf("append %d of committed transaction %d is lost", v, id))
		}
	}
	// Reads: a prefix of the final order; a transaction sees its own
	// appends; never half of another transaction's appends to a key.
	type edge struct{ from, to int }
	ww, wr, rw := map[edge]bool{}, map[edge]bool{}, map[edge]bool{}
	for _, list := range final {
		for i := 1; i < len(list); i++ {
			a, b := writer[list[i-1]], writer[list[i]]
			if a != b {
				ww[edge{a, b}] = true
			}
		}
	}
	for _, tx := range txns {
		own := map[int][]int{} // key -> own appends so far
		for _, op := range tx.ops {
			if op.append != 0 {
				own[op.key] = append(own[op.key], op.append)
				continue
			}
			list := final[op.key]
			r := op.read
			// Strip our own appends (they are at the end of what we read).
			mine := own[op.key]
			if len(r) < len(mine) || !equalInts(r[len(r)-len(mine):], mine) {
				problems = append(problems, fmt.Sprintf("transaction %d read %v on list %d without its own appends %v", tx.id, r, op.key, mine))
				continue
			}
			r = r[:len(r)-len(mine)]
			if len(r) > len(list) || !equalInts(r, list[:len(r)]) {
				problems = append(problems, fmt.Sprintf("transaction %d read %v on list %d, not a prefix of the final %v", tx.id, r, op.key, list))
				continue
			}
			if len(r) > 0 {
				w := writer[r[len(r)-1]]
				if w != tx.id {
					wr[edge{w, tx.id}] = true
				}
				// Intermediate read: the writer's next append to this key
				// must be in the prefix too if it directly follows.
				if len(r) < len(list) && writer[list[len(r)]] == w && w != tx.id {
					problems = append(problems, fmt.Sprintf("transaction %d read an intermediate state of list %d (G1b)", tx.id, op.key))
				}
			}
			if len(r) < len(list) {
				if w := writer[list[len(r)]]; w != tx.id {
					rw[edge{tx.id, w}] = true
				}
			}
		}
	}
	adj := func(sets ...map[edge]bool) map[int][]int {
		g := map[int][]int{}
		for _, s := range sets {
			for e := range s {
				g[e.from] = append(g[e.from], e.to)
			}
		}
		return g
	}
	reaches := func(g map[int][]int, from, to int) bool {
		seen := map[int]bool{}
		stack := []int{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == to {
				return true
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			stack = append(stack, g[n]...)
		}
		return false
	}
	g0 := adj(ww)
	for e := range ww {
		if reaches(g0, e.to, e.from) {
			problems = append(problems, fmt.Sprintf("G0 (write cycle) through %d -> %d", e.from, e.to))
			break
		}
	}
	g1 := adj(ww, wr)
	for _, s := range []map[edge]bool{ww, wr} {
		for e := range s {
			if reaches(g1, e.to, e.from) {
				problems = append(problems, fmt.Sprintf("G1c (write/read cycle) through %d -> %d", e.from, e.to))
				break
			}
		}
	}
	for e := range rw {
		if reaches(g1, e.to, e.from) {
			problems = append(problems, fmt.Sprintf("G-single (one anti-dependency) through %d -rw-> %d", e.from, e.to))
			break
		}
	}
	return problems
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestListAppendChecker checks the checker on hand-made histories: it must
// find each anomaly it claims to.
func TestListAppendChecker(t *testing.T) {
	ok := []elleTxn{
		{id: 1, ops: []elleOp{{key: 1, append: 11}}},
		{id: 2, ops: []elleOp{{key: 1, read: []int{11}}, {key: 1, append: 21}}},
	}
	if p := checkListAppend(ok, nil, map[int][]int{1: {11, 21}}); len(p) != 0 {
		t.Fatalf("a valid history was flagged: %v", p)
	}
	cases := map[string]struct {
		txns    []elleTxn
		aborted map[int]bool
		final   map[int][]int
	}{
		"lost append": {ok, nil, map[int][]int{1: {11}}},
		"aborted read": {
			[]elleTxn{{id: 1, ops: []elleOp{{key: 1, read: []int{9}}}}},
			map[int]bool{9: true}, map[int][]int{1: {9}},
		},
		"not a prefix": {
			[]elleTxn{{id: 1, ops: []elleOp{{key: 1, append: 11}}}, {id: 2, ops: []elleOp{{key: 1, append: 21}}}, {id: 3, ops: []elleOp{{key: 1, read: []int{21}}}}},
			nil, map[int][]int{1: {11, 21}},
		},
		"G-single": { // read skew: T1 misses T2's append to 1 but sees its append to 2
			[]elleTxn{
				{id: 1, ops: []elleOp{{key: 1, read: nil}, {key: 2, read: []int{22}}}},
				{id: 2, ops: []elleOp{{key: 1, append: 21}, {key: 2, append: 22}}},
			},
			nil, map[int][]int{1: {21}, 2: {22}},
		},
		"G1c": { // T1 and T2 each read the other's append
			[]elleTxn{
				{id: 1, ops: []elleOp{{key: 1, append: 11}, {key: 2, read: []int{21}}}},
				{id: 2, ops: []elleOp{{key: 2, append: 21}, {key: 1, read: []int{11}}}},
			},
			nil, map[int][]int{1: {11}, 2: {21}},
		},
	}
	for name, c := range cases {
		if p := checkListAppend(c.txns, c.aborted, c.final); len(p) == 0 {
			t.Errorf("%s: not detected", name)
		}
	}
}
