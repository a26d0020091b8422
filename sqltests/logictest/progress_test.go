package logictest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProgress(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var w syncBuffer
		p := newProgress(&w, tty, 5*time.Millisecond)
		tr := p.track("select1.test", 10000)
		tr.done.Add(1234)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.loop(ctx); close(done) }()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(w.String(), "select1.test: 1234/10000 records") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		var out bytes.Buffer
		p.write(&out, []byte("file output\n"))
		p.untrack(tr)
		cancel()
		<-done
		got := w.String()
		if !strings.Contains(got, "select1.test: 1234/10000 records") {
			t.Fatalf("tty=%v: progress output %q", tty, got)
		}
		if tty && !strings.HasSuffix(got, "\r\033[K") {
			t.Errorf("tty: the progress line is not cleared at the end: %q", got)
		}
		if !tty && (strings.Contains(got, "\r") || !strings.HasSuffix(got, "\n")) {
			t.Errorf("not a tty: want plain lines, got %q", got)
		}
	}
}
