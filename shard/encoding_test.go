package shard

import (
	"bytes"
	"slices"
	"testing"

	"github.com/shardsql/shardsql/api"
)

// TestKeyEncoding pins the on-disk key format and checks that it keeps the
// order of user keys, including keys holding 0x00 bytes and prefixes.
func TestKeyEncoding(t *testing.T) {
	if got, want := writeKey([]byte("a\x00b"), 1), []byte("Wa\x00\xffb\x00\x01\xff\xff\xff\xff\xff\xff\xff\xfe"); !bytes.Equal(got, want) {
		t.Fatalf("writeKey = %q, want %q", got, want)
	}
	if got, want := lockKey([]byte("k")), []byte("Lk\x00\x01"); !bytes.Equal(got, want) {
		t.Fatalf("lockKey = %q, want %q", got, want)
	}
	userKeys := [][]byte{{}, {0}, {0, 0}, {0, 1}, []byte("a"), []byte("a\x00"), []byte("a\x00\x00"), []byte("a\x01"), []byte("ab"), {0xff}, {0xff, 0}}
	var enc [][]byte
	for _, k := range userKeys {
		for _, ts := range []uint64{100, 5, 1} { // newest first
			e := writeKey(k, ts)
			prefix, gotTS, err := splitVersionKey(e)
			if err != nil || gotTS != ts {
				t.Fatalf("split %q: ts %d err %v", e, gotTS, err)
			}
			dk, err := userKeyOf(prefix)
			if err != nil || !bytes.Equal(dk, k) {
				t.Fatalf("decode %q = %q, %v", e, dk, err)
			}
			if bytes.Compare(e, prefixSuccessor(prefix)) >= 0 {
				t.Fatalf("%q not below its prefix successor", e)
			}
			enc = append(enc, e)
		}
	}
	if !slices.IsSortedFunc(enc, bytes.Compare) {
		t.Fatal("encoded write keys do not sort like (key asc, ts desc)")
	}
	for i := 1; i < len(userKeys); i++ {
		if bytes.Compare(prefixSuccessor(versionPrefix(prefixWrite, userKeys[i-1])), writeKey(userKeys[i], ^uint64(0))) > 0 {
			t.Fatalf("prefix successor of %q skips %q", userKeys[i-1], userKeys[i])
		}
	}
}

func TestRecordEncoding(t *testing.T) {
	l := lockRecord{primary: []byte("p\x00"), startTS: 7, ttlMs: 9, op: api.Mutation_INSERT}
	got, err := decodeLock(l.encode())
	if err != nil || !bytes.Equal(got.primary, l.primary) || got.startTS != 7 || got.ttlMs != 9 || got.op != api.Mutation_INSERT {
		t.Fatalf("lock round trip: %+v %v", got, err)
	}
	// A pessimistic lock carries its for_update_ts.
	pl := lockRecord{primary: []byte("q"), startTS: 7, ttlMs: 9, op: api.Mutation_LOCK, forUpdateTS: 11}
	got, err = decodeLock(pl.encode())
	if err != nil || !bytes.Equal(got.primary, pl.primary) || got.startTS != 7 || got.ttlMs != 9 || got.op != api.Mutation_LOCK || got.forUpdateTS != 11 {
		t.Fatalf("pessimistic lock round trip: %+v %v", got, err)
	}
	if got, err := decodeLock(l.encode()); err != nil || got.forUpdateTS != 0 {
		t.Fatalf("lock without for_update_ts: %+v %v", got, err)
	}
	if _, err := decodeLock(pl.encode()[:lockHeaderLen+4]); err == nil {
		t.Fatal("truncated for_update_ts accepted")
	}
	w := writeRecord{kind: writeDelete, overlappedRollback: true, startTS: 42}
	gw, err := decodeWrite(w.encode())
	if err != nil || gw != w {
		t.Fatalf("write round trip: %+v %v", gw, err)
	}
	if _, err := decodeWrite([]byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Fatal("bad kind accepted")
	}
	if _, err := decodeLock([]byte{1}); err == nil {
		t.Fatal("short lock accepted")
	}
}
