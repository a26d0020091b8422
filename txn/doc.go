// Package txn is the client side of the data path, used by SQL frontends:
// the batching TSO client (Oracle), the range cache and routing with retries
// on stale descriptors (Client), and the Percolator transaction coordinator
// (Txn) with its lock resolver. It imports only api, internal/... and gRPC;
// it knows nothing of SQL or pgwire.
package txn
