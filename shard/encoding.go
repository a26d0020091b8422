package shard

import (
	"encoding/binary"
	"fmt"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/internal/keys"
)

// Prefixes of the Pebble keyspace.
const (
	prefixLock  byte = 'L'
	prefixWrite byte = 'W'
	prefixData  byte = 'D'
	prefixMeta  byte = 'M'
)

// tsLen is the width of the timestamp suffix of W and D keys.
const tsLen = 8

// escWidth is the width of the escaped-key terminator (0x00 0x01).
const escWidth = 2

// appendEscaped appends the escaped, terminated form of key to b:
// keys.EncodeRawEscaped (0x00 -> 0x00 0xFF, terminator 0x00 0x01), which
// keeps byte order and lets a fixed-width timestamp follow.
func appendEscaped(b, key []byte) []byte {
	return keys.EncodeRawEscaped(b, key)
}

// decodeEscaped decodes an escaped key at the start of b and returns it (a
// fresh slice) and the rest of b.
func decodeEscaped(b []byte) (key, rest []byte, err error) {
	return keys.DecodeRawEscaped(b)
}

// appendUint64Desc appends ^v big-endian so that larger values sort first.
func appendUint64Desc(b []byte, v uint64) []byte {
	return keys.EncodeUint64Descending(b, v)
}

func decodeUint64Desc(b []byte) uint64 {
	return ^binary.BigEndian.Uint64(b)
}

// lockKey is L + esc(key).
func lockKey(key []byte) []byte {
	return versionPrefix(prefixLock, key)
}

// versionPrefix is p + esc(key): the lock key for p == L, and the common
// prefix of all W or D records of key.
func versionPrefix(p byte, key []byte) []byte {
	b := make([]byte, 0, len(key)+3+tsLen)
	b = append(b, p)
	return appendEscaped(b, key)
}

// writeKey is W + esc(key) + desc(commitTS).
func writeKey(key []byte, commitTS uint64) []byte {
	return appendUint64Desc(versionPrefix(prefixWrite, key), commitTS)
}

// dataKey is D + esc(key) + desc(startTS).
func dataKey(key []byte, startTS uint64) []byte {
	return appendUint64Desc(versionPrefix(prefixData, key), startTS)
}

// spanBounds returns the Pebble bounds [lo, hi) holding the records with
// prefix p whose user keys lie in [start, end); an empty end means +inf.
func spanBounds(p byte, start, end []byte) (lo, hi []byte) {
	lo = appendEscaped([]byte{p}, start)
	if len(end) == 0 {
		hi = []byte{p + 1}
	} else {
		hi = appendEscaped([]byte{p}, end)
	}
	return lo, hi
}

// prefixSuccessor returns the smallest key greater than every key having the
// escaped-key prefix p. p ends with the terminator 0x00 0x01, and no other
// escaped key continues p[:len(p)-1] with 0x02, so incrementing the last byte
// is exact.
func prefixSuccessor(p []byte) []byte {
	s := make([]byte, len(p))
	copy(s, p)
	s[len(s)-1]++
	return s
}

// splitVersionKey splits a W or D Pebble key into its prefix (p + esc(key))
// and timestamp.
func splitVersionKey(k []byte) (prefix []byte, ts uint64, err error) {
	if len(k) < 1+escWidth+tsLen {
		return nil, 0, fmt.Errorf("version key %q too short", k)
	}
	return k[:len(k)-tsLen], decodeUint64Desc(k[len(k)-tsLen:]), nil
}

// userKeyOf decodes the user key from a prefix + esc(key) [+ suffix] key.
func userKeyOf(k []byte) ([]byte, error) {
	key, _, err := decodeEscaped(k[1:])
	return key, err
}

// metaKey is M + name.
func metaKey(name string) []byte {
	return append([]byte{prefixMeta}, name...)
}

// lockRecord is the value of an L key.
type lockRecord struct {
	primary []byte
	startTS uint64
	ttlMs   uint64
	op      api.Mutation_Op
	// forUpdateTS is the highest for_update_ts a pessimistic lock was
	// acquired (or re-acquired) at; 0 for a lock taken by prewrite alone.
	forUpdateTS uint64
}

// Lock record encoding: op(1) start_ts(8) ttl_ms(8) [for_update_ts(8)]
// primary(rest). for_update_ts is present when the op byte carries
// lockFlagForUpdate, so records written before it existed still decode.
const (
	lockHeaderLen     = 1 + 8 + 8
	lockFlagForUpdate = 0x80
)

