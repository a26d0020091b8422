package sqltests

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestSequencesTwoFrontends: meta, one shard server and two `shardsql sql`
// processes. Many sessions on both frontends call nextval and insert into a
// SERIAL table concurrently: no value is handed out twice, each session
// sees increasing values, and the table's ids are the values handed out.
func TestSequencesTwoFrontends(t *testing.T) {
	c := startCrashCluster(t)
	_, addr1 := c.startSQL(t, "sql1", "")
	_, addr2 := c.startSQL(t, "sql2", "")
	addrs := []string{addr1, addr2}

	setup := connect(t, addr1)
	mustExec(t, setup, "CREATE SEQUENCE s")
	mustExec(t, setup, "CREATE TABLE items (id BIGSERIAL PRIMARY KEY, session INT, n INT)")
	// The other frontend sees both at once.
	other := connect(t, addr2)
	expectRows(t, other, "SELECT nextval('s')", "1")
	expectRows(t, setup, "SELECT nextval('s')", "2")

	const perFrontend, rounds = 6, 40
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*perFrontend)
	for f, addr := range addrs {
		for i := range perFrontend {
			conn := connect(t, addr)
			session := f*perFrontend + i
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := sequenceSession(conn, session, rounds, &mu, seen); err != nil {
					errs <- fmt.Errorf("session %d on frontend %d: %w", session, f+1, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if want := 2 * perFrontend * rounds; len(seen) != want {
		t.Fatalf("%d distinct values, want %d", len(seen), want)
	}

	// Every row got its own id; INSERT ... SELECT and multi-row VALUES
	// evaluate the default per row.
	rows := queryRows(t, setup, "SELECT count(*), count(DISTINCT id) FROM items")
	if want := strconv.Itoa(2 * perFrontend * rounds * 3); rows[0][0] != want || rows[0][1] != want {
		t.Fatalf("items: count %s, distinct ids %s, want %s", rows[0][0], rows[0][1], want)
	}
	// A rolled-back nextval is not given back, and setval on one frontend
	// is seen by the next allocation on the other (after its block runs out
	// of values, with CACHE 1 and a slow caller: at once).
	mustExec(t, setup, "CREATE SEQUENCE slow")
	expectRows(t, setup, "SELECT nextval('slow')", "1")
	expectRows(t, other, "SELECT nextval('slow')", "2")
	mustExec(t, setup, "SELECT setval('slow', 100)")
	expectRows(t, other, "SELECT nextval('slow')", "101")
	mustExec(t, other, "DROP TABLE items")
	expectCode(t, setup, "SELECT nextval('items_id_seq')", "42P01")
}

// sequenceSession calls nextval and inserts into the SERIAL table, checking
// that its values increase and recording them in seen (failing on a value
// seen before).
func sequenceSession(conn *pgx.Conn, session, rounds int, mu *sync.Mutex, seen map[int64]string) error {
	ctx := context.Background()
	var prev, prevID int64
	record := func(v int64, what string) error {
		mu.Lock()
		defer mu.Unlock()
		if by, dup := seen[v]; dup {
			return fmt.Errorf("value %d handed out twice (%s, and %s)", v, by, what)
		}
		seen[v] = what
		return nil
	}
	for r := range rounds {
		var v int64
		if err := conn.QueryRow(ctx, "SELECT nextval('s')").Scan(&v); err != nil {
			return err
		}
		if v <= prev {
			return fmt.Errorf("nextval went from %d to %d", prev, v)
		}
		prev = v
		if err := record(v, fmt.Sprintf("session %d round %d", session, r)); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO items (session, n) VALUES (%d, %d), (%d, %d)", session, r, session, r)); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO items (session, n) SELECT %d, %d", session, r)); err != nil {
			return err
		}
		var id int64
		if err := conn.QueryRow(ctx, "SELECT currval('items_id_seq')").Scan(&id); err != nil {
			return err
		}
		if id <= prevID {
			return fmt.Errorf("items ids went from %d to %d", prevID, id)
		}
		prevID = id
	}
	return nil
}
