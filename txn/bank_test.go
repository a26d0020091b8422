package txn

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
)

var seedFlag = flag.Int64("seed", 0, "seed of the randomized txn tests (0: TXN_SEED or the time)")

// testSeed returns the seed for randomized tests: -seed, else $TXN_SEED,
// else the time. It is logged so a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	seed := uint64(*seedFlag)
	if seed == 0 {
		if s := os.Getenv("TXN_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("TXN_SEED=%q: %v", s, err)
			}
			seed = v
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed=%d or TXN_SEED=%d)", seed, seed, seed)
	return seed
}

// TestBankTransfers moves money between accounts spread over three ranges
// on three shard servers from several goroutines while a checker scans all
// accounts at fresh snapshots: every snapshot must see the same total.
func TestBankTransfers(t *testing.T) {
	seed := testSeed(t)
	tc := startCluster(t, 3)
	c := tc.client(t)
	ctx := testCtx(t, 50*time.Second)
	const (
		tb       = 120
		accounts = 24
		initial  = 1000
		workers  = 6
	)
	runFor := 2500 * time.Millisecond
	if testing.Short() {
		runFor = time.Second
	}
	acct := func(i int) []byte { return tk(tb, fmt.Sprintf("acct%02d", i)) }
	ds := tc.splitSpread(t, true, keys.RowPrefix(tb), acct(accounts/3), acct(2*accounts/3))
	tc.waitOwned(t, ds...)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d: %s", seed, fmt.Sprintf(format, args...))
	}

	seedTx := mustBegin(t, ctx, c)
	for i := range accounts {
		if err := seedTx.Insert(acct(i), []byte(strconv.Itoa(initial))); err != nil {
			t.Fatal(err)
		}
	}
	if err := seedTx.Commit(ctx); err != nil {
		t.Fatalf("seed %d: creating accounts: %v", seed, err)
	}

	start, end := keys.RowPrefix(tb), keys.PrefixEnd(keys.RowPrefix(tb))
	// total scans every account at tx's snapshot.
	total := func(tx *Txn) (sum, n int, err error) {
		err = tx.Scan(ctx, start, end, false, func(k, v []byte) error {
			x, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("account %q holds %q", k, v)
			}
			sum += x
			n++
			return nil
		})
		return sum, n, err
	}
	const want = accounts * initial

	var (
		stop                        atomic.Bool
		committed, conflicts, scans atomic.Int64
		onePCs, twoPCs              atomic.Int64
		wg                          sync.WaitGroup
	)
	getInt := func(tx *Txn, k []byte, viaScan bool) (int, error) {
		var v []byte
		var ok bool
		var err error
		if viaScan {
			err = tx.Scan(ctx, k, append(append([]byte{}, k...), 0), false, func(_, vv []byte) error {
				v, ok = vv, true
				return nil
			})
		} else {
			v, ok, err = tx.Get(ctx, k)
		}
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("account %q missing", k)
		}
		return strconv.Atoi(string(v))
	}
	transfer := func(rng *rand.Rand) error {
		a := rng.IntN(accounts)
		b := (a + 1 + rng.IntN(accounts-1)) % accounts
		amt := 1 + rng.IntN(50)
		viaScan := rng.IntN(4) == 0
		for !stop.Load() {
			tx, err := c.Begin(ctx)
			if err != nil {
				return err
			}
			va, err := getInt(tx, acct(a), viaScan)
			if err == nil {
				var vb int
				if vb, err = getInt(tx, acct(b), viaScan); err == nil {
					tx.Put(acct(a), []byte(strconv.Itoa(va-amt)))
					tx.Put(acct(b), []byte(strconv.Itoa(vb+amt)))
					err = tx.Commit(ctx)
				}
			}
			switch {
			case err == nil:
				committed.Add(1)
				if a/(accounts/3) == b/(accounts/3) {
					onePCs.Add(1)
				} else {
					twoPCs.Add(1)
				}
				return nil
			case pgerr.Code(err) == pgerr.SerializationFailure:
				conflicts.Add(1)
				continue // retry with a new transaction
			default:
				return fmt.Errorf("transfer %d -> %d: %w (code %s)", a, b, err, pgerr.Code(err))
			}
		}
		return nil
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for !stop.Load() {
				if err := transfer(rng); err != nil {
					fail("worker %d: %v", w, err)
					stop.Store(true)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			tx, err := c.Begin(ctx)
			if err != nil {
				fail("checker: %v", err)
				stop.Store(true)
				return
			}
			sum, n, err := total(tx)
			if err != nil {
				fail("checker scan: %v", err)
				stop.Store(true)
				return
			}
			if sum != want || n != accounts {
				fail("snapshot %d sees %d accounts holding %d, want %d holding %d", tx.StartTS, n, sum, accounts, want)
				stop.Store(true)
				return
			}
			scans.Add(1)
		}
	}()
	time.Sleep(runFor)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d transfers committed (%d in one range, %d across ranges), %d write conflicts retried, %d consistent scans",
		committed.Load(), onePCs.Load(), twoPCs.Load(), conflicts.Load(), scans.Load())
	if t.Failed() {
		return
	}
	if committed.Load() == 0 || scans.Load() == 0 {
		fail("no progress: %d transfers, %d scans", committed.Load(), scans.Load())
	}
	sum, n, err := total(mustBegin(t, ctx, c))
	if err != nil || sum != want || n != accounts {
		fail("final: %d accounts holding %d (err %v), want %d holding %d", n, sum, err, accounts, want)
	}
}
