package shardmeta

import (
	"math"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/shardsql/shardsql/api"
)

func sequence(name string, opts *api.SequenceDescriptor) *api.TableDescriptor {
	return &api.TableDescriptor{Name: name, Sequence: opts}
}

func TestAllocateValues(t *testing.T) {
	up := &api.SequenceDescriptor{Increment: 3, MinValue: 1, MaxValue: 10, Start: 1}
	down := &api.SequenceDescriptor{Increment: -2, MinValue: -5, MaxValue: -1, Start: -1}
	cyc := &api.SequenceDescriptor{Increment: 4, MinValue: 2, MaxValue: 9, Start: 2, Cycle: true}
	huge := &api.SequenceDescriptor{Increment: math.MaxInt64, MinValue: math.MinInt64, MaxValue: math.MaxInt64, Start: 0}
	hugeDown := &api.SequenceDescriptor{Increment: math.MinInt64, MinValue: math.MinInt64, MaxValue: math.MaxInt64, Start: math.MaxInt64}
	for _, c := range []struct {
		name       string
		seq        *api.SequenceDescriptor
		st         *api.SequenceState
		count      int64
		first, n   int64
		outOfRange bool
	}{
		{"fresh", up, &api.SequenceState{LastValue: 1}, 1, 1, 1, false},
		{"fresh block", up, &api.SequenceState{LastValue: 1}, 10, 1, 4, false},
		{"called", up, &api.SequenceState{LastValue: 4, IsCalled: true}, 2, 7, 2, false},
		{"at max", up, &api.SequenceState{LastValue: 10, IsCalled: true}, 1, 0, 0, true},
		{"past max", up, &api.SequenceState{LastValue: 8, IsCalled: true}, 1, 0, 0, true},
		{"down", down, &api.SequenceState{LastValue: -1}, 5, -1, 3, false},
		{"down at min", down, &api.SequenceState{LastValue: -5, IsCalled: true}, 1, 0, 0, true},
		{"cycle wraps", cyc, &api.SequenceState{LastValue: 6, IsCalled: true}, 5, 2, 2, false},
		{"no overflow", huge, &api.SequenceState{LastValue: 0, IsCalled: true}, 5, math.MaxInt64, 1, false},
		{"overflow", huge, &api.SequenceState{LastValue: 1, IsCalled: true}, 5, 0, 0, true},
		{"huge down", hugeDown, &api.SequenceState{LastValue: math.MaxInt64}, 5, math.MaxInt64, 2, false},
	} {
		first, n, err := allocateValues(c.seq, c.st, c.count)
		if c.outOfRange {
			if err == nil {
				t.Errorf("%s: got [%d, n=%d], want out of range", c.name, first, n)
			}
			continue
		}
		if err != nil || first != c.first || n != c.n {
			t.Errorf("%s: got first=%d n=%d err=%v, want first=%d n=%d", c.name, first, n, err, c.first, c.n)
		}
	}
}

func TestSequenceAllocateSetDrop(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	cl := env.cl
	r, err := cl.CreateTable(ctx, &api.CreateTableRequest{Table: sequence("s", &api.SequenceDescriptor{Type: "bigint", Increment: 2, MinValue: 1, MaxValue: 9, Start: 3, Cache: 1})})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Table.Id
	// A sequence shares the table namespace.
	_, err = cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("s")})
	wantCode(t, err, codes.AlreadyExists)
	_, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "s", Kind: "table"})
	wantCode(t, err, codes.FailedPrecondition)

	a, err := cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: id, Count: 2})
	if err != nil || a.First != 3 || a.Count != 2 || a.Increment != 2 {
		t.Fatalf("allocate: %+v %v", a, err)
	}
	a, err = cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: id, Count: 10})
	if err != nil || a.First != 7 || a.Count != 2 {
		t.Fatalf("allocate to the end: %+v %v", a, err)
	}
	_, err = cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: id, Count: 1})
	wantCode(t, err, codes.OutOfRange)

	_, err = cl.SequenceSet(ctx, &api.SequenceSetRequest{SequenceId: id, Value: 10})
	wantCode(t, err, codes.InvalidArgument)
	if _, err = cl.SequenceSet(ctx, &api.SequenceSetRequest{SequenceId: id, Value: 4, IsCalled: false}); err != nil {
		t.Fatal(err)
	}
	a, err = cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: id, Count: 1})
	if err != nil || a.First != 4 || a.Count != 1 {
		t.Fatalf("after setval: %+v %v", a, err)
	}

	// Handing out values does not change the catalog version.
	cat, err := cl.GetCatalog(ctx, &api.GetCatalogRequest{})
	if err != nil || cat.Version != 1 {
		t.Fatalf("catalog version %d after allocations (err %v)", cat.GetVersion(), err)
	}

	if _, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "s", Kind: "sequence"}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: id, Count: 1})
	wantCode(t, err, codes.NotFound)
	if _, err = cl.CreateTable(ctx, &api.CreateTableRequest{Table: table("t")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.DropTable(ctx, &api.DropTableRequest{Name: "t", Kind: "sequence"})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: id + 1, Count: 1})
	wantCode(t, err, codes.FailedPrecondition)
}

// TestSequenceAllocateConcurrent: many clients allocating blocks of
// different sizes never get a value twice, and together get every value.
func TestSequenceAllocateConcurrent(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := testContext(t)
	r, err := env.cl.CreateTable(ctx, &api.CreateTableRequest{Table: sequence("s", &api.SequenceDescriptor{Type: "bigint", Increment: 1, MinValue: 1, MaxValue: math.MaxInt64, Start: 1, Cache: 1})})
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 40
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				a, err := env.cl.SequenceAllocate(ctx, &api.SequenceAllocateRequest{SequenceId: r.Table.Id, Count: int64(1 + (w+i)%5)})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for k := range a.Count {
					v := a.First + k*a.Increment
					if seen[v] {
						mu.Unlock()
						t.Errorf("value %d handed out twice", v)
						return
					}
					seen[v] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for v := int64(1); v <= int64(len(seen)); v++ {
		if !seen[v] {
			t.Fatalf("value %d skipped although nothing was lost (%d values)", v, len(seen))
		}
	}
}
