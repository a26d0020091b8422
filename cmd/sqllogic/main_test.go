package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.test")
	if err := os.WriteFile(file, []byte("statement ok\nSELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "no test files"},
		{[]string{"--no-such-flag", file}, 2, "flag provided but not defined"},
		{[]string{"--report", "xml", file}, 2, "--report must be json or junit"},
		{[]string{"--report-file", "x.json", file}, 2, "--report-file needs --report"},
		{[]string{"--parallel", "0", file}, 2, "--parallel must be at least 1"},
		{[]string{"--hash-threshold", "-1", file}, 2, "must not be negative"},
		{[]string{filepath.Join(dir, "missing.test")}, 2, "no such file"},
		{[]string{"--expected-failures", filepath.Join(dir, "missing.txt"), file}, 2, "no such file"},
		{[]string{"-h"}, 0, "usage: sqllogic"},
		// A server that is not there is not a usage error.
		{[]string{"--dsn", "postgres://x@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", file}, 1, "connecting to the server"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("sqllogic %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
