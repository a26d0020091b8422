// Package types defines ShardSQL's SQL types and datums: their PostgreSQL
// OIDs, text input and output, comparison and casts. It is a leaf: besides
// the standard library it imports only internal/pgerr and the apd decimal
// library (NUMERIC needs exact decimal arithmetic).
package types
