// Package sqltests holds end-to-end tests that drive ShardSQL only through
// its public surfaces: the shardsql binary started as real processes, and
// real PostgreSQL clients (pgx, psql) over the wire protocol. Nothing
// imports it.
package sqltests
