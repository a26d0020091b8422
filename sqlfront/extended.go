package sqlfront

import (
	"context"
	"runtime/debug"

	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// prepared is a statement of the extended query protocol (Parse). Its plan
// is built once, with parameters as placeholders, and bound per execution;
// a catalog change since it was planned makes the next execution plan it
// again (and fail if its result columns changed, as PostgreSQL does).
type prepared struct {
	sql  string
	stmt *pg.Node // nil: the empty query
	// custom is set for statements of ShardSQL's own grammar (no parameters).
	custom     bool
	declared   []types.T // types the client gave (Unknown: infer)
	paramTypes []types.T
	// plan is nil for statements that are not planned ahead (SET, BEGIN,
	// SHOW, DDL): they run as the simple protocol would run them.
	plan       planner.Plan
	catVersion uint64
	cols       []exec.Column
}

// portal is a bound statement (Bind), ready to run (Execute).
type portal struct {
	stmt    *prepared
	params  []types.Datum
	formats []int16 // result column formats, as Bind sent them
	// An execution with a row limit keeps its rows here between Executes.
	started bool
	rows    [][][]byte
	tag     string
}

// extOut redirects what a statement sends while a portal runs: no
// RowDescription (Describe sends that), rows in the portal's formats, and
// the rows and tag kept back when the client asked for a row limit.
type extOut struct {
	formats []int16
	cols    []exec.Column
	buffer  bool
	rows    [][][]byte
	tag     string
	// err is a row that could not be encoded in the asked format.
	err error
}

func (o *extOut) format(i int) int16 {
	switch len(o.formats) {
	case 0:
		return 0
	case 1:
		return o.formats[0]
	}
	if i < len(o.formats) {
		return o.formats[i]
	}
	return 0
}

// encodeRow renders a row in the portal's formats.
func (o *extOut) encodeRow(row []types.Datum) ([][]byte, error) {
	vals := make([][]byte, len(row))
	for i, d := range row {
		if d.IsNull() {
			continue
		}
		if o.format(i) == 1 {
			t := types.Unknown
			if i < len(o.cols) {
				t = o.cols[i].Type
			}
			if t.Family == types.UnknownFamily {
				t = types.Text
			}
			b, ok := encodeBinary(t, d)
			if !ok {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "binary format for results of type %s is not supported yet", t)
			}
			vals[i] = b
			continue
		}
		vals[i] = []byte(d.Text())
	}
	return vals, nil
}

// extendedMessage handles one message of the extended query protocol. An
// error is reported by the caller, which then skips to the next Sync.
func (s *session) extendedMessage(msg pgproto3.FrontendMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.srv.logger.Error("panic in the extended protocol", "panic", p, "stack", string(debug.Stack()))
			err = pgerr.New(pgerr.Internal, "internal error: %v", p)
		}
	}()
	switch m := msg.(type) {
	case *pgproto3.Parse:
		return s.parse(m)
	case *pgproto3.Bind:
		return s.bind(m)
	case *pgproto3.Describe:
		return s.describe(m)
	case *pgproto3.Execute:
		return s.execute(m)
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(s.stmts, m.Name)
		} else {
			delete(s.portals, m.Name)
		}
		s.be.Send(&pgproto3.CloseComplete{})
	case *pgproto3.Flush:
		// The caller flushes after every message.
	}
	return nil
}

func (s *session) parse(m *pgproto3.Parse) error {
	if m.Name != "" {
		if _, ok := s.stmts[m.Name]; ok {
			return pgerr.New(pgerr.DuplicatePreparedStatement, "prepared statement %q already exists", m.Name)
		}
	}
	p := &prepared{sql: m.Query}
	for _, oid := range m.ParameterOIDs {
		t := types.Unknown
		if oid != 0 {
			var ok bool
			if t, ok = types.FromOID(oid); !ok {
				return pgerr.New(pgerr.UndefinedObject, "type with OID %d is not supported", oid)
			}
		}
		p.declared = append(p.declared, t)
	}
	ctx := s.srv.ctx
	cat := sessionCatalog{ctx: ctx, cache: s.srv.catalog}
	if plan, ok, err := planner.BuildCustom(m.Query, cat); ok {
		if err != nil {
			return err
		}
		p.custom, p.plan = true, plan
	} else {
		tree, err := pg.Parse(m.Query)
		if err != nil {
			return parseError(err)
		}
		switch len(tree.Stmts) {
		case 0:
		case 1:
			p.stmt = tree.Stmts[0].Stmt
		default:
			return pgerr.New(pgerr.SyntaxError, "cannot insert multiple commands into a prepared statement")
		}
		if err := s.planPrepared(p); err != nil {
			return err
		}
	}
	s.stmts[m.Name] = p
	s.be.Send(&pgproto3.ParseComplete{})
	return nil
}

