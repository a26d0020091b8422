package types

// FromOID returns the type a PostgreSQL type OID names, for the types
// ShardSQL supports (parameter types a client declares).
func FromOID(oid uint32) (T, bool) {
	switch oid {
	case 16:
		return Bool, true
	case 20:
		return Int8, true
	case 21:
		return Int2, true
	case 23:
		return Int4, true
	case 25, 19: // text, name
		return Text, true
	case 700:
		return Float4, true
	case 701:
		return Float8, true
	case 1043:
		return Varchar(0), true
	case 1042:
		return Bpchar(0), true
	case 1082:
		return Date, true
	case 1114:
		return Timestamp, true
	case 1184:
		return TimestampTZ, true
	case 1186:
		return Interval, true
	case 17:
		return Bytea, true
	case 2950:
		return UUID, true
	case 3802:
		return JSONB, true
	case 1700:
		return Numeric, true
	case 705:
		return Unknown, true
	}
	for elem, arr := range arrayOIDs {
		if arr == oid {
			if e, ok := FromOID(elem); ok {
				return ArrayOf(e), true
			}
		}
	}
	return T{}, false
}
