package sqlfront

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
	"github.com/shardsql/shardsql/txn"
)

// Isolation levels, as PostgreSQL names them.
const (
	readCommitted  = "read committed"
	repeatableRead = "repeatable read"
	serializable   = "serializable"
)

// txnState is the explicit transaction of a session (BEGIN ... COMMIT).
type txnState struct {
	t         *txn.Txn
	isolation string
	readOnly  bool
	// failed is PostgreSQL's aborted-transaction state: everything but
	// ROLLBACK (or COMMIT, which rolls back) fails with 25P02.
	failed     bool
	savepoints []namedSavepoint
	// statements counts the statements run in the transaction.
	statements int
	// settingsBefore and settingsBeforeLocal are the session's settings
	// before its first SET and first SET LOCAL in the transaction
	// (settings.go).
	settingsBefore, settingsBeforeLocal *settingsSnap
}

type namedSavepoint struct {
	name string
	sp   txn.Savepoint
}

// DefaultMaxTxnBytes bounds the writes one transaction buffers (54000 beyond it).
const DefaultMaxTxnBytes = 64 << 20

func (s *Server) checkTxnSize(t *txn.Txn) error {
	if t.Size() > s.maxTxnBytes {
		return pgerr.New(pgerr.ProgramLimitExceeded, "transaction is too large: %d bytes of writes, the limit is %d", t.Size(), s.maxTxnBytes).
			WithDetail("Split the work into smaller transactions.")
	}
	return nil
}

// parseDuration reads a PostgreSQL time setting: a number of milliseconds,
// or a number with a unit (us, ms, s, min, h, d).
func parseDuration(c *pg.A_Const) (time.Duration, error) {
	if c == nil {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid value for a time setting")
	}
	if iv := c.GetIval(); iv != nil {
		return time.Duration(iv.GetIval()) * time.Millisecond, nil
	}
	v := strings.TrimSpace(strings.ToLower(c.GetSval().GetSval()))
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"min", time.Minute}, {"s", time.Second}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	mult := time.Millisecond
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.d
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid value for a time setting: %q", c.GetSval().GetSval())
	}
	return time.Duration(n * float64(mult)), nil
}

// maxStatementRestarts bounds how often a READ COMMITTED statement re-reads
// after losing a row to a concurrent writer.
const maxStatementRestarts = 100

// txStatus is the ReadyForQuery status: idle, in a transaction, or failed.
func (s *session) txStatus() byte {
	switch {
	case s.tx == nil:
		return 'I'
	case s.tx.failed:
		return 'E'
	}
	return 'T'
}

func (s *session) readyForQuery() {
	s.be.Send(&pgproto3.ReadyForQuery{TxStatus: s.txStatus()})
}

func (s *session) warning(msg string) {
	s.be.Send(&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "25001", Message: msg})
}

// parseIsolation reads transaction options (ISOLATION LEVEL, READ ONLY/WRITE).
func parseTxnOptions(opts []*pg.Node) (iso string, readOnly, setRO bool, err error) {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "transaction_isolation":
			iso = strings.ToLower(d.Arg.GetAConst().GetSval().GetSval())
		case "transaction_read_only":
			setRO = true
			if c := d.Arg.GetAConst(); c != nil {
				readOnly = c.GetIval().GetIval() != 0 || c.GetBoolval().GetBoolval()
			}
		case "transaction_deferrable":
		}
	}
	if iso != "" {
		iso, err = checkIsolation(iso)
	}
	return iso, readOnly, setRO, err
}

// checkIsolation accepts PostgreSQL's level names; SERIALIZABLE is refused
// rather than silently weakened.
func checkIsolation(iso string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(iso)) {
	case "read committed", "read uncommitted":
		return readCommitted, nil
	case "repeatable read":
		return repeatableRead, nil
	case "serializable":
		return "", pgerr.New(pgerr.FeatureNotSupported, "SERIALIZABLE isolation is not supported yet").
			WithDetail("ShardSQL offers READ COMMITTED (the default) and REPEATABLE READ (snapshot isolation); it never runs a SERIALIZABLE transaction at a weaker level.")
	}
	return "", pgerr.New(pgerr.InvalidParameterValue, "invalid value for parameter \"transaction_isolation\": %q", iso)
}

