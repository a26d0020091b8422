// Package planner turns parsed SQL (PostgreSQL's own grammar through
// pg_query_go) into plans: typed expressions, the key spans a statement must
// read (primary-key equality to one key, a primary-key range to the spans it
// covers, anything else the whole table), and the steps that run on the
// frontend. It does no I/O: the catalog reaches it through the Catalog
// interface. It imports only internal/... and the parser.
package planner