// plannedAhead reports whether a statement's plan is built at Parse.
func plannedAhead(n *pg.Node) bool {
	return n.GetSelectStmt() != nil || n.GetInsertStmt() != nil || n.GetUpdateStmt() != nil || n.GetDeleteStmt() != nil
}

// planPrepared (re)builds a prepared statement's plan.
func (s *session) planPrepared(p *prepared) error {
	p.paramTypes = append([]types.T(nil), p.declared...)
	for i, t := range p.paramTypes {
		if t.Family == types.UnknownFamily {
			p.paramTypes[i] = types.Text
		}
	}
	if p.stmt == nil || !plannedAhead(p.stmt) {
		return nil
	}
	version := s.srv.catalog.currentVersion()
	cat := sessionCatalog{ctx: s.srv.ctx, cache: s.srv.catalog}
	plan, pt, err := planner.BuildParams(p.stmt, cat, p.declared)
	if err != nil {
		return err
	}
	cols := exec.Columns(plan)
	if p.plan != nil && !sameColumns(p.cols, cols) {
		return pgerr.New(pgerr.FeatureNotSupported, "cached plan must not change result type")
	}
	p.plan, p.paramTypes, p.cols, p.catVersion = plan, pt, cols, version
	return nil
}

func sameColumns(a, b []exec.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}

func (s *session) bind(m *pgproto3.Bind) error {
	p, ok := s.stmts[m.PreparedStatement]
	if !ok {
		return pgerr.New(pgerr.InvalidSQLStatementName, "prepared statement %q does not exist", m.PreparedStatement)
	}
	if s.tx != nil && s.tx.failed && !isTxnEnd(p.stmt) {
		return errAborted
	}
	if len(m.Parameters) != len(p.paramTypes) {
		return pgerr.New(pgerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, len(p.paramTypes))
	}
	if n := len(m.ParameterFormatCodes); n > 1 && n != len(m.Parameters) {
		return pgerr.New(pgerr.ProtocolViolation, "bind message has %d parameter formats but %d parameters", n, len(m.Parameters))
	}
	vals := make([]types.Datum, len(m.Parameters))
	for i, raw := range m.Parameters {
		if raw == nil {
			vals[i] = types.Null
			continue
		}
		format := int16(0)
		switch len(m.ParameterFormatCodes) {
		case 0:
		case 1:
			format = m.ParameterFormatCodes[0]
		default:
			format = m.ParameterFormatCodes[i]
		}
		var d types.Datum
		var err error
		if format == 1 {
			d, err = decodeBinary(p.paramTypes[i], raw)
		} else {
			d, err = types.ParseDatum(p.paramTypes[i], string(raw))
		}
		if err != nil {
			return err
		}
		vals[i] = d
	}
	s.portals[m.DestinationPortal] = &portal{stmt: p, params: vals, formats: m.ResultFormatCodes}
	s.be.Send(&pgproto3.BindComplete{})
	return nil
}

func isTxnEnd(n *pg.Node) bool {
	if n == nil || n.GetTransactionStmt() == nil {
		return false
	}
	switch n.GetTransactionStmt().Kind {
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK,
		pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return true
	}
	return false
}

func (s *session) describe(m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		p, ok := s.stmts[m.Name]
		if !ok {
			return pgerr.New(pgerr.InvalidSQLStatementName, "prepared statement %q does not exist", m.Name)
		}
		if err := s.replanIfStale(p); err != nil {
			return err
		}
		oids := make([]uint32, len(p.paramTypes))
		for i, t := range p.paramTypes {
			oids[i] = t.OID()
		}
		s.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		s.describeRows(p, nil)
		return nil
	}
	pt, ok := s.portals[m.Name]
	if !ok {
		return pgerr.New(pgerr.InvalidCursorName, "portal %q does not exist", m.Name)
	}
	if err := s.replanIfStale(pt.stmt); err != nil {
		return err
	}
	s.describeRows(pt.stmt, pt.formats)
	return nil
}

