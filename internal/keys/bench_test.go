package keys

import "testing"

func BenchmarkEncodeIntAscending(b *testing.B) {
	buf := make([]byte, 0, 16)
	for i := 0; i < b.N; i++ {
		buf = EncodeIntAscending(buf[:0], int64(i))
	}
}

func BenchmarkDecodeIntAscending(b *testing.B) {
	enc := EncodeIntAscending(nil, 123456789)
	for i := 0; i < b.N; i++ {
		if _, _, err := DecodeIntAscending(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeStringAscending(b *testing.B) {
	buf := make([]byte, 0, 64)
	s := "a typical customer name, 32 byte"
	for i := 0; i < b.N; i++ {
		buf = EncodeStringAscending(buf[:0], s)
	}
}

func BenchmarkDecodeStringAscending(b *testing.B) {
	enc := EncodeStringAscending(nil, "a typical customer name, 32 byte")
	for i := 0; i < b.N; i++ {
		if _, _, err := DecodeStringAscending(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDecimalAscending(b *testing.B) {
	buf := make([]byte, 0, 32)
	for i := 0; i < b.N; i++ {
		buf = EncodeDecimalAscending(buf[:0], false, "1234567890123", 5, false)
	}
}
