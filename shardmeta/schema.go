package shardmeta

import (
	"context"
	"sort"
	"sync"

	"github.com/shardsql/shardsql/api"
)

// schemaSeen keeps, in memory, the oldest catalog version each SQL
// frontend reported it may still run statements against. After a restart
// of the metadata service it is empty until the frontends report again
// (they do with every heartbeat), so a frontend waiting on it waits longer,
// never less.
type schemaSeen struct {
	mu   sync.Mutex
	seen map[uint64]uint64
}

// SchemaReportSeen records a frontend's oldest catalog version in use.
func (s *Server) SchemaReportSeen(_ context.Context, req *api.SchemaReportSeenRequest) (*api.SchemaReportSeenResponse, error) {
	s.schema.mu.Lock()
	defer s.schema.mu.Unlock()
	if s.schema.seen == nil {
		s.schema.seen = map[uint64]uint64{}
	}
	s.schema.seen[req.GetNodeId()] = req.GetCatalogVersion()
	return &api.SchemaReportSeenResponse{}, nil
}

// SchemaSeenVersions returns every frontend's last report, by node id.
func (s *Server) SchemaSeenVersions(context.Context, *api.SchemaSeenVersionsRequest) (*api.SchemaSeenVersionsResponse, error) {
	s.schema.mu.Lock()
	defer s.schema.mu.Unlock()
	resp := &api.SchemaSeenVersionsResponse{}
	for id, v := range s.schema.seen {
		resp.Nodes = append(resp.Nodes, &api.SchemaNodeVersion{NodeId: id, CatalogVersion: v})
	}
	sort.Slice(resp.Nodes, func(i, j int) bool { return resp.Nodes[i].NodeId < resp.Nodes[j].NodeId })
	return resp, nil
}
