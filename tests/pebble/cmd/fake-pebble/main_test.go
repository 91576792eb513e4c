package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dispatch/tests/pebble/client"
)

// The test binary doubles as fake-pebble, so the tests run the real
// program with its flags.
func TestMain(m *testing.M) {
	if os.Getenv("FAKE_PEBBLE_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd    *exec.Cmd
	socket string
	root   string
	log    string
	stderr *bytes.Buffer
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	dir, err := os.MkdirTemp("", "fpm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &proc{socket: filepath.Join(dir, "s"), root: filepath.Join(dir, "root"), log: filepath.Join(dir, "log"),
		stderr: &bytes.Buffer{}}
	if err := os.Mkdir(p.root, 0o755); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], append([]string{"-socket", p.socket, "-root", p.root, "-log", p.log}, args...)...)
	p.cmd.Env = append(os.Environ(), "FAKE_PEBBLE_RUN_MAIN=1")
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("first line %q (%v), stderr %s", line, err, p.stderr)
	}
	return p
}

func TestFlags(t *testing.T) {
	p := startProc(t, "-version", "1.4.2", "-boot-id", "b-1", "-pebble-2021", "-change-delay", "10ms",
		"-fail-start", "bad", "-hostile", "/v1/plan=close@1")
	c := client.New(p.socket)
	env, err := c.Do("GET", "/v1/system-info", nil)
	var info map[string]string
	if err != nil || env.Into(&info) != nil || info["version"] != "1.4.2" || info["boot-id"] != "b-1" {
		t.Fatalf("system-info: %v %v", info, err)
	}
	if _, err := c.Do("GET", "/v1/changes/1/wait", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("-pebble-2021: %v", err)
	}
	if err := c.AddLayer("l", `{"services":{"bad":{"override":"replace","command":"x"}}}`, false); err != nil {
		t.Fatal(err)
	}
	env, err = c.Do("POST", "/v1/services", map[string]any{"action": "start", "services": []string{"bad"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	var ch client.Change
	if env, err = c.Do("GET", "/v1/changes/"+env.Change, nil); err != nil || env.Into(&ch) != nil || ch.Status != "Error" {
		t.Errorf("-fail-start: %+v %v", ch, err)
	}
	// The hostile rule was on /v1/plan, once (Go retries a closed GET on
	// a reused connection, so only the log shows it).
	_, _ = c.Do("GET", "/v1/plan?format=yaml", nil)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit: %v, stderr %s", err, p.stderr)
	}
	if _, err := os.Stat(p.socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	data, _ := os.ReadFile(p.log)
	var hostile int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["hostile"] == "close" && rec["path"] == "/v1/plan" {
			hostile++
		}
	}
	if hostile != 1 {
		t.Errorf("log:\n%s", data)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-socket", "/tmp/x"},
		{"-socket", "/tmp/x", "-root", "/", "-hostile", "/v1/plan=nonsense"},
		{"-socket", "/tmp/x", "-root", "/", "extra"},
	} {
		var stderr bytes.Buffer
		if code := run(args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("%v: exit %d, %s", args, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-socket", "/tmp/x", "-root", "/nonexistent/dir"}, &bytes.Buffer{}, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "not a directory") {
		t.Errorf("bad root: %d %s", code, stderr.String())
	}
}
