package shardmeta

import (
	"slices"
	"testing"
	"time"
)

func TestWaitGraph(t *testing.T) {
	g := newWaitGraph()
	now := time.Unix(1000, 0)
	g.now = func() time.Time { return now }
	if c := g.wait(1, 2); c != nil {
		t.Fatalf("1->2 alone: cycle %v", c)
	}
	if c := g.wait(2, 3); c != nil {
		t.Fatalf("1->2->3: cycle %v", c)
	}
	c := g.wait(3, 1)
	if !slices.Equal(c, []uint64{3, 1, 2}) {
		t.Fatalf("3->1 closes 3->1->2->3, got %v", c)
	}
	// The victim's edge is gone: 3 waiting again on something else is fine.
	if c := g.wait(3, 4); c != nil {
		t.Fatalf("after the victim left: %v", c)
	}
	// A finished wait is removed.
	g.wait(2, 0)
	if c := g.wait(3, 1); c != nil {
		t.Fatalf("2 no longer waits, so 3->1->2 is no cycle: %v", c)
	}
	// Stale edges expire.
	g.wait(5, 6)
	now = now.Add(2 * waitEdgeTTL)
	if c := g.wait(6, 5); c != nil {
		t.Fatalf("an expired edge closed a cycle: %v", c)
	}
	// Self-wait is a cycle of one.
	if c := g.wait(7, 7); !slices.Equal(c, []uint64{7}) {
		t.Fatalf("self wait: %v", c)
	}
}
