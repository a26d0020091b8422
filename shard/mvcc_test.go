package shard

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2"
	"github.com/shardsql/shardsql/api"
)

// TestMVCC runs the data-driven MVCC histories in testdata/mvcc over an
// in-memory store. Regenerate expectations with -rewrite (and check them).
//
// Timestamps are plain integers, or "<n>ms" / "<n>ms+<l>" for the hybrid
// timestamp n<<18 | l. Commands:
//
//	prewrite start=<ts> primary=<k> [ttl=<ms>] (k=<k> [v=<v>] [op=put|insert|delete|lock] | input lines "<op> <k> [<v>]")
//	onepc start=<ts> [min-write=<ts>] (mutations as for prewrite)
//	commit k=<k>|(<k>,...) start=<ts> commit=<ts>
//	rollback k=... start=<ts> [pessimistic-only]
//	acquire k=... primary=<k> start=<ts> for-update=<ts> [ttl=<ms>]
//	heartbeat primary=<k> start=<ts> ttl=<ms>
//	resolve k=... start=<ts> commit=<ts>        (commit=0 rolls back)
//	check-txn primary=<k> lock-ts=<ts> now=<ts>
//	get k=<k> ts=<ts>
//	batch-get k=(...) ts=<ts>
//	scan [start=<k>] [end=<k>] ts=<ts> [limit=<n>] [keys-only]
//	bump-read ts=<ts>
//	span-empty [start=<k>] [end=<k>]
//	gc safe=<ts> [start=<k>] [end=<k>]          (garbage-collect at a safe point)
//	dump                                         (every raw record)
func TestMVCC(t *testing.T) {
	datadriven.Walk(t, filepath.Join("testdata", "mvcc"), func(t *testing.T, path string) {
		s, err := OpenStore("", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return runMVCCCmd(t, s, d)
		})
	})
}

