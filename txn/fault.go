package txn

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// Fault injection for crash tests (sqltests/crash_test.go). It exists only
// so end-to-end tests can crash a SQL frontend at the two interesting
// points of a Percolator commit; nothing else may rely on it.
//
// The environment variable SHARDSQL_FAULT is read once, when the process
// starts. When it is set to one of the points below, the two-phase commit
// path of a transaction whose writes span more than one range kills its own
// process with SIGKILL at that point: a real crash, with no deferred
// functions run, no background cleanup (rollbackAsync, commitAsync) and no
// reply to the client. 1PC commits, and 2PC commits whose keys all fall
// in one range (a 1PC attempt that fell back to 2PC because the range
// split under it, say), never trigger it.
//
//	after-prewrite        every prewrite succeeded; before fetching
//	                      commit_ts and committing the primary. The
//	                      transaction must end up rolled back: readers roll
//	                      its orphaned locks back once their TTL expired.
//	after-primary-commit  the primary's commit succeeded (the commit point);
//	                      before any secondary is committed. The transaction
//	                      is committed: readers roll its secondaries
//	                      forward from the primary.
//
// Unset (the normal case), the hook costs one comparison of a package-level
// variable per two-phase commit.
const faultEnv = "SHARDSQL_FAULT"

// faultPoint is a place in the commit path where the hook may crash.
type faultPoint uint8

const (
	faultNone faultPoint = iota
	faultAfterPrewrite
	faultAfterPrimaryCommit
)

// fault is the point at which this process crashes itself, if any.
var fault = parseFault(os.Getenv(faultEnv))

func parseFault(v string) faultPoint {
	switch v {
	case "":
		return faultNone
	case "after-prewrite":
		fmt.Fprintf(os.Stderr, "%s=%s: this process kills itself after the prewrites of its first multi-range two-phase commit (crash testing only)\n", faultEnv, v)
		return faultAfterPrewrite
	case "after-primary-commit":
		fmt.Fprintf(os.Stderr, "%s=%s: this process kills itself after committing the primary of its first multi-range two-phase commit (crash testing only)\n", faultEnv, v)
		return faultAfterPrimaryCommit
	}
	fmt.Fprintf(os.Stderr, "%s=%q is not a known fault point (after-prewrite, after-primary-commit); ignored\n", faultEnv, v)
	return faultNone
}

// maybeCrash kills the process with SIGKILL when the configured fault point
// is at and keys (the transaction's sorted keys) span more than one range.
// Callers check fault != faultNone first, so the normal path pays nothing.
func (t *Txn) maybeCrash(ctx context.Context, at faultPoint, keys [][]byte) {
	if fault != at {
		return
	}
	groups, err := t.c.group(ctx, keys, seq(len(keys)))
	if err != nil || len(groups) < 2 {
		return
	}
	fmt.Fprintf(os.Stderr, "%s: killing the process (SIGKILL) in the commit of transaction %d (%d keys over %d ranges)\n", faultEnv, t.StartTS, len(keys), len(groups))
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; never go on
}
