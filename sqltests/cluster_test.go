package sqltests

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// shardsqlBin is the shardsql binary built once for the package's tests.
var shardsqlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shardsql-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shardsqlBin = filepath.Join(dir, "shardsql")
	build := exec.Command("go", "build", "-o", shardsqlBin, "../cmd/shardsql")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building shardsql:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one shardsql process.
type proc struct {
	t    testing.TB
	name string
	args []string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// startProc starts `shardsql args...` and waits for a line containing ready.
func startProc(t testing.TB, name, ready string, args ...string) *proc {
	return startProcEnv(t, name, ready, nil, args...)
}

// startProcEnv is startProc with env ("NAME=value" entries) added to the
// test's environment.
func startProcEnv(t testing.TB, name, ready string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, out: &lockedBuffer{}}
	p.startEnv(ready, env)
	t.Cleanup(func() { p.stop() })
	return p
}

// faultEnvVar is txn's fault-injection variable (txn/fault.go); processes
// never inherit it from the test's own environment.
const faultEnvVar = "SHARDSQL_FAULT"

func (p *proc) start(ready string) {
	p.t.Helper()
	p.startEnv(ready, nil)
}

// startEnv starts the process with the test's environment (less any
// SHARDSQL_FAULT) plus env.
func (p *proc) startEnv(ready string, env []string) {
	p.t.Helper()
	if err := p.tryStartEnv(ready, env); err != nil {
		p.t.Fatal(err)
	}
}

// errPortTaken is a process's exit at startup because another process
// took a port that freeAddr had found free.
var errPortTaken = errors.New("address already in use")

// tryStartEnv is startEnv returning its failure (errPortTaken when the
// process could not bind its address).
func (p *proc) tryStartEnv(ready string, env []string) error {
	p.t.Helper()
	p.cmd = exec.Command(shardsqlBin, p.args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, faultEnvVar+"=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	readyCh := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			p.out.Write([]byte(sc.Text() + "\n"))
			if !signalled && strings.Contains(sc.Text(), ready) {
				close(readyCh)
				signalled = true
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.cmd.Wait(); close(p.done) }()
	select {
	case <-readyCh:
		return nil
	case <-p.done:
		if strings.Contains(p.out.String(), "address already in use") {
			return fmt.Errorf("%s: %w:\n%s", p.name, errPortTaken, p.out.String())
		}
		return fmt.Errorf("%s exited before it was ready:\n%s", p.name, p.out.String())
	case <-time.After(90 * time.Second):
		return fmt.Errorf("%s not ready after 90s:\n%s", p.name, p.out.String())
	}
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits (killing after a grace period).
func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Logf("%s did not stop on SIGTERM; killing", p.name)
		p.kill()
	}
}

// restart starts the process again with the same arguments.
func (p *proc) restart(ready string) {
	p.t.Helper()
	p.start(ready)
}

// connect opens a pgx connection using the simple query protocol.
func connect(t testing.TB, addr string) *pgx.Conn {
	t.Helper()
	return connectAs(t, addr, "root")
}

// connectAs is connect with a user name (simple protocol, database postgres).
func connectAs(t testing.TB, addr, user string) *pgx.Conn {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s user=%s dbname=postgres sslmode=disable connect_timeout=10", host, port, user))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// demo is a `shardsql demo` process.
type demo struct {
	*proc
	sqlAddr string
}

func startDemo(t testing.TB, extra ...string) *demo {
	t.Helper()
	// A port freeAddr found free may be taken by another test's process
	// before the demo binds it: then try other ports.
	for attempt := 0; ; attempt++ {
		sqlAddr := freeAddr(t)
		args := append([]string{"demo", "--sql-addr", sqlAddr, "--http-addr", freeAddr(t)}, extra...)
		p := &proc{t: t, name: "demo", args: args, out: &lockedBuffer{}}
		err := p.tryStartEnv("ShardSQL demo is ready", nil)
		if err == nil {
			t.Cleanup(func() { p.stop() })
			return &demo{proc: p, sqlAddr: sqlAddr}
		}
		if !errors.Is(err, errPortTaken) || attempt == 4 {
			t.Fatal(err)
		}
	}
}