// transactionStmt runs BEGIN, COMMIT, ROLLBACK and the savepoint statements.
func (s *session) transactionStmt(ctx context.Context, ts *pg.TransactionStmt) error {
	switch ts.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		if s.tx != nil {
			s.warning("there is already a transaction in progress")
			s.complete(beginTag(ts))
			return nil
		}
		iso, ro, setRO, err := parseTxnOptions(ts.Options)
		if err != nil {
			return err
		}
		if iso == "" {
			iso = s.defaultIsolation
		}
		if !setRO {
			ro = s.defaultReadOnly
		}
		t, err := s.srv.client.Begin(ctx)
		if err != nil {
			return err
		}
		t.Pessimistic = true
		t.LockTimeout = s.lockTimeout
		s.tx = &txnState{t: t, isolation: iso, readOnly: ro}
		s.srv.trackTxn(s.pid, t.StartTS)
		s.complete(beginTag(ts))
		return nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		if s.tx == nil {
			s.warning("there is no transaction in progress")
			s.complete("COMMIT")
			return nil
		}
		tx := s.tx
		s.tx = nil
		defer s.srv.untrackTxn(s.pid)
		if tx.failed {
			tx.t.Rollback()
			if tx.settingsBefore != nil {
				s.restoreSettings(tx.settingsBefore)
			}
			s.complete("ROLLBACK")
			return nil
		}
		if err := tx.t.Commit(ctx); err != nil {
			if tx.settingsBefore != nil {
				s.restoreSettings(tx.settingsBefore)
			}
			return err
		}
		if tx.settingsBeforeLocal != nil {
			s.restoreSettings(tx.settingsBeforeLocal)
		}
		s.complete("COMMIT")
		return nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if s.tx == nil {
			s.warning("there is no transaction in progress")
		} else {
			s.tx.t.Rollback()
			if s.tx.settingsBefore != nil {
				s.restoreSettings(s.tx.settingsBefore)
			}
			s.tx = nil
			s.srv.untrackTxn(s.pid)
		}
		s.complete("ROLLBACK")
		return nil
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		if s.tx == nil {
			return pgerr.New("25P01", "SAVEPOINT can only be used in transaction blocks")
		}
		if s.tx.failed {
			return errAborted
		}
		s.tx.savepoints = append(s.tx.savepoints, namedSavepoint{name: ts.SavepointName, sp: s.tx.t.Savepoint()})
		s.complete("SAVEPOINT")
		return nil
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		verb := "RELEASE SAVEPOINT"
		if ts.Kind == pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO {
			verb = "ROLLBACK TO SAVEPOINT"
		}
		if s.tx == nil {
			return pgerr.New("25P01", "%s can only be used in transaction blocks", verb)
		}
		if s.tx.failed && ts.Kind == pg.TransactionStmtKind_TRANS_STMT_RELEASE {
			return errAborted
		}
		i := len(s.tx.savepoints) - 1
		for ; i >= 0 && s.tx.savepoints[i].name != ts.SavepointName; i-- {
		}
		if i < 0 {
			return pgerr.New("3B001", "savepoint %q does not exist", ts.SavepointName)
		}
		if ts.Kind == pg.TransactionStmtKind_TRANS_STMT_RELEASE {
			s.tx.savepoints = s.tx.savepoints[:i]
			s.complete("RELEASE")
			return nil
		}
		if err := s.tx.t.RollbackToReleasing(ctx, s.tx.savepoints[i].sp); err != nil {
			return err
		}
		s.tx.savepoints = s.tx.savepoints[:i+1]
		s.tx.failed = false
		s.complete("ROLLBACK")
		return nil
	}
	return pgerr.New(pgerr.FeatureNotSupported, "prepared transactions are not supported")
}

