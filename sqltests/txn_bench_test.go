package sqltests

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The transaction benchmarks run against `shardsql demo` (3 shard servers,
// data on disk) over pgwire with pgx's simple protocol. Each op is one
// whole transaction from BEGIN to COMMIT on one client; the p50 and p99 of
// the ops are reported beside ns/op.

func benchBank(b *testing.B) *pgx.Conn {
	d := startDemo(b, "--data-dir", b.TempDir())
	conn := connect(b, d.sqlAddr)
	mustExec(b, conn, "CREATE TABLE bank (id INT PRIMARY KEY, bal INT NOT NULL)")
	mustExec(b, conn, "ALTER TABLE bank SPLIT AT VALUES (1000)")
	q := "INSERT INTO bank VALUES "
	for i := 0; i < 2000; i += 20 {
		if i > 0 {
			q += ", "
		}
		q += fmt.Sprintf("(%d, 1000)", i)
	}
	mustExec(b, conn, q)
	return conn
}

// runTxns times n transactions of the given statements and reports percentiles.
func runTxns(b *testing.B, conn *pgx.Conn, stmts func(i int) []string) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, q := range stmts(i) {
			if _, err := conn.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkTxnUpdate1PC: BEGIN; one UPDATE on one range; COMMIT.
func BenchmarkTxnUpdate1PC(b *testing.B) {
	conn := benchBank(b)
	runTxns(b, conn, func(i int) []string {
		return []string{"BEGIN", fmt.Sprintf("UPDATE bank SET bal = bal + 1 WHERE id = %d", (i%50)*20), "COMMIT"}
	})
}

// BenchmarkTxnTransfer2PC: a transfer between two ranges on two shard servers.
func BenchmarkTxnTransfer2PC(b *testing.B) {
	conn := benchBank(b)
	runTxns(b, conn, func(i int) []string {
		from, to := (i%50)*20, 1000+(i%50)*20
		return []string{"BEGIN",
			fmt.Sprintf("UPDATE bank SET bal = bal - 1 WHERE id = %d", from),
			fmt.Sprintf("UPDATE bank SET bal = bal + 1 WHERE id = %d", to),
			"COMMIT"}
	})
}

// BenchmarkTxnReadOnly: BEGIN READ ONLY; two point reads on two ranges; COMMIT.
func BenchmarkTxnReadOnly(b *testing.B) {
	conn := benchBank(b)
	runTxns(b, conn, func(i int) []string {
		return []string{"BEGIN READ ONLY",
			fmt.Sprintf("SELECT bal FROM bank WHERE id = %d", (i%50)*20),
			fmt.Sprintf("SELECT bal FROM bank WHERE id = %d", 1000+(i%50)*20),
			"COMMIT"}
	})
}

// benchAbortRate runs REPEATABLE READ transfers among 20 hot accounts from
// clients connections for the benchmark's duration and reports the share
// of transactions that failed with 40001 or 40P01.
func benchAbortRate(b *testing.B, clients int) {
	d := startDemo(b, "--data-dir", b.TempDir())
	admin := connect(b, d.sqlAddr)
	mustExec(b, admin, "CREATE TABLE bank (id INT PRIMARY KEY, bal INT NOT NULL)")
	mustExec(b, admin, "ALTER TABLE bank SPLIT AT VALUES (7), (14)")
	for i := 0; i < 20; i++ {
		mustExec(b, admin, fmt.Sprintf("INSERT INTO bank VALUES (%d, 100000)", i))
	}
	conns := make([]*pgx.Conn, clients)
	for i := range conns {
		conns[i] = connect(b, d.sqlAddr)
	}
	var mu sync.Mutex
	var committed, aborted int
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/clients + 1
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(conn *pgx.Conn, seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for i := 0; i < per; i++ {
				from, to := rng.Intn(20), rng.Intn(20)
				if from == to {
					to = (to + 1) % 20
				}
				_, err := transfer(context.Background(), conn, from, to, 1)
				var pe *pgconn.PgError
				mu.Lock()
				switch {
				case err == nil:
					committed++
				case errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01"):
					aborted++
				default:
					mu.Unlock()
					b.Errorf("transfer: %v", err)
					return
				}
				mu.Unlock()
			}
		}(conns[c], int64(c))
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(100*float64(aborted)/float64(max(1, committed+aborted)), "abort-%")
	b.ReportMetric(float64(committed)/b.Elapsed().Seconds(), "commits/s")
}

func BenchmarkBankAbortRate8(b *testing.B)  { benchAbortRate(b, 8) }
func BenchmarkBankAbortRate32(b *testing.B) { benchAbortRate(b, 32) }
