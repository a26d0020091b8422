package sqlfront

import (
	"encoding/binary"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/types"
)

func TestNumericBinaryRoundTrip(t *testing.T) {
	for _, s := range []string{"0", "1.5", "-12345.6789", "100000000", "0.0001", "-0.05", "98765432109876543210.0123456789", "1e-20", "NaN"} {
		d, _, err := apd.NewFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := numericFromBinary(numericToBinary(d))
		want := d.Text('f')
		if !ok || got != want {
			t.Errorf("%s: round trip gave %q (ok %v), want %q", s, got, ok, want)
		}
	}
	inf, _, _ := apd.NewFromString("-Infinity")
	if b := numericToBinary(inf); binary.BigEndian.Uint16(b[4:]) != 0xF000 {
		t.Errorf("-Infinity encodes with sign %#x", binary.BigEndian.Uint16(b[4:]))
	}
}

// TestBinaryRejectsGarbage: malformed binary parameters are errors, not
// panics or huge allocations.
func TestBinaryRejectsGarbage(t *testing.T) {
	// A numeric digit group above 9999, and an Infinity the type cannot hold.
	for _, b := range [][]byte{
		{0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10},
		{0, 0, 0, 0, 0xD0, 0, 0, 0},
		{0, 1, 0, 0},
	} {
		if _, err := decodeBinary(types.Numeric, b); err == nil {
			t.Errorf("numeric %x should be refused", b)
		}
	}
	// An int4[] claiming 2^32-1 elements with none sent.
	arr := binary.BigEndian.AppendUint32(nil, 1)
	arr = binary.BigEndian.AppendUint32(arr, 0)
	arr = binary.BigEndian.AppendUint32(arr, 23)
	arr = binary.BigEndian.AppendUint32(arr, 0xFFFFFFFF)
	arr = binary.BigEndian.AppendUint32(arr, 1)
	if _, err := decodeBinary(types.ArrayOf(types.Int4), arr); err == nil {
		t.Error("an array longer than its bytes should be refused")
	}
	if _, err := decodeBinary(types.Int4, []byte{1, 2, 3}); err == nil {
		t.Error("a 3-byte int4 should be refused")
	}
}
