package sqltests

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tpcbScript is pgbench's built-in tpcb-like transaction, with scale 1's
// ranges written out (pgbench asks the catalog for the scale only when it
// runs a built-in script, and ShardSQL has no pg_catalog yet: issue 6).
const tpcbScript = `\set aid random(1, 10000)
\set bid random(1, 1)
\set tid random(1, 10)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
`

// TestPgbenchTPCB runs real pgbench, 8 clients for 2 x 10 s (simple and
// prepared protocol), with the tpcb-like
// transaction under the default isolation (READ COMMITTED): every
// transaction updates the one branch row, so writers queue on it. Zero
// transactions may fail, and afterwards the balances of accounts, tellers,
// branches and history agree and match the number of transactions.
func TestPgbenchTPCB(t *testing.T) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatal("pgbench is not installed (Debian's postgresql-15 has it); .ci/run installs it")
	}
	d := startDemo(t, "--in-memory")
	conn := connect(t, d.sqlAddr)
	for _, q := range []string{
		"CREATE TABLE pgbench_branches (bid INT PRIMARY KEY, bbalance INT, filler CHAR(88))",
		"CREATE TABLE pgbench_tellers (tid INT PRIMARY KEY, bid INT, tbalance INT, filler CHAR(84))",
		"CREATE TABLE pgbench_accounts (aid INT PRIMARY KEY, bid INT, abalance INT, filler CHAR(84))",
		"CREATE TABLE pgbench_history (tid INT, bid INT, aid INT, delta INT, mtime TIMESTAMP, filler CHAR(22))",
		"ALTER TABLE pgbench_accounts SPLIT AT VALUES (3334), (6667)",
		"INSERT INTO pgbench_branches VALUES (1, 0, '')",
	} {
		mustExec(t, conn, q)
	}
	for i := 1; i <= 10; i++ {
		mustExec(t, conn, fmt.Sprintf("INSERT INTO pgbench_tellers VALUES (%d, 1, 0, '')", i))
	}
	for lo := 1; lo <= 10000; lo += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO pgbench_accounts VALUES ")
		for aid := lo; aid < lo+1000; aid++ {
			if aid > lo {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, 1, 0, '')", aid)
		}
		mustExec(t, conn, b.String())
	}
	script := filepath.Join(t.TempDir(), "tpcb.sql")
	if err := os.WriteFile(script, []byte(tpcbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(d.sqlAddr)
	// Half the run over the simple protocol, half with prepared statements
	// (the extended protocol: Parse once, Bind/Execute per transaction).
	total := 0
	for _, mode := range []string{"simple", "prepared"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, pgbench, "-n", "-c", "8", "-j", "2", "-T", "10", "-M", mode, "-f", script,
			"-h", host, "-p", port, "-U", "root", "postgres")
		cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("pgbench -M %s:\n%s", mode, out)
		if err != nil {
			t.Fatalf("pgbench -M %s failed: %v", mode, err)
		}
		if !strings.Contains(string(out), "number of failed transactions: 0 ") {
			t.Fatalf("pgbench -M %s reports failed transactions", mode)
		}
		m := regexp.MustCompile(`number of transactions actually processed: (\d+)`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatal("no transaction count in pgbench's output")
		}
		n, _ := strconv.Atoi(m[1])
		if n < 25 {
			t.Fatalf("only %d transactions in 10 s with -M %s", n, mode)
		}
		total += n
	}
	n := total
	sums := queryRows(t, conn, `SELECT
		(SELECT sum(abalance) FROM pgbench_accounts),
		(SELECT sum(tbalance) FROM pgbench_tellers),
		(SELECT sum(bbalance) FROM pgbench_branches),
		(SELECT sum(delta) FROM pgbench_history),
		(SELECT count(*) FROM pgbench_history)`)[0]
	if sums[0] != sums[1] || sums[1] != sums[2] || sums[2] != sums[3] {
		t.Errorf("TPC-B balances disagree: accounts %s, tellers %s, branches %s, history %s", sums[0], sums[1], sums[2], sums[3])
	}
	if sums[4] != strconv.Itoa(n) {
		t.Errorf("history has %s rows, pgbench committed %d transactions", sums[4], n)
	}
}
