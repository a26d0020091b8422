// Package rebalancer will decide splits, merges and moves of ranges as a
// pure function of cluster state, and carry them out through interfaces
// (issue 8). It is empty for now; it may import only api and internal/....
package rebalancer
