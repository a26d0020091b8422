package keys

import "encoding/binary"

// The keyspace layout of DESIGN.md:
//
//	/t/<tableID>/r/<pk cols>                  -> row value
//	/t/<tableID>/i/<indexID>/<idx cols>[/<pk>] -> pk (+ stored columns)
//
// tableID is a fixed four-byte big-endian number, so every table owns one
// contiguous span and tables sort by id.
const (
	tableMarker = 't'
	rowMarker   = 'r'
	indexMarker = 'i'
)

// TablePrefix returns the prefix of every key of the table: rows and indexes.
func TablePrefix(tableID uint32) []byte {
	b := make([]byte, 0, 5)
	b = append(b, tableMarker)
	return binary.BigEndian.AppendUint32(b, tableID)
}

// TableSpan returns [start, end) covering every key of the table.
func TableSpan(tableID uint32) (start, end []byte) {
	return TablePrefix(tableID), TablePrefix(tableID + 1)
}

// RowPrefix returns the prefix of the table's primary-key (row) keys.
func RowPrefix(tableID uint32) []byte {
	return append(TablePrefix(tableID), rowMarker)
}

// RowSpan returns [start, end) covering every row key of the table.
func RowSpan(tableID uint32) (start, end []byte) {
	p := RowPrefix(tableID)
	return p, PrefixEnd(p)
}

// IndexPrefix returns the prefix of the keys of one secondary index.
func IndexPrefix(tableID, indexID uint32) []byte {
	b := append(TablePrefix(tableID), indexMarker)
	return binary.BigEndian.AppendUint32(b, indexID)
}

// DecodeTablePrefix returns the table id a key belongs to, and the rest of
// the key after the table prefix; ok is false for keys outside any table.
func DecodeTablePrefix(key []byte) (tableID uint32, rest []byte, ok bool) {
	if len(key) < 5 || key[0] != tableMarker {
		return 0, key, false
	}
	return binary.BigEndian.Uint32(key[1:5]), key[5:], true
}
