package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"dispatch/tests/pebble/server"
)

func TestBenchmarkRound(t *testing.T) {
	dir, err := os.MkdirTemp("", "gpc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := server.New(server.Config{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "s")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	var out, errOut bytes.Buffer
	if code := run([]string{"-socket", socket, "-n", "5", "-execs", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !regexp.MustCompile(`^rounds=5 round_seconds=[0-9.]+ execs=3 exec_seconds=[0-9.]+ seconds=[0-9.]+\n$`).MatchString(out.String()) {
		t.Errorf("output %q", out.String())
	}
	if code := run([]string{"-socket", filepath.Join(dir, "none")}, &out, &errOut); code != 1 {
		t.Errorf("no server: exit %d", code)
	}
	if code := run(nil, &out, &errOut); code != 2 {
		t.Errorf("no socket: exit %d", code)
	}
}
