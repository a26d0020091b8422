package exec

import (
	"context"

	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// Sequences runs the sequence functions (nextval, currval, setval,
// lastval, pg_sequence_last_value, shardsql_sequence_last_value) for a
// session. The RowIDs a statement runs with implements it
// when sequences are available.
type Sequences interface {
	// SequenceFunc runs fn on its (non-NULL) arguments: the sequence's name
	// as text first, then setval's value and is_called.
	SequenceFunc(ctx context.Context, fn string, args []types.Datum) (types.Datum, error)
}

// sequenceFunc evaluates a sequence function. Like PostgreSQL's, they are
// strict: a NULL argument gives NULL without touching the sequence.
func (r *runner) sequenceFunc(fn string, args []types.Datum) (types.Datum, error) {
	for _, a := range args {
		if a.IsNull() {
			return types.Null, nil
		}
	}
	sq, ok := r.ids.(Sequences)
	if !ok {
		return types.Null, pgerr.New(pgerr.FeatureNotSupported, "%s() cannot run here", fn)
	}
	return sq.SequenceFunc(r.ctx, fn, args)
}
