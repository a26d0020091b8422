package logictest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBin is where Debian's postgresql-15 package installs PostgreSQL 15.
// CI installs it with: apt-get install -y postgresql-15.
const pgBin = "/usr/lib/postgresql/15/bin"

// pgServer is a throwaway PostgreSQL 15 started once for the package's
// tests and stopped by TestMain.
var pgServer struct {
	once sync.Once
	dir  string
	port int
	err  error
	// asUser runs the PostgreSQL binaries as this user (when the tests
	// run as root, which PostgreSQL refuses).
	asUser string
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// postgresDSN returns a DSN for the superuser "postgres" on a real
// PostgreSQL 15, starting it on first use, or skips the test when
// PostgreSQL 15 is not installed.
func postgresDSN(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "postgres")); err != nil {
		t.Skipf("PostgreSQL 15 is not installed (%s/postgres missing; CI installs it with apt-get install -y postgresql-15)", pgBin)
	}
	pgServer.once.Do(func() { pgServer.err = startPostgres() })
	if pgServer.err != nil {
		t.Fatalf("starting PostgreSQL 15: %v", pgServer.err)
	}
	return dsnFor("postgres", "postgres")
}

// dsnFor returns a DSN for the test server as user, in database db.
func dsnFor(user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, pgServer.port, db)
}

func startPostgres() error {
	dir, err := os.MkdirTemp("", "logictest-pg-")
	if err != nil {
		return err
	}
	pgServer.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
		pgServer.asUser = "postgres"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	pgServer.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	data := filepath.Join(dir, "data")
	if out, err := pgCommand("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", pgServer.port, dir)
	if out, err := pgCommand("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	// Check it answers.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsnFor("postgres", "postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func stopPostgres() {
	if pgServer.dir == "" {
		return
	}
	pgCommand("pg_ctl", "-D", filepath.Join(pgServer.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(pgServer.dir)
}

// pgCommand runs a PostgreSQL binary, as the postgres user when root.
func pgCommand(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(pgBin, name)
	if pgServer.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", pgServer.asUser, "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// pgExec runs sql on the test server as the superuser.
func pgExec(t testing.TB, db string, sqls ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsnFor("postgres", db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}
