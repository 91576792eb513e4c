package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dispatch/tests/agent/internal/agenttest"
	"dispatch/tests/agent/jujuc"
)

// The test binary doubles as go-jujuc: symlinked as a hook command name
// and run with agenttest.RunMainEnv set, it runs main().
func TestMain(m *testing.M) { agenttest.Main(m, main) }

const contextID = agenttest.ContextID

type fixture struct {
	dir    string
	socket string
	log    string
	tools  string // symlinks to the client, named after commands
	work   string // cwd of the client
}

// newFixture serves an in-process fake agent whose "config-get" reports
// what it received.
func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		dir: dir, socket: filepath.Join(dir, "agent.socket"), log: filepath.Join(dir, "agent.log"),
		tools: filepath.Join(dir, "tools"), work: filepath.Join(dir, "work"),
	}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, f.tools, f.work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\nprintf 'args=%s|pwd=%s|stdin=%s' \"$*\" \"$(pwd)\" \"$(cat)\"\necho warn >&2\nexit 4\n"
	if err := os.WriteFile(filepath.Join(bin, "config-get"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config-get", "state-get"} {
		if err := os.Symlink(self, filepath.Join(f.tools, name)); err != nil {
			t.Fatal(err)
		}
	}
	logFile, err := os.OpenFile(f.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := jujuc.NewServer(jujuc.Config{BinDir: bin, ContextID: contextID, Token: token, Log: logFile})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		logFile.Close()
	})
	return f
}

type result struct {
	code           int
	stdout, stderr string
}

// run executes the client as tools/<name> in work/ with exactly env.
func (f *fixture) run(t *testing.T, name string, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(f.tools, name), args...)
	cmd.Dir = f.work
	cmd.Env = append([]string{agenttest.RunMainEnv + "=1", "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

func (f *fixture) env() []string {
	return []string{
		"JUJU_CONTEXT_ID=" + contextID,
		"JUJU_AGENT_SOCKET_ADDRESS=" + f.socket,
		"JUJU_AGENT_SOCKET_NETWORK=unix",
	}
}

// records reads the call log as plain maps, so the checks below also pin
// the JSON key names.
func (f *fixture) records(t *testing.T) []map[string]interface{} {
	t.Helper()
	return agenttest.ReadJSONLines[map[string]interface{}](t, f.log)
}

func TestCallPassesThroughOutputAndCode(t *testing.T) {
	f := newFixture(t, "")
	r := f.run(t, "config-get", f.env(), "ignored", "--format=json", "key")
	want := "args=--format=json key|pwd=" + f.work + "|stdin="
	if r.code != 4 || r.stdout != want || r.stderr != "warn\n" {
		t.Fatalf("got %+v, want code 4 stdout %q", r, want)
	}
	recs := f.records(t)
	if len(recs) != 1 || recs[0]["command"] != "config-get" || recs[0]["dir"] != f.work ||
		recs[0]["stdin_set"] != false {
		t.Fatalf("records: %v", recs)
	}
}

func TestStdinRetry(t *testing.T) {
	f := newFixture(t, "")
	r := f.run(t, "config-get", f.env(), "a=1\nb=2", "--file", "-")
	if r.code != 4 || r.stdout != "args=--file -|pwd="+f.work+"|stdin=a=1\nb=2" {
		t.Fatalf("got %+v", r)
	}
	recs := f.records(t)
	if len(recs) != 2 || recs[0]["error"] != jujuc.ErrNoStdinMessage ||
		recs[1]["stdin_set"] != true || recs[1]["stdin_len"] != float64(7) {
		t.Fatalf("records: %v", recs)
	}
}

func TestRPCErrorIsErrorExit1(t *testing.T) {
	f := newFixture(t, "")
	r := f.run(t, "state-get", f.env(), "")
	if r.code != 1 || r.stdout != "" || r.stderr != "ERROR bad request: unknown command: state-get\n" {
		t.Fatalf("got %+v", r)
	}
	env := append(f.env(), "JUJU_CONTEXT_ID=unit-x/0-start-2")
	r = f.run(t, "config-get", env, "")
	if r.code != 1 || r.stderr != "ERROR bad request: wrong context ID; got \"unit-x/0-start-2\"\n" {
		t.Fatalf("got %+v", r)
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t, "tok")
	if r := f.run(t, "config-get", f.env(), ""); r.stderr != "ERROR bad request: token does not match\n" {
		t.Fatalf("without token: %+v", r)
	}
	if r := f.run(t, "config-get", append(f.env(), "JUJU_AGENT_TOKEN=tok"), ""); r.code != 4 {
		t.Fatalf("with token: %+v", r)
	}
}

func TestMissingEnvironment(t *testing.T) {
	f := newFixture(t, "")
	full := f.env()
	for i, name := range []string{"JUJU_CONTEXT_ID", "JUJU_AGENT_SOCKET_ADDRESS", "JUJU_AGENT_SOCKET_NETWORK"} {
		// Drop this variable and every later one: the first missing is reported.
		r := f.run(t, "config-get", full[:i], "")
		if r.code != 1 || r.stderr != "ERROR "+name+" not set\n" || r.stdout != "" {
			t.Errorf("without %s: %+v", name, r)
		}
	}
	if recs := f.records(t); len(recs) != 0 {
		t.Fatalf("agent was called: %v", recs)
	}
}

func TestDialFailure(t *testing.T) {
	f := newFixture(t, "")
	env := []string{"JUJU_CONTEXT_ID=" + contextID,
		"JUJU_AGENT_SOCKET_ADDRESS=" + filepath.Join(f.dir, "absent.socket"),
		"JUJU_AGENT_SOCKET_NETWORK=unix"}
	r := f.run(t, "config-get", env, "")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR dial unix ") {
		t.Fatalf("got %+v", r)
	}
}
