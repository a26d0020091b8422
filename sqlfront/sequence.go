package sqlfront

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// SQLSTATEs of sequences and identity columns.
const (
	codeObjectNotInPrerequisiteState = "55000"
	codeSequenceGeneratorLimit       = "2200H"
	codeDependentObjectsStillExist   = "2BP01"
)

// sequenceAllocator hands out sequence values from blocks the metadata
// service reserves (SequenceAllocate, a compare-and-swap on the sequence's
// state), so values are unique across frontends and nextval is usually
// local. The block is shared by the frontend's sessions: each session sees
// increasing values, as with PostgreSQL. Block size adapts: at least the
// sequence's CACHE, doubled while refills come quickly (up to
// maxSequenceBlock), back to CACHE when calls are rare, so a sequence used
// slowly hands out exactly PostgreSQL's values and a busy one rarely
// leaves the frontend.
type sequenceAllocator struct {
	meta api.MetaClient

	mu     sync.Mutex
	blocks map[uint32]*seqBlock
}

type seqBlock struct {
	mu sync.Mutex
	// next is the next value; left values remain (next, next+inc, ...).
	next, left, inc int64
	// version is the descriptor version the block was computed with.
	version uint64
	// size is the next refill's size; lastRefill when the last one was.
	size       int64
	lastRefill time.Time
	// lastTaken is the last value handed out of the block.
	lastTaken int64
}

const (
	maxSequenceBlock  = 1024
	fastRefill        = 100 * time.Millisecond
	sequenceIdleReset = time.Second
)

func newSequenceAllocator(meta api.MetaClient) *sequenceAllocator {
	return &sequenceAllocator{meta: meta, blocks: map[uint32]*seqBlock{}}
}

func (a *sequenceAllocator) block(id uint32) *seqBlock {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.blocks[id]
	if b == nil {
		b = &seqBlock{size: 1}
		a.blocks[id] = b
	}
	return b
}

// next returns the sequence's next value.
func (a *sequenceAllocator) next(ctx context.Context, seq *api.TableDescriptor) (int64, error) {
	b := a.block(seq.Id)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left > 0 && b.version < seq.Version {
		// The options changed (ALTER SEQUENCE): give the rest back if no
		// one allocated since, then allocate with the new options.
		a.release(ctx, seq.Id, b)
	}
	if b.left == 0 {
		now := time.Now()
		switch since := now.Sub(b.lastRefill); {
		case since < fastRefill:
			b.size = min(2*b.size, maxSequenceBlock)
		case since > sequenceIdleReset:
			b.size = 1
		}
		b.lastRefill = now
		resp, err := a.meta.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: seq.Id, Count: max(b.size, seq.Sequence.GetCache())})
		if err != nil {
			return 0, sequenceError(err, seq)
		}
		b.next, b.left, b.inc, b.version = resp.First, resp.Count, resp.Increment, resp.Version
	}
	v := b.next
	b.left--
	if b.left > 0 {
		b.next += b.inc
	}
	b.lastTaken = v
	return v, nil
}

// release gives a block's unused values back when the sequence's state is
// still the block's end (nobody allocated after it), and empties the block.
func (a *sequenceAllocator) release(ctx context.Context, id uint32, b *seqBlock) {
	if b.left > 0 {
		end := b.next + (b.left-1)*b.inc
		a.meta.SequenceSet(ctx, &api.SequenceSetRequest{
			SequenceId: id, Value: b.lastTaken, IsCalled: true,
			Conditional: true, ExpectedLastValue: end,
		})
	}
	b.left = 0
}