func runMVCCCmd(t *testing.T, s *Store, d *datadriven.TestData) string {
	switch d.Cmd {
	case "prewrite":
		kerrs, err := s.Prewrite(ddMutations(t, d), []byte(ddString(t, d, "primary", "")), ddTS(t, d, "start"), ddUint(t, d, "ttl", 3000))
		return fmtKeyErrors(kerrs, err)
	case "onepc":
		cts, kerrs, err := s.OnePC(ddMutations(t, d), ddTS(t, d, "start"), ddTSOpt(t, d, "min-write", 0))
		if err != nil || len(kerrs) > 0 {
			return fmtKeyErrors(kerrs, err)
		}
		return "ok commit_ts=" + fmtTS(cts)
	case "commit":
		kerr, err := s.Commit(ddKeys(t, d, "k"), ddTS(t, d, "start"), ddTS(t, d, "commit"))
		return fmtKeyError(kerr, err)
	case "rollback":
		if d.HasArg("pessimistic-only") {
			return fmtKeyError(nil, s.RollbackPessimistic(ddKeys(t, d, "k"), ddTS(t, d, "start")))
		}
		kerr, err := s.Rollback(ddKeys(t, d, "k"), ddTS(t, d, "start"))
		return fmtKeyError(kerr, err)
	case "acquire":
		kerrs, err := s.AcquireLocks(ddKeys(t, d, "k"), []byte(ddString(t, d, "primary", "")),
			ddTS(t, d, "start"), ddTS(t, d, "for-update"), ddUint(t, d, "ttl", 3000))
		return fmtKeyErrors(kerrs, err)
	case "heartbeat":
		ttl, kerr, err := s.TxnHeartbeat([]byte(ddString(t, d, "primary", "")), ddTS(t, d, "start"), ddUint(t, d, "ttl", 0))
		if err != nil || kerr != nil {
			return fmtKeyError(kerr, err)
		}
		return fmt.Sprintf("ok ttl=%d", ttl)
	case "resolve":
		kerr, err := s.ResolveLock(ddTS(t, d, "start"), ddTS(t, d, "commit"), ddKeys(t, d, "k"))
		return fmtKeyError(kerr, err)
	case "check-txn":
		st, err := s.CheckTxnStatus([]byte(ddString(t, d, "primary", "")), ddTS(t, d, "lock-ts"), ddTS(t, d, "now"))
		if err != nil {
			return "error: " + err.Error()
		}
		switch st.Status {
		case api.CheckTxnStatusResponse_LOCKED:
			return fmt.Sprintf("LOCKED ttl=%d", st.LockTTLMs)
		case api.CheckTxnStatusResponse_COMMITTED:
			return "COMMITTED commit_ts=" + fmtTS(st.CommitTS)
		}
		return st.Status.String()
	case "get":
		v, found, kerr, err := s.Get([]byte(ddString(t, d, "k", "")), ddTS(t, d, "ts"))
		if err != nil || kerr != nil {
			return fmtKeyError(kerr, err)
		}
		if !found {
			return "not found"
		}
		return "value=" + string(v)
	case "batch-get":
		pairs, kerr, err := s.BatchGet(ddKeys(t, d, "k"), ddTS(t, d, "ts"))
		if err != nil || kerr != nil {
			return fmtKeyError(kerr, err)
		}
		return fmtPairs(pairs, nil)
	case "scan":
		pairs, resume, kerr, err := s.Scan([]byte(ddString(t, d, "start", "")), []byte(ddString(t, d, "end", "")),
			ddTS(t, d, "ts"), int(ddUint(t, d, "limit", 0)), d.HasArg("keys-only"))
		if err != nil || kerr != nil {
			return fmtKeyError(kerr, err)
		}
		return fmtPairs(pairs, resume)
	case "bump-read":
		s.BumpMaxReadTS(ddTS(t, d, "ts"))
		return "max_read_ts=" + fmtTS(s.MaxReadTS())
	case "span-empty":
		empty, err := s.SpanEmpty([]byte(ddString(t, d, "start", "")), []byte(ddString(t, d, "end", "")))
		if err != nil {
			return "error: " + err.Error()
		}
		return strconv.FormatBool(empty)
	case "gc":
		st, err := s.GC(context.Background(), []byte(ddString(t, d, "start", "")), []byte(ddString(t, d, "end", "")), ddTS(t, d, "safe"))
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("ok removed writes=%d values=%d safe_point=%s", st.Writes, st.Values, fmtTS(s.GCSafePoint()))
	case "dump":
		return dumpStore(t, s)
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

func ddString(t *testing.T, d *datadriven.TestData, key, def string) string {
	if !d.HasArg(key) {
		return def
	}
	var v string
	d.ScanArgs(t, key, &v)
	return v
}

func ddUint(t *testing.T, d *datadriven.TestData, key string, def uint64) uint64 {
	if !d.HasArg(key) {
		return def
	}
	var v uint64
	d.ScanArgs(t, key, &v)
	return v
}

func ddTS(t *testing.T, d *datadriven.TestData, key string) uint64 {
	if !d.HasArg(key) {
		d.Fatalf(t, "missing argument %s", key)
	}
	return ddTSOpt(t, d, key, 0)
}

func ddTSOpt(t *testing.T, d *datadriven.TestData, key string, def uint64) uint64 {
	if !d.HasArg(key) {
		return def
	}
	ts, err := parseTS(ddString(t, d, key, ""))
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return ts
}

// parseTS parses "<n>", "<n>ms" or "<n>ms+<logical>".
func parseTS(s string) (uint64, error) {
	phys, logical, hybrid := strings.Cut(s, "ms")
	if !hybrid {
		return strconv.ParseUint(s, 10, 64)
	}
	p, err := strconv.ParseUint(phys, 10, 64)
	if err != nil {
		return 0, err
	}
	var l uint64
	if logical != "" {
		if l, err = strconv.ParseUint(strings.TrimPrefix(logical, "+"), 10, 64); err != nil {
			return 0, err
		}
	}
	return p<<LogicalBits | l, nil
}

// fmtTS prints small timestamps as numbers and hybrid ones as <n>ms[+<l>].
func fmtTS(ts uint64) string {
	if ts == math.MaxUint64 || PhysicalMs(ts) == 0 {
		return strconv.FormatUint(ts, 10)
	}
	if l := ts & (1<<LogicalBits - 1); l != 0 {
		return fmt.Sprintf("%dms+%d", PhysicalMs(ts), l)
	}
	return fmt.Sprintf("%dms", PhysicalMs(ts))
}

func ddKeys(t *testing.T, d *datadriven.TestData, key string) [][]byte {
	arg, ok := d.Arg(key)
	if !ok {
		d.Fatalf(t, "missing argument %s", key)
	}
	keys := make([][]byte, len(arg.Vals))
	for i, v := range arg.Vals {
		keys[i] = []byte(v)
	}
	return keys
}

var opNames = map[string]api.Mutation_Op{
	"put": api.Mutation_PUT, "insert": api.Mutation_INSERT,
	"delete": api.Mutation_DELETE, "lock": api.Mutation_LOCK,
}

func ddMutations(t *testing.T, d *datadriven.TestData) []*api.Mutation {
	if d.HasArg("k") {
		op, ok := opNames[ddString(t, d, "op", "put")]
		if !ok {
			d.Fatalf(t, "bad op")
		}
		return []*api.Mutation{{Op: op, Key: []byte(ddString(t, d, "k", "")), Value: []byte(ddString(t, d, "v", ""))}}
	}
	var muts []*api.Mutation
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			d.Fatalf(t, "bad mutation line %q", line)
		}
		op, ok := opNames[f[0]]
		if !ok {
			d.Fatalf(t, "bad op %q", f[0])
		}
		m := &api.Mutation{Op: op, Key: []byte(f[1])}
		if len(f) > 2 {
			m.Value = []byte(f[2])
		}
		muts = append(muts, m)
	}
	return muts
}

