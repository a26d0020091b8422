package logictest

import "regexp"

// Kind is the kind of a record in a sqllogictest file.
type Kind int

// The record kinds.
const (
	// KindStatement runs SQL and checks that it succeeds or fails.
	KindStatement Kind = iota + 1
	// KindQuery runs SQL and checks its result (or its error).
	KindQuery
	// KindHashThreshold sets the number of values above which query
	// results are hashed.
	KindHashThreshold
	// KindHalt stops the file.
	KindHalt
)

// String returns the keyword that starts a record of the kind.
func (k Kind) String() string {
	switch k {
	case KindStatement:
		return "statement"
	case KindQuery:
		return "query"
	case KindHashThreshold:
		return "hash-threshold"
	case KindHalt:
		return "halt"
	}
	return "unknown"
}

// SortMode says how query results are ordered before they are compared.
type SortMode int

// The sort modes.
const (
	// NoSort keeps the rows in the order the server returned them.
	NoSort SortMode = iota
	// RowSort sorts rows, comparing their formatted values column by
	// column as byte strings.
	RowSort
	// ValueSort sorts all values individually, ignoring row boundaries.
	ValueSort
)

// String returns the keyword of the sort mode.
func (m SortMode) String() string {
	switch m {
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return "nosort"
}

// Condition is a skipif or onlyif line in front of a record.
type Condition struct {
	// Skip is true for skipif (skip when Engine matches) and false for
	// onlyif (skip when Engine does not match).
	Skip bool
	// Engine is the engine label, matched case-insensitively.
	Engine string
}

// Record is one record of a sqllogictest file.
type Record struct {
	// Kind says which of the fields below are meaningful.
	Kind Kind
	// Line is the 1-based line of the record's keyword line (the line
	// after any skipif, onlyif or connection lines); failures and
	// expected-failure lists name records by it.
	Line int
	// Conditions are the record's skipif and onlyif lines, in order.
	Conditions []Condition
	// Connection names the session the record runs on; empty means the
	// default session.
	Connection string

	// SQL is the statement or query text, lines joined with "\n".
	SQL string

	// ExpectError is set for "statement error" and "query error".
	ExpectError bool
	// ErrorPattern, when not nil, must match "SQLSTATE message" of the
	// error an ExpectError record produces.
	ErrorPattern *regexp.Regexp
	// ExpectCount is set for "statement count N"; Count is N.
	ExpectCount bool
	// Count is the affected-row count a "statement count" expects.
	Count int64

	// Types holds one letter per result column: I, R or T.
	Types string
	// Sort is the query's sort mode.
	Sort SortMode
	// Label, when not empty, names a group of queries that must all
	// produce the same result hash.
	Label string
	// Expected are the result lines after "----", one value per line or
	// a single "N values hashing to MD5" line.
	Expected []string

	// Threshold is the value of a hash-threshold record.
	Threshold int
}

// Skipped reports whether the record's conditions skip it on the engine
// with the given label: any skipif that matches or any onlyif that does
// not.
func (r *Record) Skipped(engine string) bool {
	for _, c := range r.Conditions {
		if equalFold(c.Engine, engine) == c.Skip {
			return true
		}
	}
	return false
}

// equalFold compares ASCII case-insensitively, as SQLite's runner does.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
