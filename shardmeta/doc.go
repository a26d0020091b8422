// Package shardmeta is the ShardSQL metadata service. It owns the cluster's
// shared state and serves it over gRPC as api.MetaServer:
//
//   - the timestamp oracle (TSO): hybrid timestamps, physical milliseconds
//     shifted left by 18 bits plus an 18-bit logical counter, strictly
//     increasing across restarts thanks to a ceiling persisted ahead of time;
//   - the catalog: table descriptors, a name index and a catalog version;
//   - the range map: range descriptors, bootstrap of the first range, splits
//     (coordinated with the holding shard's PrepareSplit), lookups from an
//     in-memory index kept current by an etcd watch;
//   - the node registry: node descriptors and liveness keys on etcd leases.
//
// Everything is stored in an embedded etcd member under the prefix
// "/shardsql/", as protobuf-marshalled api messages, and changed with etcd
// transactions conditioned on mod revisions.
//
// shardmeta may import api, internal/..., etcd, gRPC and the standard
// library. It must not import the shard server, the SQL frontend, the planner,
// exec or txn: those talk to it only through the api contracts (and
// shardmeta/client, which imports nothing but api and gRPC).
package shardmeta