func beginTag(ts *pg.TransactionStmt) string {
	if ts.Kind == pg.TransactionStmtKind_TRANS_STMT_START {
		return "START TRANSACTION"
	}
	return "BEGIN"
}

var errAborted = pgerr.New("25P02", "current transaction is aborted, commands ignored until end of transaction block")

// setVariable handles SET; transaction settings take effect, the rest are
// accepted as no-ops for now.
func (s *session) setVariable(vs *pg.VariableSetStmt) error {
	name := strings.ToLower(vs.Name)
	if name != "transaction" && name != "session characteristics" && !s.settingsBeforeSet(vs.IsLocal) {
		s.complete("SET")
		return nil
	}
	switch name {
	case "transaction", "session characteristics":
		iso, ro, setRO, err := parseTxnOptions(vs.Args)
		if err != nil {
			return err
		}
		if name == "session characteristics" {
			if iso != "" {
				s.defaultIsolation = iso
			}
			if setRO {
				s.defaultReadOnly = ro
			}
		} else if s.tx != nil {
			if iso != "" {
				if s.tx.t.Writes() > 0 || s.tx.statements > 0 {
					return pgerr.New("25001", "SET TRANSACTION ISOLATION LEVEL must be called before any query")
				}
				s.tx.isolation = iso
			}
			if setRO {
				s.tx.readOnly = ro
			}
		} else {
			s.warning("SET TRANSACTION can only be used in transaction blocks")
		}
	case "default_transaction_isolation", "transaction_isolation":
		if vs.Kind == pg.VariableSetKind_VAR_SET_DEFAULT || vs.Kind == pg.VariableSetKind_VAR_RESET {
			s.defaultIsolation = readCommitted
			break
		}
		if len(vs.Args) == 0 {
			break
		}
		iso, err := checkIsolation(vs.Args[0].GetAConst().GetSval().GetSval())
		if err != nil {
			return err
		}
		if name == "transaction_isolation" && s.tx != nil {
			s.tx.isolation = iso
		} else {
			s.defaultIsolation = iso
		}
	case "lock_timeout":
		if vs.Kind == pg.VariableSetKind_VAR_SET_DEFAULT || vs.Kind == pg.VariableSetKind_VAR_RESET || len(vs.Args) == 0 {
			s.lockTimeout = 0
		} else {
			d, err := parseDuration(vs.Args[0].GetAConst())
			if err != nil {
				return err
			}
			s.lockTimeout = d
		}
		if s.tx != nil {
			s.tx.t.LockTimeout = s.lockTimeout
		}
	case "statement_timeout":
		if vs.Kind == pg.VariableSetKind_VAR_SET_DEFAULT || vs.Kind == pg.VariableSetKind_VAR_RESET || len(vs.Args) == 0 {
			s.statementTimeout = 0
		} else {
			d, err := parseDuration(vs.Args[0].GetAConst())
			if err != nil {
				return err
			}
			s.statementTimeout = d
		}
	case "shardsql.pushdown":
		// off: shard servers return whole rows and the frontend does all
		// the work (to measure what pushdown saves).
		on := true
		if vs.Kind != pg.VariableSetKind_VAR_SET_DEFAULT && vs.Kind != pg.VariableSetKind_VAR_RESET && len(vs.Args) > 0 {
			c := vs.Args[0].GetAConst()
			v := strings.ToLower(c.GetSval().GetSval())
			on = v == "on" || v == "true" || c.GetBoolval().GetBoolval()
		}
		s.noPushdown = !on
	case "shardsql.max_statement_memory":
		s.memBudget = 0
		if vs.Kind != pg.VariableSetKind_VAR_SET_DEFAULT && vs.Kind != pg.VariableSetKind_VAR_RESET && len(vs.Args) > 0 {
			b, err := parseMemory(vs.Args[0].GetAConst())
			if err != nil {
				return err
			}
			s.memBudget = b
		}
	case "default_transaction_read_only":
		if len(vs.Args) > 0 {
			c := vs.Args[0].GetAConst()
			v := strings.ToLower(c.GetSval().GetSval())
			s.defaultReadOnly = v == "on" || v == "true" || c.GetBoolval().GetBoolval()
		}
	default:
		if err := s.setGeneric(vs); err != nil {
			return err
		}
	}
	if vs.Kind == pg.VariableSetKind_VAR_RESET || vs.Kind == pg.VariableSetKind_VAR_RESET_ALL {
		s.complete("RESET")
		return nil
	}
	s.complete("SET")
	return nil
}