func fmtKeyErrors(kerrs []*api.KeyError, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if len(kerrs) == 0 {
		return "ok"
	}
	var sb strings.Builder
	for _, e := range kerrs {
		sb.WriteString(fmtKeyError(e, nil))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func fmtKeyError(e *api.KeyError, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case e == nil:
		return "ok"
	case e.Locked != nil:
		l := e.Locked
		return fmt.Sprintf("locked: key=%s primary=%s start=%s ttl=%d op=%s", l.Key, l.Primary, fmtTS(l.StartTs), l.TtlMs, l.Op)
	case e.Conflict != nil:
		c := e.Conflict
		return fmt.Sprintf("conflict: key=%s start=%s conflict-start=%s conflict-commit=%s",
			c.Key, fmtTS(c.StartTs), fmtTS(c.ConflictStartTs), fmtTS(c.ConflictCommitTs))
	case e.AlreadyExists != nil:
		return fmt.Sprintf("already-exists: %s", e.AlreadyExists)
	case e.Aborted != "":
		return "aborted: " + e.Aborted
	}
	return "key-error: " + e.Message
}

func fmtPairs(pairs []*api.KeyValue, resume []byte) string {
	var sb strings.Builder
	for _, p := range pairs {
		if p.Value == nil {
			fmt.Fprintf(&sb, "%s\n", p.Key)
		} else {
			fmt.Fprintf(&sb, "%s=%s\n", p.Key, p.Value)
		}
	}
	if resume != nil {
		fmt.Fprintf(&sb, "resume=%s\n", resume)
	}
	if sb.Len() == 0 {
		return "empty"
	}
	return sb.String()
}

// dumpStore prints every record of the store in Pebble key order.
func dumpStore(t *testing.T, s *Store) string {
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var sb strings.Builder
	for valid := it.First(); valid; valid = it.Next() {
		k, v := it.Key(), it.Value()
		switch k[0] {
		case prefixLock:
			key, err := userKeyOf(k)
			if err != nil {
				t.Fatal(err)
			}
			l, err := decodeLock(v)
			if err != nil {
				t.Fatal(err)
			}
			forUpdate := ""
			if l.forUpdateTS != 0 {
				forUpdate = " for-update=" + fmtTS(l.forUpdateTS)
			}
			fmt.Fprintf(&sb, "L %s: primary=%s start=%s ttl=%d op=%s%s\n", key, l.primary, fmtTS(l.startTS), l.ttlMs, l.op, forUpdate)
		case prefixWrite, prefixData:
			prefix, ts, err := splitVersionKey(k)
			if err != nil {
				t.Fatal(err)
			}
			key, err := userKeyOf(prefix)
			if err != nil {
				t.Fatal(err)
			}
			if k[0] == prefixData {
				fmt.Fprintf(&sb, "D %s@%s: %s\n", key, fmtTS(ts), v)
				continue
			}
			w, err := decodeWrite(v)
			if err != nil {
				t.Fatal(err)
			}
			extra := ""
			if w.overlappedRollback {
				extra = " +rollback"
			}
			fmt.Fprintf(&sb, "W %s@%s: %s start=%s%s\n", key, fmtTS(ts), w.kind, fmtTS(w.startTS), extra)
		case prefixMeta:
			if string(k[1:]) == metaGCSafePoint && len(v) == 8 {
				fmt.Fprintf(&sb, "M %s: %s\n", k[1:], fmtTS(binary.BigEndian.Uint64(v)))
				continue
			}
			fmt.Fprintf(&sb, "%q: %x\n", k, v)
		default:
			fmt.Fprintf(&sb, "%q: %x\n", k, v)
		}
	}
	if sb.Len() == 0 {
		return "empty"
	}
	return sb.String()
}
