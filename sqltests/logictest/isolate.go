package logictest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// isolation is how files are kept apart on the server.
type isolation int

const (
	isolationUnknown  isolation = iota // not decided yet: try a database first
	isolationDatabase                  // a fresh database a file
	isolationSchema                    // a fresh schema a file, on search_path
	isolationNone                      // the given database as is
)

// sandbox is where one file's records run.
type sandbox struct {
	// cfg connects a session to the sandbox.
	cfg *pgx.ConnConfig
	// setup runs on every new session (e.g. SET search_path).
	setup string
	// warning is a note for the file's summary.
	warning string
	// name is the database or schema created, empty with no isolation.
	name string
	mode isolation
}

// isolator creates and drops sandboxes through one admin connection. The
// first sandbox decides the isolation every later one uses: CREATE
// DATABASE if the server accepts it, else CREATE SCHEMA, else (only when
// files run one at a time) the given database as is.
type isolator struct {
	base     *pgx.ConnConfig
	parallel int
	prefix   string

	mu struct {
		sync.Mutex
		admin *session
		mode  isolation
		seq   int
	}
}

func newIsolator(base *pgx.ConnConfig, parallel int) *isolator {
	return &isolator{base: base, parallel: parallel, prefix: fmt.Sprintf("slt_%d_", os.Getpid())}
}

// adminLocked returns the admin session, reconnecting if needed.
func (iso *isolator) adminLocked(ctx context.Context) (*session, error) {
	if s := iso.mu.admin; s != nil && !s.broken() {
		return s, nil
	}
	s, err := connect(ctx, iso.base, "")
	if err != nil {
		return nil, err
	}
	iso.mu.admin = s
	return s, nil
}

// ping checks that the server is reachable with the given DSN.
func (iso *isolator) ping(ctx context.Context) error {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	_, err := iso.adminLocked(ctx)
	return err
}

// close closes the admin connection.
func (iso *isolator) close() {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	if iso.mu.admin != nil {
		iso.mu.admin.close()
		iso.mu.admin = nil
	}
}

// adminExec runs sql on the admin connection.
func (iso *isolator) adminExec(ctx context.Context, sql string) error {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	return iso.adminExecLocked(ctx, sql)
}

func (iso *isolator) adminExecLocked(ctx context.Context, sql string) error {
	a, err := iso.adminLocked(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = a.exec(ctx, sql)
	return err
}

// create makes a fresh sandbox for one file.
func (iso *isolator) create(ctx context.Context) (*sandbox, error) {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	iso.mu.seq++
	name := fmt.Sprintf("%s%d", iso.prefix, iso.mu.seq)
	mode := iso.mu.mode
	var dbErr, schemaErr error
	if mode == isolationUnknown || mode == isolationDatabase {
		if dbErr = iso.adminExecLocked(ctx, "CREATE DATABASE "+name); dbErr == nil {
			cfg := iso.base.Copy()
			cfg.Database = name
			iso.mu.mode = isolationDatabase
			return &sandbox{cfg: cfg, name: name, mode: isolationDatabase}, nil
		}
		if mode == isolationDatabase {
			return nil, fmt.Errorf("CREATE DATABASE %s: %w", name, dbErr)
		}
	}
	if mode == isolationUnknown || mode == isolationSchema {
		if schemaErr = iso.adminExecLocked(ctx, "CREATE SCHEMA "+name); schemaErr == nil {
			iso.mu.mode = isolationSchema
			return &sandbox{cfg: iso.base, setup: "SET search_path TO " + name, name: name, mode: isolationSchema}, nil
		}
		if mode == isolationSchema {
			return nil, fmt.Errorf("CREATE SCHEMA %s: %w", name, schemaErr)
		}
	}
	if mode == isolationUnknown {
		if iso.parallel > 1 {
			return nil, fmt.Errorf("cannot isolate files (CREATE DATABASE: %v; CREATE SCHEMA: %v) and --parallel needs isolation", errorText(dbErr), errorText(schemaErr))
		}
		iso.mu.mode = isolationNone
		return &sandbox{cfg: iso.base, mode: isolationNone,
			warning: fmt.Sprintf("cannot create a database (%s) or a schema (%s); running in the given database as is",
				errorText(dbErr), errorText(schemaErr))}, nil
	}
	return &sandbox{cfg: iso.base, mode: isolationNone}, nil
}

// drop removes a sandbox once all its sessions are closed. Its error is a
// warning: the file's result stands.
func (iso *isolator) drop(sb *sandbox) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch sb.mode {
	case isolationDatabase:
		// A closed session's backend may still be exiting; FORCE
		// (PostgreSQL 13+) does not wait for it, plain DROP is retried.
		if err := iso.adminExec(ctx, "DROP DATABASE IF EXISTS "+sb.name+" WITH (FORCE)"); err == nil {
			return nil
		}
		var err error
		for range 50 {
			err = iso.adminExec(ctx, "DROP DATABASE IF EXISTS "+sb.name)
			var pe *pgconn.PgError
			if err == nil || !errors.As(err, &pe) || pe.Code != "55006" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	case isolationSchema:
		return iso.adminExec(ctx, "DROP SCHEMA IF EXISTS "+sb.name+" CASCADE")
	}
	return nil
}
