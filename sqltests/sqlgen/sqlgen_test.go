package sqlgen

import (
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// TestGenerated: every statement parses (with every feature on), and a
// seed always generates the same statements (so a failure replays).
func TestGenerated(t *testing.T) {
	all := Features{Window: true, CTE: true, DistinctOn: true}
	for seed := int64(1); seed <= 5; seed++ {
		run := func() []string {
			g := New(seed, all)
			out := append(g.CreateStatements(), g.InsertStatements()...)
			out = append(out, g.SplitStatements()...)
			for i := 0; i < 200; i++ {
				q := g.Query()
				if q.Limited && q.Order == nil {
					t.Errorf("seed %d: LIMIT without a total ORDER BY: %s", seed, q.SQL)
				}
				out = append(out, q.SQL)
			}
			return out
		}
		a, b := run(), run()
		if strings.Join(a, ";") != strings.Join(b, ";") {
			t.Fatalf("seed %d generated different statements on a second run", seed)
		}
		for _, s := range a {
			if strings.Contains(s, "SPLIT AT") {
				continue // ShardSQL's own statement
			}
			if _, err := pg.Parse(s); err != nil {
				t.Errorf("seed %d: %v\n%s", seed, err, s)
			}
		}
	}
}

func TestParseFeatures(t *testing.T) {
	f, err := ParseFeatures("window, CTE,distinct_on")
	if err != nil || !f.Window || !f.CTE || !f.DistinctOn {
		t.Errorf("ParseFeatures = %+v, %v", f, err)
	}
	if _, err := ParseFeatures("windows"); err == nil {
		t.Error("an unknown feature was accepted")
	}
}
