package sqlfront

import (
	"context"
	"time"

	"github.com/shardsql/shardsql/api"
)

// Schema versions (F1-style). Every statement holds the catalog version
// current when it started until it ends; each frontend reports to the
// metadata service the oldest version any of its statements holds (or its
// current one). A schema change that needs it waits until every live
// frontend reports at least the version it published, so at most two
// versions are in use at once.

// schemaWaitTimeout bounds those waits, together, for one statement: a
// frontend that does not catch up by then (a statement running longer, a
// frontend cut off from the metadata service but not yet expired) is
// logged and not waited for.
var schemaWaitTimeout = 30 * time.Second

// acquire records that a statement starts on the current catalog version.
//
// inUse has a mutex of its own (holdMu, taken before mu), so statements
// starting and ending do not contend with catalog lookups.
func (c *catalogCache) acquire() uint64 {
	c.holdMu.Lock()
	defer c.holdMu.Unlock()
	if c.inUse == nil {
		c.inUse = map[uint64]int{}
	}
	v := c.currentVersion()
	c.inUse[v]++
	return v
}

// release records that a statement holding version v ended.
func (c *catalogCache) release(v uint64) {
	c.holdMu.Lock()
	c.inUse[v]--
	last := c.inUse[v] <= 0
	if last {
		delete(c.inUse, v)
	}
	c.holdMu.Unlock()
	// Only the end of an older version's last hold can move the oldest
	// version in use (the current version always counts).
	if last && v < c.currentVersion() {
		c.changed()
	}
}

// oldestInUse returns the oldest catalog version a statement holds, or
// the current version when that is older or none is held.
func (c *catalogCache) oldestInUse() uint64 {
	c.holdMu.Lock()
	defer c.holdMu.Unlock()
	oldest := c.currentVersion()
	for v := range c.inUse {
		oldest = min(oldest, v)
	}
	return oldest
}

func (c *catalogCache) currentVersion() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.version
}

// changed wakes the reporter.
func (c *catalogCache) changed() {
	select {
	case c.seenChanged <- struct{}{}:
	default:
	}
}

// holdCatalog makes the session's statement hold the current catalog
// version; the returned function ends the hold (also releaseHold does).
//
// Inside a transaction block the first statement's hold lasts until the
// transaction ends, so a validating schema change also waits for
// transactions that wrote under the older version to finish.
func (s *session) holdCatalog() func() {
	if !s.holding {
		s.hold, s.holding = s.srv.catalog.acquire(), true
	}
	return func() {
		if s.tx == nil {
			s.releaseHold()
		}
	}
}

func (s *session) releaseHold() {
	if s.holding {
		s.holding = false
		s.srv.catalog.release(s.hold)
	}
}

// reportSeenLoop reports the oldest catalog version in use whenever it may
// have changed and every interval, until the server closes.
func (s *Server) reportSeenLoop(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last uint64
	var lastAt time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.catalog.seenChanged:
		}
		v := s.catalog.oldestInUse()
		if v == last && time.Since(lastAt) < interval/2 {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, interval)
		_, err := s.meta.SchemaReportSeen(ctx, &api.SchemaReportSeenRequest{NodeId: s.nodeID.Load(), CatalogVersion: v})
		cancel()
		if err == nil {
			last, lastAt = v, time.Now()
		} else if s.ctx.Err() == nil {
			s.logger.Warn("reporting the catalog version failed", "err", err)
		}
	}
}

// awaitSchema waits until every live SQL frontend reports that none of its
// statements runs on a catalog older than version (bounded by
// schemaWaitTimeout). The session's own statement stops holding its
// version first.
func (s *session) awaitSchema(ctx context.Context, version uint64, deadline time.Time) error {
	s.releaseHold()
	s.srv.catalog.changed()
	backoff := 5 * time.Millisecond
	for {
		lagging, err := s.laggingFrontends(ctx, version)
		if err != nil {
			return err
		}
		if len(lagging) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			s.srv.logger.Warn("schema change: frontends did not catch up with the catalog version; going on", "version", version, "nodes", lagging)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// laggingFrontends returns the live SQL frontends whose last report is
// older than version (or missing).
func (s *session) laggingFrontends(ctx context.Context, version uint64) ([]uint64, error) {
	nodes, err := s.srv.meta.ListNodes(ctx, &api.ListNodesRequest{})
	if err != nil {
		return nil, err
	}
	seen, err := s.srv.meta.SchemaSeenVersions(ctx, &api.SchemaSeenVersionsRequest{})
	if err != nil {
		return nil, err
	}
	at := map[uint64]uint64{}
	for _, n := range seen.Nodes {
		at[n.NodeId] = n.CatalogVersion
	}
	var lagging []uint64
	for _, n := range nodes.Nodes {
		if n.Role == "sql" && n.Live && at[n.Id] < version {
			lagging = append(lagging, n.Id)
		}
	}
	return lagging, nil
}
