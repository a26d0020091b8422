package logictest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress prints, every interval, how far the files being run are:
// "select1.test: 1234/10000 records". On a terminal the line is redrawn in
// place and cleared before other output; otherwise each report is a line
// of its own.
type progress struct {
	w        io.Writer
	tty      bool
	interval time.Duration

	mu struct {
		sync.Mutex
		active []*tracker
		shown  bool // a redrawable line is on the terminal
	}
}

// tracker counts the records done in one file.
type tracker struct {
	name  string
	total int
	done  atomic.Int64
}

func newProgress(w io.Writer, tty bool, interval time.Duration) *progress {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	return &progress{w: w, tty: tty, interval: interval}
}

// track starts counting a file; the returned tracker is passed to untrack
// when the file ends.
func (p *progress) track(name string, total int) *tracker {
	t := &tracker{name: name, total: total}
	if p == nil {
		return t
	}
	p.mu.Lock()
	p.mu.active = append(p.mu.active, t)
	p.mu.Unlock()
	return t
}

func (p *progress) untrack(t *tracker) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, a := range p.mu.active {
		if a == t {
			p.mu.active = append(p.mu.active[:i], p.mu.active[i+1:]...)
			break
		}
	}
}

// loop reports until ctx is done, then clears its line.
func (p *progress) loop(ctx context.Context) {
	tk := time.NewTicker(p.interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.clearLocked()
			p.mu.Unlock()
			return
		case <-tk.C:
			p.report()
		}
	}
}

func (p *progress) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.mu.active) == 0 {
		return
	}
	parts := make([]string, len(p.mu.active))
	for i, t := range p.mu.active {
		parts[i] = fmt.Sprintf("%s: %d/%d records", t.name, t.done.Load(), t.total)
	}
	s := strings.Join(parts, "  ")
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", s)
		p.mu.shown = true
	} else {
		fmt.Fprintf(p.w, "%s\n", s)
	}
}

func (p *progress) clearLocked() {
	if p.mu.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.mu.shown = false
	}
}

// write writes b to w with the progress line out of the way.
func (p *progress) write(w io.Writer, b []byte) {
	if p == nil {
		w.Write(b)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	w.Write(b)
}
