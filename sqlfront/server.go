package sqlfront

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/txn"
)

// lockSweepInterval is how often the frontend resolves old orphaned locks.
const lockSweepInterval = 10 * time.Second

// MaxMessageSize bounds one protocol message from a client.
const MaxMessageSize = 64 << 20

// Config configures a SQL frontend.
type Config struct {
	Meta   api.MetaClient
	Logger *slog.Logger
	// MaxTxnBytes bounds the writes of one transaction; 0: DefaultMaxTxnBytes.
	MaxTxnBytes int
	// MaxConnections bounds the client sessions at once; 0:
	// DefaultMaxConnections.
	MaxConnections int
}

// DefaultMaxConnections is PostgreSQL's default max_connections.
const DefaultMaxConnections = 100

// Server accepts PostgreSQL connections and serves them.
type Server struct {
	meta    api.MetaClient
	logger  *slog.Logger
	client  *txn.Client
	catalog *catalogCache
	rowIDs  *rowIDAllocator
	seqs    *sequenceAllocator
	// maxTxnBytes bounds the writes of one transaction.
	maxTxnBytes int
	// maxConns bounds the sessions at once.
	maxConns int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nextID atomic.Uint32

	// nodeID is the id the metadata service gave this frontend (Start).
	nodeID atomic.Uint64
	// heartbeatNow asks the heartbeat loop for an early heartbeat.
	heartbeatNow chan struct{}
	// txMu guards openTxns: the start timestamp of each session's open
	// explicit transaction, by session process id.
	txMu     sync.Mutex
	openTxns map[uint32]uint64

	mu       sync.Mutex
	lis      []net.Listener
	conns    map[net.Conn]struct{}
	sessions map[uint32]*session // by BackendKeyData process id, for cancel requests
}

// New returns a frontend using the metadata service cfg.Meta.
func New(cfg Config) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	client := txn.NewClient(cfg.Meta, logger)
	s := &Server{
		meta:        cfg.Meta,
		logger:      logger,
		client:      client,
		catalog:     newCatalogCache(cfg.Meta, logger),
		rowIDs:      &rowIDAllocator{oracle: client.Oracle()},
		seqs:        newSequenceAllocator(cfg.Meta),
		ctx:         ctx,
		cancel:      cancel,
		conns:       map[net.Conn]struct{}{},
		sessions:    map[uint32]*session{},
		maxTxnBytes: cfg.MaxTxnBytes,
		maxConns:    cfg.MaxConnections,

		heartbeatNow: make(chan struct{}, 1),
		openTxns:     map[uint32]uint64{},
	}
	if s.maxTxnBytes <= 0 {
		s.maxTxnBytes = DefaultMaxTxnBytes
	}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConnections
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.catalog.watch(ctx) }()
	// Locks of coordinators that died are resolved by readers that meet
	// them, and by this sweep for the ones nobody reads (they would hold
	// the GC safe point back).
	client.StartLockResolver(lockSweepInterval)
	return s
}

// Serve accepts connections on lis until Close.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	s.lis = append(s.lis, lis)
	s.mu.Unlock()
	for {
		conn, err := lis.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			s.serveConn(conn)
		}()
	}
}

// Close stops accepting, closes every connection and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.mu.Lock()
	for _, l := range s.lis {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.client.Close()
}

func (s *Server) serveConn(conn net.Conn) {
	be := pgproto3.NewBackend(conn, conn)
	be.SetMaxBodyLen(MaxMessageSize)
	sess, err := s.startup(conn, be)
	if err != nil {
		if !errors.Is(err, errClosedByClient) {
			s.logger.Debug("startup failed", "remote", conn.RemoteAddr(), "err", err)
		}
		return
	}
	s.mu.Lock()
	s.sessions[sess.pid] = sess
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess.pid)
		s.mu.Unlock()
	}()
	sess.run()
	if sess.tx != nil {
		sess.tx.t.Rollback() // the client went away mid-transaction
		s.untrackTxn(sess.pid)
	}
}

