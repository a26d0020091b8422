package sqltests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// startPostgres starts a PostgreSQL server from pgBin on a fresh data
// directory and a free loopback port (as the postgres user when the test
// runs as root, which initdb refuses) and returns its address; it is
// stopped and removed when the test ends. The database uses the C
// collation (ShardSQL compares text bytewise). settings are extra
// name=value server settings.
func startPostgres(t *testing.T, pgBin string, settings ...string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "shardsql-test-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	asPG := func(name string, args ...string) *exec.Cmd {
		return exec.Command(filepath.Join(pgBin, name), args...)
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		asPG = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, name)}, args...)...)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := asPG("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "--locale=C", "--encoding=UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1", port, dir)
	for _, kv := range settings {
		opts += " -c " + kv
	}
	if out, err := asPG("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start", "-o", opts).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("starting PostgreSQL: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		if out, err := asPG("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			t.Logf("stopping PostgreSQL: %v\n%s", err, out)
		}
	})
	return addr
}
