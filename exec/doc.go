// Package exec runs plans made by the planner: expression evaluation, the
// row source that reads a table's spans through a transaction, filtering,
// counting, sorting, limits and projection, and the writes of INSERT,
// UPDATE and DELETE. Rows reach it through the KV interface, which the
// frontend's transaction (txn.Txn) implements. It imports only planner and
// internal/... (no I/O of its own).
package exec
