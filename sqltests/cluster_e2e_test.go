package sqltests

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cluster is meta, shard and sql roles each in its own process.
type cluster struct {
	meta    *proc
	shards  []*proc
	sql     *proc
	sqlAddr string
}

func startCluster(t *testing.T, nShards int) *cluster {
	dir := t.TempDir()
	metaAddr := freeAddr(t)
	c := &cluster{}
	c.meta = startProc(t, "meta", "ready", "meta", "--addr", metaAddr, "--data-dir", filepath.Join(dir, "meta"), "--log-level", "warn")
	for i := 1; i <= nShards; i++ {
		c.shards = append(c.shards, startProc(t, fmt.Sprintf("shard%d", i), "ready", "shard", "--addr", freeAddr(t), "--meta", metaAddr,
			"--data-dir", filepath.Join(dir, fmt.Sprintf("shard%d", i)), "--log-level", "warn"))
	}
	c.sqlAddr = freeAddr(t)
	c.sql = startProc(t, "sql", "ready", "sql", "--addr", c.sqlAddr, "--http-addr", "", "--meta", metaAddr, "--log-level", "warn")
	return c
}

// TestSeparateProcesses runs the session against meta, 3 x shard and sql as
// separate processes, then kills a shard server with SIGKILL: statements
// touching it fail within a bounded time, and once it is restarted every
// acknowledged row is back.
func TestSeparateProcesses(t *testing.T) {
	c := startCluster(t, 3)
	conn := connect(t, c.sqlAddr)
	runSession(t, conn, "kv")

	// Many acknowledged single-row writes on every range.
	for i := 0; i < 60; i++ {
		mustExec(t, conn, fmt.Sprintf("INSERT INTO kv VALUES (%d, 'row%d')", 100+i*47, i))
	}
	before := flat(queryRows(t, conn, "SELECT k, v FROM kv ORDER BY k"))
	ranges := queryRows(t, conn, "SHOW RANGES FROM TABLE kv")
	// Kill the shard server holding the middle range [1000, 2000).
	victimAddr := ranges[1][4]
	var victim *proc
	for _, s := range c.shards {
		for i, a := range s.args {
			if a == "--addr" && s.args[i+1] == victimAddr {
				victim = s
			}
		}
	}
	if victim == nil {
		t.Fatalf("no shard process listens on %s", victimAddr)
	}
	victim.kill()

	start := time.Now()
	_, err := conn.Exec(ctxT(t), "SELECT * FROM kv WHERE k = 1500")
	if err == nil {
		t.Fatal("a read of a range on a killed shard server succeeded")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the failing statement took %v", took)
	}
	t.Logf("with the shard down: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
	// Ranges on live shards keep working.
	expectRows(t, conn, "SELECT v FROM kv WHERE k = 2500", "z")

	victim.restart("ready")
	if got := flat(queryRows(t, conn, "SELECT k, v FROM kv ORDER BY k")); got != before {
		t.Fatalf("after restarting the killed shard:\n got %s\nwant %s", got, before)
	}
	mustExec(t, conn, "INSERT INTO kv VALUES (1999, 'after')")
	expectRows(t, conn, "SELECT v FROM kv WHERE k = 1999", "after")
}

// TestDemoKillRestart kills a demo with SIGKILL and restarts it on the same
// data directory: every committed row is there.
func TestDemoKillRestart(t *testing.T) {
	dir := t.TempDir()
	d := startDemo(t, "--data-dir", dir)
	conn := connect(t, d.sqlAddr)
	mustExec(t, conn, "CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT)")
	mustExec(t, conn, "ALTER TABLE kv SPLIT AT VALUES (1000), (2000)")
	for i := 0; i < 30; i++ {
		mustExec(t, conn, fmt.Sprintf("INSERT INTO kv VALUES (%d, 'v%d'), (%d, 'w%d')", i*100, i, i*100+1, i))
	}
	mustExec(t, conn, "UPDATE kv SET v = 'updated' WHERE k >= 1500 AND k < 1600")
	mustExec(t, conn, "DELETE FROM kv WHERE k = 2900")
	want := flat(queryRows(t, conn, "SELECT k, v FROM kv ORDER BY k"))
	conn.Close(context.Background())
	d.kill()

	d.restart("ShardSQL demo is ready")
	conn = connect(t, d.sqlAddr)
	if got := flat(queryRows(t, conn, "SELECT k, v FROM kv ORDER BY k")); got != want {
		t.Fatalf("after kill -9 and restart:\n got %s\nwant %s", got, want)
	}
	expectRows(t, conn, "SELECT count(*) FROM kv", "59")
	if n := len(queryRows(t, conn, "SHOW RANGES FROM TABLE kv")); n != 3 {
		t.Errorf("want 3 ranges after restart, got %d", n)
	}
	mustExec(t, conn, "INSERT INTO kv VALUES (5000, 'new')")
}

// TestBadProtocolInput sends malformed, unknown and oversized messages; each
// bad connection gets an error and is closed while others carry on.
func TestBadProtocolInput(t *testing.T) {
	d := startDemo(t, "--in-memory")
	good := connect(t, d.sqlAddr)
	mustExec(t, good, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)")
	mustExec(t, good, "INSERT INTO kv VALUES (1, 'one')")

	startup := func(t *testing.T) net.Conn {
		c, err := net.DialTimeout("tcp", d.sqlAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		body := []byte{0, 3, 0, 0}
		body = append(body, "user\x00root\x00database\x00postgres\x00\x00"...)
		msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
		c.Write(append(msg, body...))
		// Read until ReadyForQuery.
		r := bufio.NewReader(c)
		for {
			typ, payload := readMsg(t, r)
			if typ == 'Z' {
				_ = payload
				return &bufConn{Conn: c, r: r}
			}
		}
	}
	cases := map[string][]byte{
		"unknown message type": {'!', 0, 0, 0, 4},
		"truncated length":     {'Q', 0, 0, 0, 2},
		"oversized message":    {'Q', 0x7f, 0xff, 0xff, 0xff},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			c := startup(t)
			defer c.Close()
			c.Write(raw)
			r := c.(*bufConn).r
			sawError := false
			for {
				typ, payload, err := tryReadMsg(r)
				if err != nil {
					break // closed by the server
				}
				if typ == 'E' {
					sawError = true
					if !strings.Contains(string(payload), "08P01") {
						t.Errorf("error without 08P01: %q", payload)
					}
				}
			}
			if !sawError {
				t.Errorf("no ErrorResponse before the connection closed")
			}
		})
	}
	t.Run("garbage startup", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", d.sqlAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.Write([]byte{0, 0, 0, 9, 1, 2, 3, 4, 5})
		if _, err := io.ReadAll(c); err != nil {
			t.Logf("read: %v", err)
		}
	})
	expectRows(t, good, "SELECT v FROM kv WHERE k = 1", "one")
	other := connect(t, d.sqlAddr)
	expectRows(t, other, "SELECT count(*) FROM kv", "1")
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func tryReadMsg(r *bufio.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:]) - 4
	payload := make([]byte, n)
	_, err := io.ReadFull(r, payload)
	return hdr[0], payload, err
}

