// Package logictest is a sqllogictest runner for any server that speaks the
// PostgreSQL wire protocol: ShardSQL, PostgreSQL itself, or anything else.
//
// It owns the sqllogictest file format (SQLite's, plus a few extensions for
// ShardSQL's own tests: error patterns, affected-row counts and named
// sessions), the formatting and hashing rules of results, per-file
// isolation in a fresh database or schema, expected-failure lists and the
// run summary with its JSON and JUnit reports. cmd/sqllogic is a thin main
// over Run.
//
// It talks to the server only through pgx over the wire protocol and must
// not import any other ShardSQL package: it tests public surfaces.
package logictest
