package sqltests

import (
	"context"
	"fmt"
	"testing"
)

// The end-to-end benchmarks run against `shardsql demo` (3 shard servers,
// on-disk data in a temp dir) over pgwire with pgx's simple protocol: one
// client, one statement at a time, so ns/op is the latency of a statement.

func BenchmarkPointSelect(b *testing.B) {
	d := startDemo(b, "--data-dir", b.TempDir())
	conn := connect(b, d.sqlAddr)
	mustExec(b, conn, "CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT)")
	mustExec(b, conn, "ALTER TABLE kv SPLIT AT VALUES (1000), (2000)")
	for i := 0; i < 3000; i += 100 {
		q := "INSERT INTO kv VALUES "
		for j := i; j < i+100; j++ {
			if j > i {
				q += ", "
			}
			q += fmt.Sprintf("(%d, 'value-%d')", j, j)
		}
		mustExec(b, conn, q)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var v string
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT v FROM kv WHERE k = %d", i%3000)).Scan(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInsertRow(b *testing.B) {
	d := startDemo(b, "--data-dir", b.TempDir())
	conn := connect(b, d.sqlAddr)
	mustExec(b, conn, "CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT)")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO kv VALUES (%d, 'value-%d')", i, i)); err != nil {
			b.Fatal(err)
		}
	}
}
