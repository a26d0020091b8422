package sqlfront

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/rowenc"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
	"github.com/shardsql/shardsql/txn"
)

// session is one client connection.
type session struct {
	srv      *Server
	conn     net.Conn
	be       *pgproto3.Backend
	user     string
	database string
	pid      uint32
	secret   []byte

	// hold is the catalog version the running statement holds (schema.go).
	hold    uint64
	holding bool
	// blockDDL is the undoable DDL of the open transaction block (ddlblock.go).
	blockDDL []blockDDL

	mu sync.Mutex
	// cancel cancels the running statement (nil between statements).
	cancel context.CancelFunc

	// tx is the open explicit transaction, nil outside BEGIN ... COMMIT.
	tx               *txnState
	defaultIsolation string
	defaultReadOnly  bool
	// lockTimeout is lock_timeout: 0 waits up to the default bound.
	lockTimeout time.Duration
	// noPushdown is SET shardsql.pushdown = off.
	noPushdown bool
	// gucs are the text settings SET changed (settings.go).
	gucs map[string]string
	// statementTimeout is statement_timeout (0: none); stmtCtx is the
	// running statement's context, to tell its timeout from a cancel.
	statementTimeout time.Duration
	stmtCtx          context.Context
	// memBudget is shardsql.max_statement_memory (0: the default).
	memBudget int64

	// stmts and portals are the extended protocol's prepared statements
	// and portals, by name ("" is the unnamed one).
	stmts   map[string]*prepared
	portals map[string]*portal
	// out, while a portal runs, shapes what the statement sends.
	out *extOut
	// seq holds currval/lastval.
	seq seqSession
}

func (s *session) cancelStatement() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
}

// maxAutoRetries bounds the transparent retries of an implicit transaction
// that lost a write conflict.
const maxAutoRetries = 10

func (s *session) run() {
	defer func() {
		if s.tx != nil {
			s.undoBlockDDL(0) // the client went away mid-transaction
		}
		s.releaseHold()
	}()
	for {
		// idle_in_transaction_session_timeout: a client that leaves a
		// transaction open and idle that long is disconnected.
		idle := s.idleInTxTimeout()
		if idle > 0 && s.tx != nil {
			s.conn.SetReadDeadline(time.Now().Add(idle))
		} else {
			s.conn.SetReadDeadline(time.Time{})
		}
		msg, err := s.be.Receive()
		if ne := (net.Error)(nil); err != nil && idle > 0 && s.tx != nil && errors.As(err, &ne) && ne.Timeout() {
			fatal(s.be, pgerr.IdleInTransactionTimeout, "terminating connection due to idle-in-transaction timeout")
			return
		}
		if idle > 0 {
			s.conn.SetReadDeadline(time.Time{}) // not idle now (a COPY may read on)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && s.srv.ctx.Err() == nil {
				// Malformed, truncated or oversized message: tell the client
				// if we still can, then close this connection only.
				fatal(s.be, pgerr.ProtocolViolation, fmt.Sprintf("invalid message: %v", err))
			}
			return
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			s.simpleQuery(m.String)
		case *pgproto3.Terminate:
			return
		case *pgproto3.Sync:
			s.readyForQuery()
		case *pgproto3.Parse, *pgproto3.Bind, *pgproto3.Describe, *pgproto3.Execute, *pgproto3.Close, *pgproto3.Flush:
			if err := s.extendedMessage(m); err != nil {
				// Skip to Sync, as the protocol requires after an error.
				if !s.extendedError(err) {
					return
				}
				s.readyForQuery()
			}
		default:
			fatal(s.be, pgerr.ProtocolViolation, fmt.Sprintf("unexpected message %T", msg))
			return
		}
		if err := s.be.Flush(); err != nil {
			return
		}
	}
}

func (s *session) skipUntilSync() bool {
	for {
		msg, err := s.be.Receive()
		if err != nil {
			return false
		}
		switch msg.(type) {
		case *pgproto3.Sync:
			return true
		case *pgproto3.Terminate:
			return false
		}
	}
}

