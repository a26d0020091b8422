package sqltests

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestSchemaChangeTwoFrontends runs ALTER TABLE through one SQL frontend
// (a process of its own) while another frontend process keeps writing the
// table: no write fails, every write lands, and both frontends read the
// same final data.
func TestSchemaChangeTwoFrontends(t *testing.T) {
	dir := t.TempDir()
	metaAddr := freeAddr(t)
	startProc(t, "meta", "ready", "meta", "--addr", metaAddr, "--data-dir", filepath.Join(dir, "meta"), "--log-level", "warn")
	startProc(t, "shard1", "ready", "shard", "--addr", freeAddr(t), "--meta", metaAddr, "--data-dir", filepath.Join(dir, "shard1"), "--log-level", "warn")
	addrA, addrB := freeAddr(t), freeAddr(t)
	startProc(t, "sqlA", "ready", "sql", "--addr", addrA, "--http-addr", "", "--meta", metaAddr, "--log-level", "warn")
	startProc(t, "sqlB", "ready", "sql", "--addr", addrB, "--http-addr", "", "--meta", metaAddr, "--log-level", "warn")
	a, b := connect(t, addrA), connect(t, addrB)

	const keys = 20
	mustExec(t, a, "CREATE TABLE kv (k INT PRIMARY KEY, v INT)")
	for k := 1; k <= keys; k++ {
		mustExec(t, a, fmt.Sprintf("INSERT INTO kv VALUES (%d, 0)", k))
	}
	// b must know the table before the writer starts.
	expectRows(t, b, "SELECT count(*) FROM kv", fmt.Sprint(keys))

	// The writer, on frontend b: increments and inserts, counting what
	// succeeded. The only error it may see is a serialization failure.
	ctx, stop := context.WithCancel(context.Background())
	var (
		wg       sync.WaitGroup
		incs     [keys + 1]int
		inserted int
		werr     error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			var err error
			if i%4 == 3 {
				_, err = b.Exec(context.Background(), fmt.Sprintf("INSERT INTO kv (k, v) VALUES (%d, 0)", 1000+inserted))
				if err == nil {
					inserted++
				}
			} else {
				k := i%keys + 1
				_, err = b.Exec(context.Background(), fmt.Sprintf("UPDATE kv SET v = v + 1 WHERE k = %d", k))
				if err == nil {
					incs[k]++
				}
			}
			var pe *pgconn.PgError
			if err != nil && !(errors.As(err, &pe) && pe.Code == "40001") {
				werr = err
				return
			}
		}
	}()

	// A second writer on b uses column c while it exists: its only errors
	// may be 42703 (c does not exist yet / any more). A reader on b reads
	// whole rows throughout, without errors.
	b2, b3 := connect(t, addrB), connect(t, addrB)
	var cWrites, reads int
	var cErr, rErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			_, err := b2.Exec(context.Background(), fmt.Sprintf("UPDATE kv SET c = c WHERE k = %d", i%keys+1))
			var pe *pgconn.PgError
			switch {
			case err == nil:
				cWrites++
			case errors.As(err, &pe) && (pe.Code == "42703" || pe.Code == "40001"):
			default:
				cErr = err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			rows, err := b3.Query(context.Background(), "SELECT * FROM kv")
			if err == nil {
				for rows.Next() {
				}
				rows.Close()
				err = rows.Err()
			}
			if err != nil {
				rErr = err
				return
			}
			reads++
		}
	}()

	pause := func() { time.Sleep(150 * time.Millisecond) }
	pause()
	mustExec(t, a, "ALTER TABLE kv ADD COLUMN c INT DEFAULT 7")
	expectRows(t, a, "SELECT count(*) FROM kv WHERE c IS DISTINCT FROM 7", "0")
	pause()
	mustExec(t, a, "UPDATE kv SET c = k")
	pause()
	// b's increments since then must have kept c.
	expectRows(t, a, fmt.Sprintf("SELECT count(*) FROM kv WHERE k <= %d AND c IS DISTINCT FROM k", keys), "0")
	mustExec(t, a, "ALTER TABLE kv ADD CONSTRAINT v_nonneg CHECK (v >= 0), ALTER COLUMN v SET NOT NULL")
	pause()
	mustExec(t, a, "ALTER TABLE kv DROP COLUMN c")
	pause()
	mustExec(t, a, "ALTER TABLE kv ADD COLUMN c TEXT NOT NULL DEFAULT 'new'")
	pause()
	mustExec(t, a, "ALTER TABLE kv RENAME COLUMN c TO label")
	pause()
	stop()
	wg.Wait()
	if werr != nil {
		t.Fatalf("writer on the other frontend failed: %v", werr)
	}
	if cErr != nil || rErr != nil {
		t.Fatalf("on the other frontend: writer of c: %v; reader: %v", cErr, rErr)
	}
	if cWrites == 0 || reads == 0 {
		t.Fatalf("the other frontend did too little: %d writes of c, %d reads", cWrites, reads)
	}
	t.Logf("other frontend: %d inserts, %d writes of c, %d whole-table reads", inserted, cWrites, reads)
	if inserted == 0 || incs[1] == 0 {
		t.Fatalf("the writer did too little: %d inserts, %d increments of key 1", inserted, incs[1])
	}
	var want string
	for k := 1; k <= keys; k++ {
		want += fmt.Sprintf("%d,%d,new;", k, incs[k])
	}
	for j := 0; j < inserted; j++ {
		want += fmt.Sprintf("%d,0,new;", 1000+j)
	}
	want = want[:len(want)-1]
	expectRows(t, a, "SELECT k, v, label FROM kv ORDER BY k", want)
	expectRows(t, b, "SELECT k, v, label FROM kv ORDER BY k", want)
	// The new constraints hold on b too.
	expectCode(t, b, "UPDATE kv SET v = -1 WHERE k = 1", "23514")
	expectCode(t, b, "INSERT INTO kv (k, v) VALUES (5000, NULL)", "23502")

	// A schema change waits for a transaction that is still open on the
	// other frontend under the old version.
	mustExec(t, b, "BEGIN")
	mustExec(t, b, "UPDATE kv SET v = v + 1 WHERE k = 2")
	done := make(chan error, 1)
	go func() {
		_, err := a.Exec(context.Background(), "ALTER TABLE kv ADD COLUMN late INT DEFAULT 1")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("ALTER TABLE finished (%v) while a transaction on the old version was open", err)
	case <-time.After(700 * time.Millisecond):
	}
	mustExec(t, b, "COMMIT")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ALTER TABLE did not finish after the old transaction committed")
	}
	expectRows(t, b, "SELECT v, late FROM kv WHERE k = 2", fmt.Sprintf("%d,1", incs[2]+1))

	// DDL other than CREATE inside a transaction block is refused (0A000)
	// and puts it in the failed state.
	mustExec(t, a, "BEGIN")
	expectCode(t, a, "ALTER TABLE kv ADD COLUMN nope INT", "0A000")
	expectCode(t, a, "SELECT 1", "25P02")
	mustExec(t, a, "ROLLBACK")
	// A table created in a block is published at once (documented); a
	// rollback removes it everywhere.
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "CREATE TABLE inblock (x INT)")
	mustExec(t, a, "ROLLBACK")
	expectCode(t, b, "SELECT * FROM inblock", "42P01")
	// Dropping a column the primary key or an index uses is refused.
	expectCode(t, a, "ALTER TABLE kv DROP COLUMN k", "0A000")
	mustExec(t, a, "CREATE INDEX kv_v ON kv (v)")
	expectCode(t, a, "ALTER TABLE kv DROP COLUMN v", "0A000")
}