var errClosedByClient = errors.New("connection closed by client")

// startup runs the startup phase: SSL/GSS negotiation (refused for now),
// the startup message, trust authentication and the parameter statuses.
func (s *Server) startup(conn net.Conn, be *pgproto3.Backend) (*session, error) {
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	defer conn.SetDeadline(time.Time{})
	for {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return nil, fmt.Errorf("reading startup message: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return nil, err
			}
		case *pgproto3.CancelRequest:
			s.cancelRequest(m.ProcessID, m.SecretKey)
			return nil, errClosedByClient
		case *pgproto3.StartupMessage:
			if m.ProtocolVersion != pgproto3.ProtocolVersionNumber {
				fatal(be, "08P01", fmt.Sprintf("unsupported frontend protocol %d.%d", m.ProtocolVersion>>16, m.ProtocolVersion&0xffff))
				return nil, errors.New("bad protocol version")
			}
			s.mu.Lock()
			full := len(s.sessions) >= s.maxConns
			s.mu.Unlock()
			if full {
				fatal(be, "53300", "sorry, too many clients already")
				return nil, errors.New("too many clients")
			}
			user := m.Parameters["user"]
			if user == "" {
				fatal(be, "28000", "no PostgreSQL user name specified in startup packet")
				return nil, errors.New("no user")
			}
			db := m.Parameters["database"]
			if db == "" {
				db = user
			}
			secret := make([]byte, 4)
			rand.Read(secret)
			sess := &session{srv: s, conn: conn, be: be, user: user, database: db, pid: s.nextID.Add(1), secret: secret, defaultIsolation: readCommitted,
				stmts: map[string]*prepared{}, portals: map[string]*portal{}}
			be.Send(&pgproto3.AuthenticationOk{})
			params := [][2]string{
				{"server_version", "15.4"},
				{"server_encoding", "UTF8"},
				{"client_encoding", "UTF8"},
				{"DateStyle", "ISO, MDY"},
				{"IntervalStyle", "postgres"},
				{"integer_datetimes", "on"},
				{"standard_conforming_strings", "on"},
				{"TimeZone", "UTC"},
				{"is_superuser", "on"},
				{"session_authorization", user},
				{"application_name", m.Parameters["application_name"]},
			}
			for _, p := range params {
				be.Send(&pgproto3.ParameterStatus{Name: p[0], Value: p[1]})
			}
			if an := m.Parameters["application_name"]; an != "" {
				sess.gucs = map[string]string{"application_name": an}
			}
			be.Send(&pgproto3.BackendKeyData{ProcessID: sess.pid, SecretKey: secret})
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			if err := be.Flush(); err != nil {
				return nil, err
			}
			return sess, nil
		default:
			return nil, fmt.Errorf("unexpected startup message %T", msg)
		}
	}
}

func fatal(be *pgproto3.Backend, code, msg string) {
	be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
	be.Flush()
}

// rowIDAllocator hands out unique row ids from blocks of TSO timestamps,
// which are unique across the cluster.
type rowIDAllocator struct {
	oracle *txn.Oracle
	mu     sync.Mutex
	next   uint64
	limit  uint64
}

const rowIDBlock = 256

// NextRowID implements exec.RowIDs.
func (a *rowIDAllocator) NextRowID(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == a.limit {
		first, err := a.oracle.Reserve(ctx, rowIDBlock)
		if err != nil {
			return 0, err
		}
		a.next, a.limit = first, first+rowIDBlock
	}
	id := a.next
	a.next++
	return int64(id & (1<<63 - 1)), nil
}

// cancelRequest cancels the statement running on the session with the given
// process id, if the secret matches.
func (s *Server) cancelRequest(pid uint32, secret []byte) {
	s.mu.Lock()
	sess := s.sessions[pid]
	s.mu.Unlock()
	if sess == nil || string(sess.secret) != string(secret) {
		return
	}
	sess.cancelStatement()
}
