package keys

// EncodeNullAscending appends the ascending NULL marker, which sorts before
// every non-NULL ascending value.
func EncodeNullAscending(b []byte) []byte {
	return append(b, tagNull)
}

// EncodeNullDescending appends the descending NULL marker, which sorts after
// every non-NULL descending value.
func EncodeNullDescending(b []byte) []byte {
	return append(b, tagNull^desc)
}

// DecodeIfNull reports whether b starts with a NULL marker of either
// direction. If it does, it returns the bytes after the marker and true;
// otherwise it returns b unchanged and false.
func DecodeIfNull(b []byte) (rest []byte, isNull bool) {
	if len(b) > 0 && (b[0] == tagNull || b[0] == tagNull^desc) {
		return b[1:], true
	}
	return b, false
}
