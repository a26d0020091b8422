package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Store is the storage of one shard server: a single Pebble database holding
// the MVCC records of all its ranges. Write operations are serialized by one
// store-wide mutex around check-and-write and made durable by apply; reads
// work on Pebble snapshots without that mutex.
type Store struct {
	db *pebble.DB

	// writeMu serializes the check-and-write of every write operation.
	writeMu sync.Mutex

	// maxReadTS is the highest timestamp any read has been served at (or
	// promised to be safe for, see BumpMaxReadTS). OnePC commits above it.
	maxReadTS atomic.Uint64

	// pending tracks keys whose OnePC commit timestamp has been chosen but
	// whose batch is not applied yet; readers wait for them (see onePC).
	pending pendingKeys

	// gcSafePoint is the highest GC safe point a garbage collection has
	// started at (persisted, see GC): reads below it fail.
	gcSafePoint atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// blockCacheBytes is each shard server's Pebble block cache.
const blockCacheBytes = 128 << 20

// OpenStore opens (creating if needed) the Pebble database in dir, or an
// in-memory one when inMemory is set. logger receives Pebble's messages; nil
// discards them.
func OpenStore(dir string, inMemory bool, logger *slog.Logger) (*Store, error) {
	// A block cache larger than Pebble's 8 MiB default keeps scans from
	// decompressing the same blocks again and again.
	cache := pebble.NewCache(blockCacheBytes)
	defer cache.Unref()
	opts := &pebble.Options{Logger: pebbleLogger{logger}, Cache: cache}
	if inMemory {
		opts.FS = vfs.NewMem()
		dir = ""
	} else if dir == "" {
		return nil, errors.New("shard store: empty data directory")
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("shard store: %w", err)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("shard store: open pebble: %w", err)
	}
	s := &Store{db: db}
	s.pending.init()
	sp, err := s.loadUint64(metaGCSafePoint)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.gcSafePoint.Store(sp)
	return s, nil
}

// Close closes the Pebble database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("shard store: close: %w", err)
		}
	})
	return s.closeErr
}

// apply is the single path by which state changes reach the store: it
// commits b durably (synced WAL) before returning. Replication will slot in
// here. b is closed in all cases.
func (s *Store) apply(b *pebble.Batch) error {
	return s.applyWith(b, pebble.Sync)
}

// applyWith is apply with explicit write options: garbage collection uses
// pebble.NoSync (losing a GC batch in a crash only leaves garbage behind;
// the WAL keeps batches in order, so a surviving batch implies every earlier
// one survived).
func (s *Store) applyWith(b *pebble.Batch, opts *pebble.WriteOptions) error {
	defer b.Close()
	if b.Empty() {
		return nil
	}
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("shard store: apply: %w", err)
	}
	return nil
}

// MaxReadTS returns the highest read timestamp served so far.
func (s *Store) MaxReadTS() uint64 { return s.maxReadTS.Load() }

// BumpMaxReadTS raises the highest served read timestamp to at least ts.
func (s *Store) BumpMaxReadTS(ts uint64) {
	for {
		cur := s.maxReadTS.Load()
		if ts <= cur || s.maxReadTS.CompareAndSwap(cur, ts) {
			return
		}
	}
}

const (
	metaNodeID      = "node_id"
	metaGCSafePoint = "gc_safe_point"
)

// loadNodeID returns the persisted node id, or 0 when none is stored.
func (s *Store) loadNodeID() (uint64, error) {
	return s.loadUint64(metaNodeID)
}

// loadUint64 returns the persisted local metadata value name, or 0 when
// none is stored.
func (s *Store) loadUint64(name string) (uint64, error) {
	v, closer, err := s.db.Get(metaKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("shard store: load %s: %w", name, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("shard store: %s record has %d bytes", name, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// saveNodeID persists the node id.
func (s *Store) saveNodeID(id uint64) error {
	b := s.db.NewBatch()
	if err := b.Set(metaKey(metaNodeID), binary.BigEndian.AppendUint64(nil, id), nil); err != nil {
		b.Close()
		return fmt.Errorf("shard store: save node id: %w", err)
	}
	return s.apply(b)
}

// pebbleLogger forwards Pebble's log lines to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l != nil {
		p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	if p.l != nil {
		p.l.Error("pebble: " + fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	if p.l != nil {
		p.l.Error(msg)
	}
	panic(msg)
}

// pendingKeys is the set of keys with an OnePC commit in flight between the
// choice of its commit timestamp and the apply of its batch.
type pendingKeys struct {
	n    atomic.Int64 // number of in-flight OnePC commits; 0 = fast path for readers
	mu   sync.Mutex
	keys map[string]chan struct{}
}

func (p *pendingKeys) init() { p.keys = make(map[string]chan struct{}) }

// add publishes keys as pending and returns a function that clears them and
// wakes waiters. It must be called before the commit timestamp is chosen.
func (p *pendingKeys) add(keys [][]byte) (done func()) {
	ch := make(chan struct{})
	p.mu.Lock()
	added := make([]string, 0, len(keys))
	for _, k := range keys {
		sk := string(k)
		if _, ok := p.keys[sk]; ok {
			continue // duplicate key in the request
		}
		p.keys[sk] = ch
		added = append(added, sk)
	}
	p.n.Add(1)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		for _, sk := range added {
			delete(p.keys, sk)
		}
		p.n.Add(-1)
		p.mu.Unlock()
		close(ch)
	}
}

// wait blocks until no key in keys, nor (when spanEnd != nil or spanStart !=
// nil) in the span [spanStart, spanEnd) (empty spanEnd = +inf), is pending.
// It must be called after the reader has bumped maxReadTS.
func (p *pendingKeys) wait(keys [][]byte, span bool, spanStart, spanEnd []byte) {
	for p.n.Load() != 0 {
		var ch chan struct{}
		p.mu.Lock()
		for _, k := range keys {
			if c, ok := p.keys[string(k)]; ok {
				ch = c
				break
			}
		}
		if ch == nil && span {
			for k, c := range p.keys {
				if k >= string(spanStart) && (len(spanEnd) == 0 || k < string(spanEnd)) {
					ch = c
					break
				}
			}
		}
		p.mu.Unlock()
		if ch == nil {
			return
		}
		<-ch
	}
}