// forget drops this frontend's block of a sequence (setval, RESTART),
// first giving its unused values back when release is set.
func (a *sequenceAllocator) forget(ctx context.Context, id uint32, release bool) {
	b := a.block(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	if release {
		a.release(ctx, id, b)
	}
	b.left = 0
}

// sequenceError turns a SequenceAllocate failure into PostgreSQL's error.
func sequenceError(err error, seq *api.TableDescriptor) error {
	switch status.Code(err) {
	case codes.OutOfRange:
		what, bound := "maximum", seq.Sequence.GetMaxValue()
		if strings.HasPrefix(status.Convert(err).Message(), "minimum") {
			what, bound = "minimum", seq.Sequence.GetMinValue()
		}
		return pgerr.New(codeSequenceGeneratorLimit, "nextval: reached %s value of sequence %q (%d)", what, seq.Name, bound)
	case codes.NotFound:
		return planner.UndefinedTable(seq.Name)
	case codes.InvalidArgument:
		return pgerr.New(pgerr.NumericOutOfRange, "%s", status.Convert(err).Message())
	}
	return metaError(err, seq.Name)
}

// seqSession is a session's sequence state: currval of each sequence it
// called nextval on, and which one lastval reports.
type seqSession struct {
	curr    map[uint32]int64
	last    uint32
	hasLast bool
}

// sessionIDs is what a session's statements run with: the frontend's row
// ids, and the session's sequence functions.
type sessionIDs struct{ s *session }

// execIDs returns the exec.RowIDs (and exec.Sequences) of this session.
func (s *session) execIDs() exec.RowIDs { return sessionIDs{s} }

func (x sessionIDs) NextRowID(ctx context.Context) (int64, error) {
	return x.s.srv.rowIDs.NextRowID(ctx)
}

// SequenceFunc implements exec.Sequences.
func (x sessionIDs) SequenceFunc(ctx context.Context, fn string, args []types.Datum) (types.Datum, error) {
	v, null, err := x.sequenceFunc(ctx, fn, args)
	if err != nil || null {
		return types.Null, err
	}
	return types.NewInt(v), nil
}

func (x sessionIDs) sequenceFunc(ctx context.Context, fn string, args []types.Datum) (v int64, null bool, err error) {
	s := x.s
	st := &s.seq
	if fn == "lastval" {
		if !st.hasLast {
			return 0, false, pgerr.New(codeObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
		}
		if s.srv.catalog.sequenceByID(st.last) == nil {
			return 0, false, pgerr.New(codeObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
		}
		return st.curr[st.last], false, nil
	}
	seq, err := s.resolveSequence(ctx, args[0].Str())
	if err != nil {
		return 0, false, err
	}
	switch fn {
	case "nextval":
		v, err := s.srv.seqs.next(ctx, seq)
		if err != nil {
			return 0, false, err
		}
		if st.curr == nil {
			st.curr = map[uint32]int64{}
		}
		st.curr[seq.Id], st.last, st.hasLast = v, seq.Id, true
		return v, false, nil
	case "currval":
		v, ok := st.curr[seq.Id]
		if !ok {
			return 0, false, pgerr.New(codeObjectNotInPrerequisiteState, "currval of sequence %q is not yet defined in this session", seq.Name)
		}
		return v, false, nil
	case "pg_sequence_last_value", "shardsql_sequence_last_value":
		// Give this frontend's unused values back first, so the stored
		// state is the last value handed out, as with PostgreSQL's CACHE 1.
		s.srv.seqs.forget(ctx, seq.Id, true)
		state, err := s.srv.meta.SequenceGet(ctx, &api.SequenceGetRequest{SequenceId: seq.Id})
		if err != nil {
			return 0, false, sequenceError(err, seq)
		}
		if fn == "pg_sequence_last_value" && !state.IsCalled {
			return 0, true, nil
		}
		return state.LastValue, false, nil
	case "setval":
		v := args[1].Int()
		called := len(args) < 3 || args[2].Bool()
		o := seq.Sequence
		if v < o.GetMinValue() || v > o.GetMaxValue() {
			return 0, false, pgerr.New(pgerr.NumericOutOfRange, "setval: value %d is out of bounds for sequence %q (%d..%d)", v, seq.Name, o.GetMinValue(), o.GetMaxValue())
		}
		if _, err := s.srv.meta.SequenceSet(ctx, &api.SequenceSetRequest{SequenceId: seq.Id, Value: v, IsCalled: called}); err != nil {
			return 0, false, sequenceError(err, seq)
		}
		s.srv.seqs.forget(ctx, seq.Id, false)
		if called {
			if st.curr == nil {
				st.curr = map[uint32]int64{}
			}
			st.curr[seq.Id] = v
		}
		return v, false, nil
	}
	return 0, false, pgerr.New(pgerr.UndefinedFunction, "function %s does not exist", fn)
}

// resolveSequence finds a sequence by its regclass text.
func (s *session) resolveSequence(ctx context.Context, text string) (*api.TableDescriptor, error) {
	name, ok := planner.ParseRegclass(text)
	if !ok {
		if name == "" {
			return nil, pgerr.New(pgerr.InvalidTextRep, "invalid name syntax")
		}
		return nil, planner.UndefinedTable(name)
	}
	seq := s.srv.catalog.sequence(name)
	if seq == nil {
		s.srv.catalog.refresh(ctx)
		seq = s.srv.catalog.sequence(name)
	}
	if seq != nil {
		return seq, nil
	}
	if s.srv.catalog.lookup(name) != nil {
		return nil, pgerr.New(pgerr.WrongObjectType, "%q is not a sequence", name)
	}
	return nil, planner.UndefinedTable(name)
}

func seqDesc(name string, o planner.SequenceOpts) *api.TableDescriptor {
	return &api.TableDescriptor{Name: name, Sequence: &api.SequenceDescriptor{
		Type: o.Type.String(), Increment: o.Increment, MinValue: o.Min, MaxValue: o.Max,
		Start: o.Start, Cache: o.Cache, Cycle: o.Cycle,
	}}
}

func seqOpts(d *api.SequenceDescriptor) planner.SequenceOpts {
	t, err := types.Parse(d.GetType())
	if err != nil {
		t = types.Int8
	}
	return planner.SequenceOpts{Type: t, Increment: d.GetIncrement(), Min: d.GetMinValue(), Max: d.GetMaxValue(),
		Start: d.GetStart(), Cache: d.GetCache(), Cycle: d.GetCycle()}
}

func (s *session) createSequence(ctx context.Context, p *planner.CreateSequence) error {
	if _, idx := s.srv.catalog.findIndex(p.Name); idx != nil {
		if p.IfNotExists {
			s.notice(fmt.Sprintf("relation %q already exists, skipping", p.Name))
			s.complete("CREATE SEQUENCE")
			return nil
		}
		return pgerr.New(pgerr.DuplicateTable, "relation %q already exists", p.Name)
	}
	resp, err := s.srv.meta.CreateTable(ctx, &api.CreateTableRequest{Table: seqDesc(p.Name, p.Opts), IfNotExists: p.IfNotExists})
	if err != nil {
		return metaError(err, p.Name)
	}
	if resp.Existed {
		s.notice(fmt.Sprintf("relation %q already exists, skipping", p.Name))
	}
	s.srv.catalog.refresh(ctx)
	s.complete("CREATE SEQUENCE")
	return nil
}

func (s *session) alterSequence(ctx context.Context, p *planner.AlterSequence) error {
	s.srv.catalog.refresh(ctx)
	cur := s.srv.catalog.sequence(p.Name)
	if cur == nil {
		if s.srv.catalog.lookup(p.Name) != nil {
			return pgerr.New(pgerr.WrongObjectType, "%q is not a sequence", p.Name)
		}
		if p.IfExists {
			s.notice(fmt.Sprintf("relation %q does not exist, skipping", p.Name))
			s.complete("ALTER SEQUENCE")
			return nil
		}
		return planner.UndefinedTable(p.Name)
	}
	o := seqOpts(cur.Sequence)
	restart, err := o.Apply(p.Options, false)
	if err != nil {
		return err
	}
	next := seqDesc(cur.Name, o)
	next.Id = cur.Id
	changed := next.Sequence.String() != cur.Sequence.String()
	if changed {
		// Unused values of this frontend's block go back first, so a
		// single session continues where it was, as in PostgreSQL.
		s.srv.seqs.forget(ctx, cur.Id, true)
		if restart == nil && (o.Min != cur.Sequence.GetMinValue() || o.Max != cur.Sequence.GetMaxValue()) {
			// The current value must lie within the new bounds.
			state, err := s.srv.meta.SequenceGet(ctx, &api.SequenceGetRequest{SequenceId: cur.Id})
			if err != nil {
				return sequenceError(err, cur)
			}
			if v := state.LastValue; v < o.Min {
				return pgerr.New(pgerr.InvalidParameterValue, "RESTART value (%d) cannot be less than MINVALUE (%d)", v, o.Min)
			} else if v > o.Max {
				return pgerr.New(pgerr.InvalidParameterValue, "RESTART value (%d) cannot be greater than MAXVALUE (%d)", v, o.Max)
			}
		}
		if _, err := s.srv.meta.AlterTable(ctx, &api.AlterTableRequest{Table: next, ExpectedVersion: cur.Version}); err != nil {
			if status.Code(err) == codes.Aborted {
				return pgerr.New(pgerr.SerializationFailure, "sequence %q was changed concurrently; retry", cur.Name)
			}
			return metaError(err, cur.Name)
		}
	}
	if restart != nil {
		if _, err := s.srv.meta.SequenceSet(ctx, &api.SequenceSetRequest{SequenceId: cur.Id, Value: *restart}); err != nil {
			return sequenceError(err, next)
		}
		s.srv.seqs.forget(ctx, cur.Id, false)
	}
	s.srv.catalog.refresh(ctx)
	s.complete("ALTER SEQUENCE")
	return nil
}

func (s *session) dropSequences(ctx context.Context, p *planner.DropSequence) error {
	s.srv.catalog.refresh(ctx)
	for _, name := range p.Names {
		if seq := s.srv.catalog.sequence(name); seq != nil {
			if t, col := s.srv.catalog.sequenceUser(seq); t != nil {
				return pgerr.New(codeDependentObjectsStillExist, "cannot drop sequence %s because other objects depend on it", name).
					WithDetail("default value for column %s of table %s depends on sequence %s", col, t.Name, name).
					WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
			}
		}
		resp, err := s.srv.meta.DropTable(ctx, &api.DropTableRequest{Name: name, IfExists: p.IfExists, Kind: "sequence"})
		if err != nil {
			switch status.Code(err) {
			case codes.FailedPrecondition:
				return pgerr.New(pgerr.WrongObjectType, "%q is not a sequence", name).WithHint("Use DROP TABLE to remove a table.")
			case codes.NotFound:
				return pgerr.New(pgerr.UndefinedTable, "sequence %q does not exist", name)
			}
			return metaError(err, name)
		}
		if !resp.Dropped {
			s.notice("sequence \"" + name + "\" does not exist, skipping")
		}
	}
	s.srv.catalog.refresh(ctx)
	s.complete("DROP SEQUENCE")
	return nil
}

// createTableWithSequences creates the sequences of a table's SERIAL and
// identity columns (named as PostgreSQL names them, avoiding names in use),
// then the table whose columns default to them; a failure drops them again.
func (s *session) createTableWithSequences(ctx context.Context, p *planner.CreateTable) error {
	s.srv.catalog.refresh(ctx)
	if p.IfNotExists && (s.srv.catalog.lookup(p.Table.Name) != nil || s.srv.catalog.sequence(p.Table.Name) != nil) {
		s.notice(fmt.Sprintf("relation %q already exists, skipping", p.Table.Name))
		s.complete("CREATE TABLE")
		return nil
	}
	t := *p.Table
	t.Columns = append([]planner.Column(nil), p.Table.Columns...)
	var created []string
	undo := func() {
		for _, name := range created {
			if _, err := s.srv.meta.DropTable(ctx, &api.DropTableRequest{Name: name, IfExists: true, Kind: "sequence"}); err != nil {
				s.srv.logger.Error("could not drop the sequence of a failed CREATE TABLE", "sequence", name, "err", err)
			}
		}
		s.srv.catalog.refresh(ctx)
	}
	for _, os := range p.Sequences {
		var resp *api.CreateTableResponse
		var err error
		for i := 0; ; i++ {
			name := planner.SerialSequenceName(os.Table, os.Column, i)
			if s.relationExists(ctx, name) || s.srv.catalog.sequence(name) != nil {
				continue
			}
			resp, err = s.srv.meta.CreateTable(ctx, &api.CreateTableRequest{Table: seqDesc(name, os.Opts)})
			if status.Code(err) == codes.AlreadyExists && i < 100 {
				continue
			}
			break
		}
		if err != nil {
			undo()
			return metaError(err, os.Name)
		}
		created = append(created, resp.Table.Name)
		t.Columns[os.Col].Default = planner.NextvalDefault(resp.Table.Name)
		t.Columns[os.Col].OwnedSeq = resp.Table.Id
	}
	resp, err := s.srv.meta.CreateTable(ctx, &api.CreateTableRequest{Table: descFromTable(&t), IfNotExists: p.IfNotExists})
	if err != nil || resp.Existed {
		undo()
	}
	if err != nil {
		return metaError(err, t.Name)
	}
	if resp.Existed {
		s.notice(fmt.Sprintf("relation %q already exists, skipping", t.Name))
	}
	s.srv.catalog.refresh(ctx)
	s.complete("CREATE TABLE")
	return nil
}

// ownedSequences returns the ids of the sequences the table's columns own.
func (s *session) ownedSequences(ctx context.Context, name string) []uint32 {
	var ids []uint32
	t := s.srv.catalog.lookup(name)
	if t == nil {
		s.srv.catalog.refresh(ctx)
		t = s.srv.catalog.lookup(name)
	}
	if t != nil {
		for _, c := range t.Columns {
			if c.OwnedSeq != 0 {
				ids = append(ids, c.OwnedSeq)
			}
		}
	}
	return ids
}

// dropOwnedSequences drops sequences a dropped table owned.
func (s *session) dropOwnedSequences(ctx context.Context, ids []uint32) {
	for _, id := range ids {
		seq := s.srv.catalog.sequenceByID(id)
		if seq == nil {
			continue
		}
		if _, err := s.srv.meta.DropTable(ctx, &api.DropTableRequest{Name: seq.Name, IfExists: true, Kind: "sequence"}); err != nil {
			s.srv.logger.Error("could not drop an owned sequence", "sequence", seq.Name, "err", err)
		}
	}
}

// sequence returns the named sequence's descriptor, or nil.
func (c *catalogCache) sequence(name string) *api.TableDescriptor {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.seqByName[name]
}

func (c *catalogCache) sequenceByID(id uint32) *api.TableDescriptor {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.seqByName {
		if s.Id == id {
			return s
		}
	}
	return nil
}

// sequenceUser returns a table and column that owns a sequence or whose
// DEFAULT names it, or nil.
func (c *catalogCache) sequenceUser(seq *api.TableDescriptor) (*planner.Table, string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, t := range c.byName {
		for _, col := range t.Columns {
			if col.OwnedSeq == seq.Id {
				return t, col.Name
			}
			for _, name := range planner.SequenceRefs(col.Default) {
				if name == seq.Name {
					return t, col.Name
				}
			}
		}
	}
	return nil, ""
}