func readMsg(t *testing.T, r *bufio.Reader) (byte, []byte) {
	t.Helper()
	typ, payload, err := tryReadMsg(r)
	if err != nil {
		t.Fatalf("reading message: %v", err)
	}
	return typ, payload
}

// TestPsql drives the demo with the real psql client.
func TestPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql is not installed (apt-get install postgresql-client-15); .ci/run installs it")
	}
	d := startDemo(t, "--in-memory")
	host, port, _ := net.SplitHostPort(d.sqlAddr)
	script := `CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT);
ALTER TABLE kv SPLIT AT VALUES (1000), (2000);
INSERT INTO kv VALUES (1, 'a'), (1500, 'b'), (2500, 'c');
SELECT * FROM kv WHERE k = 1500;
SELECT count(*) FROM kv;
UPDATE kv SET v = 'z' WHERE k = 2500;
DELETE FROM kv WHERE k = 1;
SELECT k, v FROM kv ORDER BY k;
`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		fmt.Sprintf("host=%s port=%s user=root dbname=postgres sslmode=disable", host, port))
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	want := "CREATE TABLE\nALTER TABLE\nINSERT 0 3\n1500|b\n3\nUPDATE 1\nDELETE 1\n1500|b\n2500|z\n"
	if string(out) != want {
		t.Errorf("psql output:\n%s\nwant:\n%s", out, want)
	}
}
