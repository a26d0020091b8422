package logictest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// session is one connection a file's records run on.
type session struct {
	conn *pgx.Conn
}

// connConfig parses a libpq-style DSN (URL or key=value) into a pgx
// configuration that uses the simple query protocol, so every value comes
// back as the server's text, and that answers a cancelled context with a
// CancelRequest (keeping the connection usable) rather than by breaking
// the connection.
func connConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	return cfg, nil
}

// connect opens a session and runs setup (e.g. SET search_path) on it.
func connect(ctx context.Context, cfg *pgx.ConnConfig, setup string) (*session, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn}
	if setup != "" {
		if _, err := s.exec(ctx, setup); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("%s: %w", setup, err)
		}
	}
	return s, nil
}

// close closes the session's connection.
func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.conn.Close(ctx)
}

// broken reports whether the connection is closed and must be replaced.
func (s *session) broken() bool {
	return s.conn.IsClosed()
}

// exec runs sql with the simple query protocol (one or more statements)
// and returns the command tag of the last one.
//
// It talks to pgconn directly rather than through pgx.Conn.Exec/Query:
// pgx sanitizes simple-protocol queries on the client, which needs the
// server to report standard_conforming_strings and client_encoding and
// rejects SQL containing placeholders such as $1; a conformance runner
// must send the SQL exactly as written.
func (s *session) exec(ctx context.Context, sql string) (pgconn.CommandTag, error) {
	mrr := s.conn.PgConn().Exec(ctx, sql)
	var tag pgconn.CommandTag
	for mrr.NextResult() {
		tag, _ = mrr.ResultReader().Close()
	}
	return tag, mrr.Close()
}

// queryResult is the result set of a query: values already formatted.
type queryResult struct {
	ncol int
	vals []string
}

// query runs sql with the simple query protocol and formats every value of
// the last result set that has columns, using types (one letter a column;
// columns beyond it are formatted as T so a column-count mismatch can
// still be shown).
func (s *session) query(ctx context.Context, sql, types string) (queryResult, error) {
	mrr := s.conn.PgConn().Exec(ctx, sql)
	var res queryResult
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		fds := rr.FieldDescriptions()
		if len(fds) == 0 {
			rr.Close()
			continue
		}
		res = queryResult{ncol: len(fds)}
		letters := make([]byte, len(fds))
		for i := range letters {
			letters[i] = 'T'
			if i < len(types) {
				letters[i] = types[i]
			}
		}
		for rr.NextRow() {
			for i, v := range rr.Values() {
				res.vals = append(res.vals, formatValue(letters[i], v, fds[i].DataTypeOID))
			}
		}
		if _, err := rr.Close(); err != nil {
			mrr.Close()
			return queryResult{}, err
		}
	}
	return res, mrr.Close()
}

// errorText renders an error as "SQLSTATE message" for error patterns;
// errors that are not server errors render as their text.
func errorText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + " " + pe.Message
	}
	return err.Error()
}
