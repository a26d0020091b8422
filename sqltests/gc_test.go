package sqltests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// GC settings of the demo in TestGC.
const (
	gcTTL      = time.Second
	gcInterval = 200 * time.Millisecond
	// gcPassed is long enough after a point in time for GC to have passed
	// it when nothing holds the safe point back: the TTL, a few GC
	// intervals and a heartbeat's slack.
	gcPassed = gcTTL + 3*gcInterval + 200*time.Millisecond
)

// Tables of the slow statement: it streams gc_outer in scan batches of
// scanBatch rows and, for every row, evaluates a correlated subquery over
// gc_inner (read once and cached by the statement, then filtered in
// memory). The shard reads of gc_outer's later batches therefore happen
// while the statement runs, at its snapshot, as the rows are consumed.
const (
	scanBatch = 1024
	outerRows = 24 * scanBatch
	innerRows = 2048
	loadChunk = 2048
	// (a range, not an equality, so that the executor cannot hash the
	// subquery once: it stays a per-row evaluation)
	slowReadSQ = "SELECT count(*) FROM gc_outer o WHERE o.k < %d AND (SELECT count(*) FROM gc_inner i WHERE i.v >= o.v AND i.v <= o.v) = 1"
)

// slowRead runs the slow statement over the first m outer rows.
func slowRead(ctx context.Context, conn *pgx.Conn, m int) (time.Duration, error) {
	start := time.Now()
	_, err := conn.Exec(ctx, fmt.Sprintf(slowReadSQ, m))
	return time.Since(start), err
}

// TestGC runs MVCC garbage collection in a demo with a 1 s GC TTL: a
// REPEATABLE READ transaction opened before many updates keeps reading its
// snapshot across GC passes while it stays open (its frontend reports it,
// and the safe point waits); after it commits a new transaction works; and
// a statement that still reads at its snapshot when nothing holds the safe
// point back fails with snapshot_too_old (72000).
func TestGC(t *testing.T) {
	d := startDemo(t, "--in-memory", "--gc-ttl", gcTTL.String(), "--gc-interval", gcInterval.String())
	w := connect(t, d.sqlAddr)
	r := connect(t, d.sqlAddr)

	mustExec(t, w, "CREATE TABLE gc_kv (k BIGINT PRIMARY KEY, v BIGINT)")
	mustExec(t, w, "INSERT INTO gc_kv VALUES (1, 0)")
	mustExec(t, w, "CREATE TABLE gc_outer (k BIGINT PRIMARY KEY, v BIGINT)")
	mustExec(t, w, "CREATE TABLE gc_inner (k BIGINT PRIMARY KEY, v BIGINT)")
	for base := 0; base < outerRows; base += loadChunk {
		vals := make([]string, loadChunk)
		for i := range vals {
			vals[i] = fmt.Sprintf("(%d, %d)", base+i, i)
		}
		mustExec(t, w, "INSERT INTO gc_outer VALUES "+strings.Join(vals, ","))
		if base < innerRows {
			mustExec(t, w, "INSERT INTO gc_inner VALUES "+strings.Join(vals, ","))
		}
	}
	// Time one scan batch of the slow statement, to size it so that its
	// shard reads go on for about 2*gcPassed: the scan reads about five
	// batches ahead, then one more per batch consumed.
	took, err := slowRead(ctxT(t), w, scanBatch/2)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	perBatch := 2 * took
	m := min(outerRows, scanBatch*(6+int(2*gcPassed/perBatch)))
	t.Logf("slow statement: %v per batch of %d rows; %d rows", perBatch, scanBatch, m)

	// A snapshot taken before many updates.
	mustExec(t, r, "BEGIN ISOLATION LEVEL REPEATABLE READ")
	expectRows(t, r, "SELECT v FROM gc_kv WHERE k = 1", "0")
	const updates = 30
	for range updates {
		mustExec(t, w, "UPDATE gc_kv SET v = v + 1 WHERE k = 1")
	}
	// GC runs all along, but r's snapshot is held: it still reads it.
	time.Sleep(gcPassed)
	expectRows(t, r, "SELECT v FROM gc_kv WHERE k = 1", "0")
	mustExec(t, r, "COMMIT")

	// With nothing open, GC passes the old versions; new transactions work.
	time.Sleep(gcTTL + 2*gcInterval)
	mustExec(t, r, "BEGIN ISOLATION LEVEL REPEATABLE READ")
	expectRows(t, r, "SELECT v FROM gc_kv WHERE k = 1", fmt.Sprint(updates))
	mustExec(t, r, "COMMIT")
	expectRows(t, w, "SELECT v FROM gc_kv WHERE k = 1", fmt.Sprint(updates))

	// Nothing holds the safe point back: a statement still reading at its
	// snapshot well after the TTL fails with snapshot_too_old.
	// It fails at its first shard read after GC passed its snapshot, which
	// it sees once it has consumed the batches read ahead of it.
	ctx, cancel := context.WithTimeout(ctxT(t), 2*gcPassed+8*perBatch)
	defer cancel()
	took, err = slowRead(ctx, w, m)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "72000":
		if !strings.HasPrefix(pe.Message, "snapshot too old: read at ") || !strings.Contains(pe.Message, "below the GC safe point") {
			t.Fatalf("72000 with message %q", pe.Message)
		}
		if took < gcTTL {
			t.Fatalf("snapshot too old after only %v (TTL %v)", took, gcTTL)
		}
		t.Logf("slow statement failed after %v: %s", took, pe.Message)
	case err != nil:
		t.Fatalf("slow statement: want SQLSTATE 72000, got %v after %v", err, took)
	default:
		t.Fatalf("slow statement at a snapshot nothing held back succeeded after %v", took)
	}
	// The session is fine afterwards.
	expectRows(t, w, "SELECT count(*) FROM gc_kv", "1")
}
