package sqltests

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestContendedIncrements runs explicit READ COMMITTED transactions that
// all update the same row (pgbench's tpcb-like hot spot): writers queue on
// the row lock and re-read the latest value, so every transaction commits
// and no increment is lost.
func TestContendedIncrements(t *testing.T) {
	d := startDemo(t, "--in-memory")
	admin := connect(t, d.sqlAddr)
	mustExec(t, admin, "CREATE TABLE counter (id INT PRIMARY KEY, n INT)")
	mustExec(t, admin, "INSERT INTO counter VALUES (1, 0)")
	const clients, perClient = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		conn := connect(t, d.sqlAddr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := 0; i < perClient; i++ {
				for _, q := range []string{"BEGIN", "UPDATE counter SET n = n + 1 WHERE id = 1", "COMMIT"} {
					if _, err := conn.Exec(ctx, q); err != nil {
						errs <- fmt.Errorf("%s: %w", q, err)
						conn.Exec(ctx, "ROLLBACK")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a transaction failed under READ COMMITTED: %v", err)
	}
	expectRows(t, admin, "SELECT n FROM counter WHERE id = 1", strconv.Itoa(clients*perClient))
}

func txnSeed(t *testing.T) int64 {
	seed := time.Now().UnixNano()
	if v := os.Getenv("TXN_SEED"); v != "" {
		seed, _ = strconv.ParseInt(v, 10, 64)
	}
	t.Logf("seed %d (set TXN_SEED to repeat)", seed)
	return seed
}

// TestBankRepeatableRead transfers money between accounts spread over
// three ranges on three shard servers from 8 concurrent clients under
// REPEATABLE READ, retrying on 40001 and 40P01 (transfers lock two rows in
// either order, so deadlocks happen and are broken), while a reader checks the total at
// every snapshot. The total never changes, no balance goes negative, and
// the final balances match the ledger of transfers whose COMMIT succeeded.
func TestBankRepeatableRead(t *testing.T) {
	seed := txnSeed(t)
	d := startDemo(t, "--in-memory")
	admin := connect(t, d.sqlAddr)
	const accounts, initial = 30, 1000
	mustExec(t, admin, "CREATE TABLE bank (id INT PRIMARY KEY, bal INT NOT NULL)")
	mustExec(t, admin, "ALTER TABLE bank SPLIT AT VALUES (10), (20)")
	if shards := map[string]bool{}; true {
		for _, r := range queryRows(t, admin, "SHOW RANGES FROM TABLE bank") {
			shards[r[3]] = true
		}
		if len(shards) != 3 {
			t.Fatalf("accounts should span 3 shard servers, got %v", shards)
		}
	}
	for i := 0; i < accounts; i++ {
		mustExec(t, admin, fmt.Sprintf("INSERT INTO bank VALUES (%d, %d)", i, initial))
	}
	const clients = 8
	deadline := time.Now().Add(6 * time.Second)
	var mu sync.Mutex
	ledger := make([]int, accounts)
	committed, retried := 0, 0
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		conn := connect(t, d.sqlAddr)
		rng := rand.New(rand.NewSource(seed + int64(c)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for time.Now().Before(deadline) {
				from, to := rng.Intn(accounts), rng.Intn(accounts)
				if from == to {
					continue
				}
				amount := 1 + rng.Intn(50)
				ok, err := transfer(ctx, conn, from, to, amount)
				if err != nil {
					var pe *pgconn.PgError
					if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
						mu.Lock()
						retried++
						mu.Unlock()
						continue
					}
					t.Errorf("seed %d: transfer: %v", seed, err)
					return
				}
				if ok {
					mu.Lock()
					ledger[from] -= amount
					ledger[to] += amount
					committed++
					mu.Unlock()
				}
			}
		}()
	}
	// The checker: every snapshot sums to the same total.
	checker := connect(t, d.sqlAddr)
	checks := 0
	for time.Now().Before(deadline) {
		total := sumInTxn(t, checker)
		if total != accounts*initial {
			t.Fatalf("seed %d: a snapshot saw total %d, want %d", seed, total, accounts*initial)
		}
		checks++
	}
	wg.Wait()
	t.Logf("seed %d: %d transfers committed, %d retried after 40001 or 40P01, %d snapshot checks", seed, committed, retried, checks)
	if committed == 0 {
		t.Fatal("no transfer committed")
	}
	rows := queryRows(t, admin, "SELECT id, bal FROM bank ORDER BY id")
	for _, r := range rows {
		id, _ := strconv.Atoi(r[0])
		bal, _ := strconv.Atoi(r[1])
		if bal != initial+ledger[id] {
			t.Errorf("seed %d: account %d has %d, the ledger says %d", seed, id, bal, initial+ledger[id])
		}
		if bal < 0 {
			t.Errorf("seed %d: account %d is negative: %d", seed, id, bal)
		}
	}
}

// sumInTxn reads the total inside a REPEATABLE READ transaction.
func sumInTxn(t *testing.T, conn *pgx.Conn) int {
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "COMMIT")
	var total int
	if err := conn.QueryRow(ctx, "SELECT sum(bal) FROM bank").Scan(&total); err != nil {
		t.Fatal(err)
	}
	return total
}

// transfer moves amount unless the source would go negative; it reports
// whether the transfer committed.
func transfer(ctx context.Context, conn *pgx.Conn, from, to, amount int) (bool, error) {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return false, err
	}
	fail := func(err error) (bool, error) {
		conn.Exec(ctx, "ROLLBACK")
		return false, err
	}
	var bal int
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT bal FROM bank WHERE id = %d", from)).Scan(&bal); err != nil {
		return fail(err)
	}
	if bal < amount {
		return fail(nil)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("UPDATE bank SET bal = bal - %d WHERE id = %d", amount, from)); err != nil {
		return fail(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("UPDATE bank SET bal = bal + %d WHERE id = %d", amount, to)); err != nil {
		return fail(err)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return false, err
	}
	return true, nil
}