// describeRows sends the RowDescription of a statement's result, or NoData.
func (s *session) describeRows(p *prepared, formats []int16) {
	if p.plan == nil || len(p.cols) == 0 {
		if p.stmt != nil && p.stmt.GetVariableShowStmt() != nil {
			name := p.stmt.GetVariableShowStmt().Name
			s.sendFields([]exec.Column{{Name: name, Type: types.Text}}, formats)
			return
		}
		if p.stmt != nil && p.stmt.GetExplainStmt() != nil {
			s.sendFields([]exec.Column{{Name: "QUERY PLAN", Type: types.Text}}, formats)
			return
		}
		s.be.Send(&pgproto3.NoData{})
		return
	}
	s.sendFields(p.cols, formats)
}

func (s *session) sendFields(cols []exec.Column, formats []int16) {
	o := &extOut{formats: formats}
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, c := range cols {
		fields[i] = pgproto3.FieldDescription{
			Name:         []byte(c.Name),
			DataTypeOID:  c.Type.OID(),
			DataTypeSize: c.Type.Size(),
			TypeModifier: c.Type.Modifier(),
			Format:       o.format(i),
		}
	}
	s.be.Send(&pgproto3.RowDescription{Fields: fields})
}

// replanIfStale plans a prepared statement again after a catalog change.
func (s *session) replanIfStale(p *prepared) error {
	if p.plan == nil || p.custom || p.catVersion == s.srv.catalog.currentVersion() {
		return nil
	}
	return s.planPrepared(p)
}

func (s *session) execute(m *pgproto3.Execute) error {
	pt, ok := s.portals[m.Portal]
	if !ok {
		return pgerr.New(pgerr.InvalidCursorName, "portal %q does not exist", m.Portal)
	}
	p := pt.stmt
	if pt.started { // a later Execute of a row-limited portal
		return s.sendPortalRows(pt, int(m.MaxRows))
	}
	if p.stmt == nil && !p.custom {
		s.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if err := s.replanIfStale(p); err != nil {
		return err
	}
	ctx, done := s.statementContext()
	defer done()
	ctx = exec.WithParams(ctx, pt.params)
	out := &extOut{formats: pt.formats, cols: p.cols, buffer: m.MaxRows > 0}
	s.out = out
	defer func() { s.out = nil }()
	var err error
	switch {
	case p.plan != nil && (s.tx == nil || !s.tx.failed):
		release := s.holdCatalog()
		err = s.execPlan(ctx, p.plan)
		release()
	default:
		err = s.execStmt(ctx, p.stmt, sessionCatalog{ctx: ctx, cache: s.srv.catalog})
	}
	if err == nil {
		err = out.err
	}
	if err != nil {
		return s.describeError(err) // while the statement's context still tells a timeout
	}
	pt.started, pt.rows, pt.tag = true, out.rows, out.tag
	if out.buffer {
		return s.sendPortalRows(pt, int(m.MaxRows))
	}
	return nil // a later Execute of this portal only repeats its tag
}

// sendPortalRows sends up to max of a portal's kept rows, then either
// PortalSuspended (more remain) or the command tag.
func (s *session) sendPortalRows(pt *portal, max int) error {
	n := len(pt.rows)
	if max > 0 && max < n {
		n = max
	}
	for _, r := range pt.rows[:n] {
		s.be.Send(&pgproto3.DataRow{Values: r})
	}
	pt.rows = pt.rows[n:]
	if len(pt.rows) > 0 {
		s.be.Send(&pgproto3.PortalSuspended{})
		return nil
	}
	if pt.tag != "" {
		s.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(pt.tag)})
	}
	return nil
}

// statementContext returns the context a statement runs under (cancellable
// by a CancelRequest, with the session's settings) and its cleanup.
func (s *session) statementContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(s.srv.ctx)
	if s.statementTimeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, s.statementTimeout, errStatementTimeout)
		inner := cancel
		cancel = func() { stop(); inner() }
	}
	s.stmtCtx = ctx
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	if s.noPushdown {
		ctx = exec.WithoutPushdown(ctx)
	}
	ctx = exec.WithMemoryBudget(ctx, s.memBudget)
	ctx = exec.WithSettings(ctx, sessionSettings{s})
	return ctx, func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
		cancel()
		s.stmtCtx = nil
	}
}

// extendedError reports an error of the extended protocol and skips the
// messages up to the next Sync, as the protocol requires. It returns false
// when the connection ended meanwhile.
func (s *session) extendedError(err error) bool {
	s.failTx(err)
	s.sendError(err)
	if err := s.be.Flush(); err != nil {
		return false
	}
	return s.skipUntilSync()
}
