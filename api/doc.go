// Package api holds the protobuf contracts between ShardSQL processes (the
// shard KV service and the metadata service) and their generated Go code.
// Regenerate with `make proto`; it imports only protobuf and gRPC.
package api