// currentIsolation is what SHOW transaction_isolation reports.
func (s *session) currentIsolation() string {
	if s.tx != nil {
		return s.tx.isolation
	}
	return s.defaultIsolation
}

// inExplicit runs a planned statement inside the session's transaction:
// under READ COMMITTED each statement reads a fresh snapshot and re-runs
// on a newer one when a row it is changing was changed concurrently;
// under REPEATABLE READ that is a serialization failure.
func (s *session) inExplicit(ctx context.Context, p planner.Plan) error {
	tx := s.tx
	tx.statements++
	if tx.readOnly {
		switch p := p.(type) {
		case *planner.Insert, *planner.Update, *planner.Delete, *planner.Truncate:
			return pgerr.New("25006", "cannot execute %s in a read-only transaction", planName(p))
		case *planner.Select:
			if p.Lock != nil {
				return pgerr.New("25006", "cannot execute SELECT FOR UPDATE in a read-only transaction")
			}
		}
	}
	before := tx.t.Savepoint()
	for attempt := 0; ; attempt++ {
		if tx.isolation == readCommitted {
			ts, err := s.srv.client.Oracle().Now(ctx)
			if err != nil {
				return pgerr.Wrap(err, pgerr.SystemError, "getting a statement snapshot")
			}
			tx.t.ReadTS = ts
		}
		cols := exec.Columns(p)
		var rows [][]types.Datum
		tag, err := exec.Run(ctx, p, tx.t, s.execIDs(), func(row []types.Datum) error {
			rows = append(rows, row)
			return nil
		})
		if err == nil {
			err = s.srv.checkTxnSize(tx.t)
		}
		if err == nil {
			if exec.ReturnsRows(p) {
				s.sendRows(cols, rows)
			}
			s.complete(tag)
			return nil
		}
		if !txn.IsLockConflict(err) {
			return err
		}
		tx.t.RollbackTo(before)
		if tx.isolation != readCommitted {
			return txn.SerializationFailure(err)
		}
		if attempt >= maxStatementRestarts {
			return pgerr.New(pgerr.LockNotAvailable, "could not lock the rows after %d re-reads", attempt)
		}
	}
}

func planName(p planner.Plan) string {
	switch p.(type) {
	case *planner.Insert:
		return "INSERT"
	case *planner.Update:
		return "UPDATE"
	case *planner.Delete:
		return "DELETE"
	case *planner.Truncate:
		return "TRUNCATE TABLE"
	}
	return "statement"
}

// failTx puts an open transaction into the failed state after an error.
func (s *session) failTx(err error) {
	if s.tx != nil && err != nil && !errors.Is(err, errAborted) {
		s.tx.failed = true
	}
}

// parseMemory reads a memory size as PostgreSQL's settings take it: a
// number of kilobytes, or a string with a unit (B, kB, MB, GB, TB).
func parseMemory(c *pg.A_Const) (int64, error) {
	if c.GetIval() != nil {
		return int64(c.GetIval().Ival) << 10, nil
	}
	v := strings.TrimSpace(c.GetSval().GetSval())
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil || n < 0 {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid value for parameter \"shardsql.max_statement_memory\": %q", v)
	}
	units := map[string]int64{"": 1 << 10, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
	u, ok := units[strings.ToLower(strings.TrimSpace(v[i:]))]
	if !ok {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid value for parameter \"shardsql.max_statement_memory\": %q", v).
			WithHint("Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
	}
	return n * u, nil
}