func (l *lockRecord) encode() []byte {
	b := make([]byte, 0, lockHeaderLen+8+len(l.primary))
	op := byte(l.op)
	if l.forUpdateTS != 0 {
		op |= lockFlagForUpdate
	}
	b = append(b, op)
	b = binary.BigEndian.AppendUint64(b, l.startTS)
	b = binary.BigEndian.AppendUint64(b, l.ttlMs)
	if l.forUpdateTS != 0 {
		b = binary.BigEndian.AppendUint64(b, l.forUpdateTS)
	}
	return append(b, l.primary...)
}

func decodeLock(v []byte) (*lockRecord, error) {
	if len(v) < lockHeaderLen {
		return nil, fmt.Errorf("lock record: %d bytes, want at least %d", len(v), lockHeaderLen)
	}
	l := &lockRecord{
		op:      api.Mutation_Op(v[0] &^ lockFlagForUpdate),
		startTS: binary.BigEndian.Uint64(v[1:9]),
		ttlMs:   binary.BigEndian.Uint64(v[9:17]),
	}
	rest := v[lockHeaderLen:]
	if v[0]&lockFlagForUpdate != 0 {
		if len(rest) < 8 {
			return nil, fmt.Errorf("lock record: %d bytes, want at least %d", len(v), lockHeaderLen+8)
		}
		l.forUpdateTS = binary.BigEndian.Uint64(rest)
		rest = rest[8:]
	}
	l.primary = append([]byte(nil), rest...)
	return l, nil
}

func (l *lockRecord) info(key []byte) *api.LockInfo {
	return &api.LockInfo{
		Key:     append([]byte(nil), key...),
		Primary: l.primary,
		StartTs: l.startTS,
		TtlMs:   l.ttlMs,
		Op:      l.op,
	}
}

// writeKind is the kind of a write record.
type writeKind byte

const (
	writePut      writeKind = 1
	writeDelete   writeKind = 2
	writeRollback writeKind = 3
	writeLock     writeKind = 4
)

func (k writeKind) String() string {
	switch k {
	case writePut:
		return "PUT"
	case writeDelete:
		return "DELETE"
	case writeRollback:
		return "ROLLBACK"
	case writeLock:
		return "LOCK"
	}
	return fmt.Sprintf("writeKind(%d)", byte(k))
}

// kindForOp maps a mutation op to the write kind its commit records.
func kindForOp(op api.Mutation_Op) writeKind {
	switch op {
	case api.Mutation_DELETE:
		return writeDelete
	case api.Mutation_LOCK:
		return writeLock
	default: // PUT, INSERT
		return writePut
	}
}

// hasValue reports whether a mutation of op stores a value in D.
func hasValue(op api.Mutation_Op) bool {
	return op == api.Mutation_PUT || op == api.Mutation_INSERT
}

// writeRecord is the value of a W key.
//
// overlappedRollback is set on a commit record whose commit_ts equals the
// start_ts of another transaction that was rolled back on the same key (the
// two records would share one W key): it stands for that ROLLBACK record.
// Commit timestamps chosen by OnePC do not come from the TSO, so such a
// collision is possible.
type writeRecord struct {
	kind               writeKind
	overlappedRollback bool
	startTS            uint64
}

// Write record encoding: kind(1) flags(1) start_ts(8).
const writeRecordLen = 1 + 1 + 8

const flagOverlappedRollback = 1

func (w writeRecord) encode() []byte {
	b := make([]byte, 0, writeRecordLen)
	var flags byte
	if w.overlappedRollback {
		flags |= flagOverlappedRollback
	}
	b = append(b, byte(w.kind), flags)
	return binary.BigEndian.AppendUint64(b, w.startTS)
}

func decodeWrite(v []byte) (writeRecord, error) {
	if len(v) != writeRecordLen {
		return writeRecord{}, fmt.Errorf("write record: %d bytes, want %d", len(v), writeRecordLen)
	}
	w := writeRecord{
		kind:               writeKind(v[0]),
		overlappedRollback: v[1]&flagOverlappedRollback != 0,
		startTS:            binary.BigEndian.Uint64(v[2:]),
	}
	if w.kind < writePut || w.kind > writeLock {
		return writeRecord{}, fmt.Errorf("write record: unknown kind %d", v[0])
	}
	return w, nil
}
