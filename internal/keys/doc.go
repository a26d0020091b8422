// Package keys owns the memcomparable, order-preserving key encoding
// primitives used to build storage keys: NULLs, signed and unsigned
// integers, floats, booleans, strings and byte strings, decimals, the
// escaped raw byte form used inside internal composite keys, PrefixEnd for
// computing span end keys, and Pretty for rendering keys for humans.
//
// Every Encode function appends to its buffer argument and returns the
// extended slice. Every Decode function takes a buffer and returns the
// decoded value together with the remaining, unconsumed bytes, so that the
// columns of a composite key can be decoded in sequence. A truncated or
// corrupt buffer makes a Decode function return an error wrapping
// ErrCorrupt; decoding never panics.
//
// Comparing two encodings with bytes.Compare gives the SQL order of the
// values they encode. Each encoded value is self-delimiting (no encoding is
// a proper prefix of another encoding of the same kind), so concatenations
// of encoded columns compare lexicographically by column. The Descending
// variants invert every byte (XOR 0xFF) of the ascending encoding of the
// value, including its type tag, and therefore give exactly the reverse
// order.
//
// Tagged encodings begin with a one-byte type tag. Ascending tags are below
// 0x80 and descending tags are their bitwise complements, so the direction
// of a value can be recognized from its first byte. The NULL tag is 0x00
// ascending (before every non-NULL value) and 0xFF descending (after every
// non-NULL value). The unsigned 64-bit encodings and EncodeRawEscaped have
// no tag and are meant for fixed internal key layouts.
//
// The package imports only the standard library.
package keys
