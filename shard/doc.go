// Package shard is the ShardSQL shard server: one Pebble database holding many
// ranges, multi-version concurrency control in the Percolator layout, and the
// participant side of two-phase commit, served over gRPC as api.ShardServer.
//
// Pebble key layout (one keyspace per server, user keys escaped so that byte
// order is preserved and a fixed-width timestamp can follow):
//
//	L + esc(key)                    -> lock record (primary, start_ts, ttl, op[, for_update_ts])
//	W + esc(key) + desc(commit_ts)  -> write record (start_ts, kind), newest first
//	D + esc(key) + desc(start_ts)   -> value written by the transaction start_ts
//	M + name                        -> local metadata (node id)
//
// Every state change goes through (*Store).apply, which commits a Pebble batch
// with a synced WAL write; replication will later slot in under it. Reads use
// Pebble snapshots and never take the store's write mutex.
//
// A lock with op LOCK is a pessimistic lock (AcquireLocks): it carries no
// value, readers ignore it, other transactions' writes wait on it, and its
// own transaction's prewrite turns it into a prewrite lock without a
// write-conflict check (the lock was taken at for_update_ts after checking
// that nothing committed later, and has kept writers out since).
//
// The package is layered: store.go opens Pebble and owns the apply path,
// mvcc.go implements the Percolator rules over a Pebble reader or batch,
// ranges.go keeps the owned range descriptors and split fences, service.go
// translates gRPC requests into MVCC calls after checking the range context,
// and server.go registers with the metadata service and follows its range map.
package shard
