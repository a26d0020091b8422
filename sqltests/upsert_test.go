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
	// Fresh keys, started by all clients at once: they race to insert.
	t.Run("fresh-keys", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, clients*perClient)
		starts := make([]chan struct{}, perClient)
		var ready [perClient]sync.WaitGroup
		for i := range starts {
			starts[i] = make(chan struct{})
			ready[i].Add(clients)
		}
		for c := 0; c < clients; c++ {
			conn := connect(t, d.sqlAddr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perClient; i++ {
					ready[i].Done()
					<-starts[i]
					q := fmt.Sprintf("INSERT INTO hits VALUES (%d, 1) ON CONFLICT (k) DO UPDATE SET n = hits.n + 1", 100+i)
					if _, err := conn.Exec(context.Background(), q); err != nil {
						errs <- fmt.Errorf("%s: %w", q, err)
					}
				}
			}()
		}
		for i := range starts {
			ready[i].Wait()
			close(starts[i])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("an upsert failed: %v", err)
		}
		expectRows(t, admin, "SELECT count(*), sum(n) FROM hits WHERE k >= 100", fmt.Sprintf("%d,%d", perClient, clients*perClient))
	})
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
