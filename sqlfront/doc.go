// Package sqlfront is the SQL frontend: the PostgreSQL wire protocol server
// (startup, trust authentication, the simple query protocol, errors with
// SQLSTATEs), the catalog cache fed by the metadata service, and the glue
// that plans each statement, runs it in its own transaction and commits it.
// It may import everything below it (planner, exec, txn, shardmeta/client,
// api, internal); nothing imports it but cmd.
package sqlfront
