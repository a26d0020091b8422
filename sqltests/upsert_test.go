package sqltests

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentUpserts runs INSERT ... ON CONFLICT (k) DO UPDATE on one
// key from 8 clients at once, both as implicit transactions and inside
// explicit READ COMMITTED ones. The key does not exist at first, so the
// clients race to insert it: the upsert locks the key before reading it,
// so they queue, and each re-reads the row the previous one wrote. Every
// statement succeeds and no increment is lost.
func TestConcurrentUpserts(t *testing.T) {
	d := startDemo(t, "--in-memory")
	admin := connect(t, d.sqlAddr)
	mustExec(t, admin, "CREATE TABLE hits (k INT PRIMARY KEY, n INT NOT NULL)")
	const clients, perClient = 8, 10
	for _, explicit := range []bool{false, true} {
		key := 1
		if explicit {
			key = 2
		}
		var ok atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, clients*perClient)
		q := fmt.Sprintf("INSERT INTO hits AS t VALUES (%d, 1) ON CONFLICT (k) DO UPDATE SET n = t.n + 1", key)
		for c := 0; c < clients; c++ {
			conn := connect(t, d.sqlAddr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				for i := 0; i < perClient; i++ {
					stmts := []string{q}
					if explicit {
						stmts = []string{"BEGIN", q, "COMMIT"}
					}
					failed := false
					for _, s := range stmts {
						tag, err := conn.Exec(ctx, s)
						if err != nil {
							errs <- fmt.Errorf("%s: %w", s, err)
							conn.Exec(ctx, "ROLLBACK")
							failed = true
							break
						}
						if s == q && tag.String() != "INSERT 0 1" {
							errs <- fmt.Errorf("%s: tag %q", s, tag)
						}
					}
					if !failed {
						ok.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("explicit=%v: an upsert failed: %v", explicit, err)
		}
		if ok.Load() != clients*perClient {
			t.Errorf("explicit=%v: %d of %d upserts succeeded", explicit, ok.Load(), clients*perClient)
		}
		expectRows(t, admin, fmt.Sprintf("SELECT n FROM hits WHERE k = %d", key), strconv.FormatInt(ok.Load(), 10))
	}
}
