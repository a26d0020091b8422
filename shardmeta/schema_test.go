package shardmeta

import (
	"testing"

	"github.com/shardsql/shardsql/api"
)

func TestSchemaSeenVersions(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	for _, r := range []*api.SchemaReportSeenRequest{{NodeId: 5, CatalogVersion: 3}, {NodeId: 2, CatalogVersion: 9}, {NodeId: 5, CatalogVersion: 4}} {
		if _, err := env.cl.SchemaReportSeen(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := env.cl.SchemaSeenVersions(ctx, &api.SchemaSeenVersionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Nodes) != 2 || resp.Nodes[0].NodeId != 2 || resp.Nodes[0].CatalogVersion != 9 || resp.Nodes[1].NodeId != 5 || resp.Nodes[1].CatalogVersion != 4 {
		t.Fatalf("seen versions %v", resp.Nodes)
	}
}