// simpleQuery runs every statement of a Query message, stopping at the first error.
func (s *session) simpleQuery(sql string) {
	defer s.readyForQuery()
	ctx, done := s.statementContext()
	defer done()
	// fail reports an error; inside a transaction block it also puts the
	// transaction into the failed state, as PostgreSQL does.
	fail := func(err error) {
		s.failTx(err)
		s.sendError(err)
	}
	// A bug in one statement must not take the server down: report it as
	// an internal error on this connection and carry on.
	defer func() {
		if p := recover(); p != nil {
			s.srv.logger.Error("panic while running a statement", "panic", p, "sql", sql, "stack", string(debug.Stack()))
			fail(pgerr.New(pgerr.Internal, "internal error: %v", p))
		}
	}()
	cat := sessionCatalog{ctx: ctx, cache: s.srv.catalog}
	if p, ok, err := planner.BuildCustom(sql, cat); ok {
		defer s.holdCatalog()()
		switch {
		case s.tx != nil && s.tx.failed:
			fail(errAborted)
		case err != nil:
			fail(err)
		default:
			if err := s.execPlan(ctx, p); err != nil {
				fail(err)
			}
		}
		return
	}
	tree, err := pg.Parse(sql)
	if err != nil {
		fail(parseError(err))
		return
	}
	if len(tree.Stmts) == 0 {
		s.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for _, raw := range tree.Stmts {
		if err := s.execStmt(ctx, raw.Stmt, cat); err != nil {
			fail(err)
			return
		}
	}
}

func parseError(err error) error {
	var pe *pgparser.Error
	if errors.As(err, &pe) {
		e := pgerr.New(pgerr.SyntaxError, "%s", pe.Message)
		e.Position = pe.Cursorpos
		return e
	}
	return pgerr.Wrap(err, pgerr.SyntaxError, "syntax error")
}

func (s *session) execStmt(ctx context.Context, stmt *pg.Node, cat sessionCatalog) error {
	if ts := stmt.GetTransactionStmt(); ts != nil {
		before := s.tx
		err := s.transactionStmt(ctx, ts)
		s.afterTxnStmt(ts, before, err)
		if s.tx == nil {
			s.releaseHold()
		}
		return err
	}
	if s.tx != nil && s.tx.failed {
		return errAborted
	}
	defer s.holdCatalog()()
	if s.tx != nil && isDDL(stmt) {
		return s.ddlInBlock(ctx, stmt, cat)
	}
	switch {
	case stmt.GetCopyStmt() != nil:
		return s.copyStmt(ctx, stmt.GetCopyStmt(), cat)
	case stmt.GetVacuumStmt() != nil:
		return s.vacuum(stmt.GetVacuumStmt(), cat)
	case stmt.GetVariableSetStmt() != nil:
		return s.setVariable(stmt.GetVariableSetStmt())
	case stmt.GetVariableShowStmt() != nil:
		return s.show(stmt.GetVariableShowStmt().Name)
	}
	p, err := planner.Build(stmt, cat)
	if err != nil {
		return err
	}
	return s.execPlan(ctx, p)
}

func (s *session) complete(tag string) {
	if s.out != nil {
		s.out.tag = tag
		if s.out.buffer {
			return
		}
	}
	s.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
}

func (s *session) show(name string) error {
	if strings.EqualFold(name, "all") {
		s.showAll()
		return nil
	}
	v, ok := s.settingValue(name)
	if !ok {
		return pgerr.New(pgerr.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	s.sendRows([]exec.Column{{Name: strings.ToLower(name), Type: types.Text}}, [][]types.Datum{{types.NewString(v)}})
	s.complete("SHOW")
	return nil
}

func (s *session) sendRowDescription(cols []exec.Column) {
	if s.out != nil { // Describe sends it in the extended protocol
		s.out.cols = cols
		return
	}
	s.sendFields(cols, nil)
}

func (s *session) sendDataRow(row []types.Datum) {
	if s.out != nil {
		vals, err := s.out.encodeRow(row)
		if err != nil {
			s.out.err = err
			return
		}
		if s.out.buffer {
			s.out.rows = append(s.out.rows, vals)
			return
		}
		s.be.Send(&pgproto3.DataRow{Values: vals})
		return
	}
	vals := make([][]byte, len(row))
	for i, d := range row {
		if !d.IsNull() {
			vals[i] = []byte(d.Text())
		}
	}
	s.be.Send(&pgproto3.DataRow{Values: vals})
}

func (s *session) sendRows(cols []exec.Column, rows [][]types.Datum) {
	s.sendRowDescription(cols)
	for _, r := range rows {
		s.sendDataRow(r)
	}
}

func (s *session) execPlan(ctx context.Context, p planner.Plan) error {
	switch p := p.(type) {
	case *planner.CreateTable:
		if len(p.Sequences) > 0 {
			return s.createTableWithSequences(ctx, p)
		}
		resp, err := s.srv.meta.CreateTable(ctx, &api.CreateTableRequest{Table: descFromTable(p.Table), IfNotExists: p.IfNotExists})
		if err != nil {
			return metaError(err, p.Table.Name)
		}
		if resp.Existed {
			s.notice(fmt.Sprintf("relation %q already exists, skipping", p.Table.Name))
		}
		s.srv.catalog.refresh(ctx)
		s.complete("CREATE TABLE")
		return nil
	case *planner.DropTable:
		return s.dropRelations(ctx, p.Names, p.IfExists, "table")
	case *planner.DropView:
		return s.dropRelations(ctx, p.Names, p.IfExists, "view")
	case *planner.CreateView:
		return s.createView(ctx, p)
	case *planner.CreateIndex:
		return s.createIndex(ctx, p)
	case *planner.DropIndex:
		return s.dropIndex(ctx, p)
	case *planner.CreateSequence:
		return s.createSequence(ctx, p)
	case *planner.AlterSequence:
		return s.alterSequence(ctx, p)
	case *planner.DropSequence:
		return s.dropSequences(ctx, p)
	case *planner.Split:
		return s.split(ctx, p)
	case *planner.ShowRanges:
		return s.showRanges(ctx, p)
	case *planner.Explain:
		return s.explain(ctx, p)
	case *planner.AlterTable:
		return s.alterTableStmt(ctx, p)
	}
	if s.tx != nil {
		err := s.inExplicit(ctx, p)
		return s.describeError(err)
	}
	if sel, ok := p.(*planner.Select); ok {
		return s.runSelect(ctx, sel)
	}
	return s.runWrite(ctx, p)
}

func (s *session) notice(msg string) {
	s.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: msg})
}

func (s *session) runSelect(ctx context.Context, p *planner.Select) error {
	cols := exec.Columns(p)
	t, err := s.srv.client.Begin(ctx)
	if err != nil {
		return err
	}
	s.sendRowDescription(cols)
	tag, err := exec.Run(ctx, p, t, s.execIDs(), func(row []types.Datum) error {
		s.sendDataRow(row)
		return nil
	})
	t.Rollback()
	if err != nil {
		return err
	}
	s.complete(tag)
	return nil
}

// runWrite runs a DML statement as its own transaction, retrying it
// transparently when it loses a write conflict (nothing was sent yet).
func (s *session) runWrite(ctx context.Context, p planner.Plan) error {
	var err error
	for attempt := 0; attempt < maxAutoRetries; attempt++ {
		var tag string
		var rows [][]types.Datum
		tag, err = s.tryWrite(ctx, p, &rows)
		if err == nil {
			if exec.ReturnsRows(p) {
				s.sendRows(exec.Columns(p), rows)
			}
			s.complete(tag)
			return nil
		}
		if pgerr.Code(err) != pgerr.SerializationFailure {
			break
		}
	}
	return s.describeError(err)
}

func (s *session) tryWrite(ctx context.Context, p planner.Plan, rows *[][]types.Datum) (string, error) {
	if locksAutocommit(p) {
		return s.tryLockedWrite(ctx, p, rows)
	}
	t, err := s.srv.client.Begin(ctx)
	if err != nil {
		return "", err
	}
	tag, err := exec.Run(ctx, p, t, s.execIDs(), collectRows(rows))
	if err == nil {
		err = s.srv.checkTxnSize(t)
	}
	if err != nil {
		t.Rollback()
		return "", err
	}
	return tag, t.Commit(ctx)
}

// describeError turns low-level errors into what a PostgreSQL client expects.
func (s *session) describeError(err error) error {
	var ke interface{ ExistingKey() []byte }
	if errors.As(err, &ke) {
		return s.uniqueViolation(ke.ExistingKey())
	}
	var ck *txn.ConflictKey
	if errors.As(err, &ck) {
		// Name the table whose row was changed concurrently.
		if id, _, ok := keys.DecodeTablePrefix(ck.Key); ok {
			if t := s.srv.catalog.lookupID(id); t != nil {
				return pgerr.New(pgerr.SerializationFailure, "could not serialize access due to concurrent update").
					WithDetail("A row of table %q was changed by a concurrent transaction after this transaction's snapshot.", t.Name).
					WithHint("Retry the transaction.")
			}
		}
	}
	if s.stmtCtx != nil && errors.Is(context.Cause(s.stmtCtx), errStatementTimeout) &&
		(pgerr.Code(err) == pgerr.QueryCanceled || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return pgerr.New(pgerr.QueryCanceled, "canceling statement due to statement timeout")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return pgerr.New(pgerr.QueryCanceled, "canceling statement due to user request")
	}
	return err
}

// errStatementTimeout is the cause of a statement's context ending at
// statement_timeout.
var errStatementTimeout = errors.New("statement timeout")

func (s *session) uniqueViolation(key []byte) error {
	e := pgerr.New(pgerr.UniqueViolation, "duplicate key value violates unique constraint")
	id, rest, ok := keys.DecodeTablePrefix(key)
	if !ok {
		return e
	}
	t := s.srv.catalog.lookupID(id)
	if t == nil {
		return e
	}
	name, cols, desc := t.PKName(), t.PK, t.PKDesc
	b := rest[1:]
	if len(rest) >= 5 && rest[0] == 'i' {
		idxID := binary.BigEndian.Uint32(rest[1:5])
		for _, idx := range t.Indexes {
			if idx.ID == idxID {
				name, cols, desc = idx.Name, idx.Cols, idx.Desc
			}
		}
		b = rest[5:]
	}
	e.Message = fmt.Sprintf("duplicate key value violates unique constraint %q", name)
	names := make([]string, len(cols))
	vals := make([]string, len(cols))
	for i, o := range cols {
		d, next, err := rowenc.DecodeKeyDatum(b, t.Columns[o].Type, desc[i])
		if err != nil {
			return e
		}
		b = next
		names[i] = t.Columns[o].Name
		vals[i] = d.Text()
	}
	return e.WithDetail("Key (%s)=(%s) already exists.", strings.Join(names, ", "), strings.Join(vals, ", "))
}

func (s *session) sendError(err error) {
	e := pgerr.From(s.describeError(err))
	if e.Code == pgerr.Internal {
		s.srv.logger.Error("internal error", "err", err)
	}
	s.be.Send(&pgproto3.ErrorResponse{
		Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: e.Code,
		Message: e.Message, Detail: e.Detail, Hint: e.Hint, Position: int32(e.Position),
	})
}

// formatMillis shows a time setting as PostgreSQL does ("0", "2s", "150ms").
func formatMillis(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

func memOrDefault(b int64) int64 {
	if b > 0 {
		return b
	}
	return exec.DefaultMemoryBudget
}

// vacuum answers VACUUM and ANALYZE: the named tables must exist; there is
// nothing to do (old versions are garbage-collected in the background,
// and the planner keeps no statistics yet).
func (s *session) vacuum(vs *pg.VacuumStmt, cat sessionCatalog) error {
	if s.tx != nil && vs.IsVacuumcmd {
		return pgerr.New(pgerr.ActiveSQLTransaction, "VACUUM cannot run inside a transaction block")
	}
	for _, r := range vs.Rels {
		if vr := r.GetVacuumRelation(); vr != nil && vr.Relation != nil {
			if _, err := cat.Table(vr.Relation.Relname); err != nil {
				return err
			}
		}
	}
	if vs.IsVacuumcmd {
		s.complete("VACUUM")
	} else {
		s.complete("ANALYZE")
	}
	return nil
}
