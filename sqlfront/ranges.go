package sqlfront

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shardsql/shardsql/api"
	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/keys"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
)

// metaError maps a metadata-service failure to a SQLSTATE.
func metaError(err error, name string) error {
	switch status.Code(err) {
	case codes.AlreadyExists:
		return pgerr.New(pgerr.DuplicateTable, "relation %q already exists", name)
	case codes.NotFound:
		return pgerr.New(pgerr.UndefinedTable, "table %q does not exist", name)
	case codes.InvalidArgument:
		return pgerr.New(pgerr.InvalidParameterValue, "%s", status.Convert(err).Message())
	}
	return pgerr.Wrap(err, pgerr.SystemError, "metadata service")
}

func (s *session) split(ctx context.Context, p *planner.Split) error {
	for _, k := range p.Keys {
		if _, err := s.srv.meta.SplitRange(ctx, &api.SplitRangeRequest{SplitKey: k}); err != nil {
			return metaError(err, p.Table.Name)
		}
	}
	s.complete("ALTER TABLE")
	return nil
}

// prettyKey shows a key relative to the table's row prefix, or as -inf/+inf
// outside the table.
func prettyKey(k []byte, t *planner.Table, start bool) string {
	rowStart, rowEnd := keys.RowSpan(t.ID)
	switch {
	case len(k) == 0 && start, string(k) <= string(rowStart) && len(k) > 0:
		return "-inf"
	case len(k) == 0, string(k) >= string(rowEnd):
		return "+inf"
	}
	return keys.Pretty(k[len(rowStart):])
}

func (s *session) showRanges(ctx context.Context, p *planner.ShowRanges) error {
	start, end := keys.RowSpan(p.Table.ID)
	resp, err := s.srv.meta.ScanRanges(ctx, &api.ScanRangesRequest{StartKey: start, EndKey: end})
	if err != nil {
		return metaError(err, p.Table.Name)
	}
	nodes, err := s.srv.meta.ListNodes(ctx, &api.ListNodesRequest{})
	if err != nil {
		return metaError(err, p.Table.Name)
	}
	addr := map[uint64]string{}
	for _, n := range nodes.Nodes {
		addr[n.Id] = n.Addr
	}
	cols := []exec.Column{
		{Name: "range_id", Type: types.Int8}, {Name: "start_key", Type: types.Text}, {Name: "end_key", Type: types.Text},
		{Name: "shard", Type: types.Int8}, {Name: "shard_addr", Type: types.Text}, {Name: "generation", Type: types.Int8},
	}
	var rows [][]types.Datum
	for _, r := range resp.Ranges {
		rows = append(rows, []types.Datum{
			types.NewInt(int64(r.RangeId)),
			types.NewString(strings.TrimPrefix(prettyKey(r.StartKey, p.Table, true), "/")),
			types.NewString(strings.TrimPrefix(prettyKey(r.EndKey, p.Table, false), "/")),
			types.NewInt(int64(r.Shard)), types.NewString(addr[r.Shard]), types.NewInt(int64(r.Generation)),
		})
	}
	s.sendRows(cols, rows)
	s.complete("SHOW RANGES")
	return nil
}
