package main

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dispatch/tests/agent/internal/agenttest"
	"dispatch/tests/agent/jujuc"
)

// The test binary doubles as fake-agent, so the tests drive the real
// program over a real socket.
func TestMain(m *testing.M) { agenttest.Main(m, main) }

const contextID = agenttest.ContextID

type agent struct {
	dir    string // temp dir: bin/, work/, agent.log
	socket string
	log    string
	cmd    *exec.Cmd
	leak   []*os.File // handed to the agent as fd 3, 4, ... without close-on-exec
}

// Scripts every agent offers in its bin dir.
var scripts = map[string]string{
	// Reports its args, cwd, stdin and an inherited variable; exit status from $EXIT.
	"echo-all": `#!/bin/sh
printf 'args=%s|' "$*"
printf 'pwd=%s|' "$(pwd)"
printf 'inherited=%s|' "$AGENT_TEST_VAR"
printf 'stdin=%s' "$(cat)"
echo "to stderr" >&2
exit "${EXIT:-0}"
`,
	"exit-7":      "#!/bin/sh\nexit 7\n",
	"self-kill":   "#!/bin/sh\nkill -KILL $$\n",
	"not-exec":    "#!/bin/sh\nexit 0\n", // mode fixed below
	"list-fds":    "#!/bin/sh\nexec ls /proc/self/fd\n",
	"count-calls": "#!/bin/sh\necho x >> calls\n",
	// Fails if another command runs at the same time: calls must be serialised.
	"exclusive": `#!/bin/sh
mkdir running 2>/dev/null || { echo overlap; exit 9; }
i=0; while [ $i -lt 200 ]; do i=$((i+1)); done
rmdir running
`,
}

func startAgent(t *testing.T, extra ...string) *agent {
	t.Helper()
	dir := t.TempDir()
	a := &agent{dir: dir, socket: filepath.Join(dir, "agent.socket"), log: filepath.Join(dir, "agent.log")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, filepath.Join(dir, "work")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range scripts {
		mode := os.FileMode(0o755)
		if name == "not-exec" {
			mode = 0o644
		}
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-bin", bin, "-context", contextID, "-log", a.log}
	hasSocket := false
	for _, e := range extra {
		if e == "-socket" {
			hasSocket = true
		}
	}
	if !hasSocket {
		args = append(args, "-socket", a.socket)
	}
	args = append(args, extra...)
	a.start(t, args)
	return a
}

// The commands start with only stdin, stdout and stderr, even when the
// agent itself inherited more.
func TestInheritedFdsNotPassedOn(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	a := &agent{dir: t.TempDir(), leak: []*os.File{r, w}}
	a.socket = filepath.Join(a.dir, "agent.socket")
	bin := filepath.Join(a.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "list-fds"), []byte(scripts["list-fds"]), 0o755); err != nil {
		t.Fatal(err)
	}
	a.start(t, []string{"-socket", a.socket, "-bin", bin, "-context", contextID})
	req := jujuc.Request{ContextId: contextID, Dir: a.dir, CommandName: "list-fds"}
	resp, err := call(a.dial(t), req)
	if err != nil {
		t.Fatal(err)
	}
	// ls itself holds fd 3 (the directory it reads); the leaked pipe
	// would have been 3 and 4, pushing it to 5.
	fds := strings.Fields(string(resp.Stdout)) // ls sorts by name: "10" < "2"
	sort.Strings(fds)
	if strings.Join(fds, " ") != "0 1 2 3" {
		t.Fatalf("command saw fds %q, want 0 1 2 and ls's own 3", fds)
	}
}

func (a *agent) start(t *testing.T, args []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), agenttest.RunMainEnv+"=1", "AGENT_TEST_VAR=from-agent")
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = a.leak
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.cmd = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("agent did not say ready: %q, %v", line, err)
	}
	t.Cleanup(func() { a.stop(t) })
}

// stop sends SIGTERM: the agent must exit 0 and remove its socket file.
func (a *agent) stop(t *testing.T) {
	if a.cmd == nil {
		return
	}
	cmd := a.cmd
	a.cmd = nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
	if _, err := os.Lstat(a.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
}

func (a *agent) dial(t *testing.T) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial("unix", a.socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (a *agent) request(command string, args ...string) jujuc.Request {
	return jujuc.Request{
		ContextId: contextID, Dir: filepath.Join(a.dir, "work"),
		CommandName: command, Args: args,
	}
}

func (a *agent) records(t *testing.T) []jujuc.CallRecord {
	t.Helper()
	return agenttest.ReadJSONLines[jujuc.CallRecord](t, a.log)
}

func call(c *rpc.Client, req jujuc.Request) (jujuc.ExecResponse, error) {
	var resp jujuc.ExecResponse
	err := c.Call(jujuc.ServiceMethod, req, &resp)
	return resp, err
}

func wantServerError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || err != rpc.ServerError(want) {
		t.Fatalf("error = %#v, want ServerError %q", err, want)
	}
}

func TestNormalCall(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	req := a.request("echo-all", "a b", "--format=json")
	resp, err := call(c, req)
	if err != nil {
		t.Fatal(err)
	}
	wantOut := fmt.Sprintf("args=a b --format=json|pwd=%s|inherited=from-agent|stdin=", req.Dir)
	if string(resp.Stdout) != wantOut || string(resp.Stderr) != "to stderr\n" || resp.Code != 0 {
		t.Fatalf("got code %d stdout %q stderr %q", resp.Code, resp.Stdout, resp.Stderr)
	}

	resp, err = call(c, a.request("exit-7"))
	if err != nil || resp.Code != 7 {
		t.Fatalf("exit-7: code %d err %v", resp.Code, err)
	}

	recs := a.records(t)
	if len(recs) != 2 {
		t.Fatalf("log has %d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Seq != 1 || r.Context != contextID || r.Dir != req.Dir || r.Command != "echo-all" ||
		strings.Join(r.Args, ",") != "a b,--format=json" || r.StdinSet || r.Error != "" || r.Code != 0 {
		t.Fatalf("record 1: %+v", r)
	}
	if recs[1].Seq != 2 || recs[1].Code != 7 || recs[1].Args == nil {
		t.Fatalf("record 2: %+v", recs[1])
	}
}

// -answer replies in-process: the command (which would exit 7) never runs,
// but requests are still validated.
func TestAnswerInProcess(t *testing.T) {
	a := startAgent(t, "-answer", "{}\n")
	c := a.dial(t)
	resp, err := call(c, a.request("exit-7"))
	if err != nil || resp.Code != 0 || string(resp.Stdout) != "{}\n" || len(resp.Stderr) != 0 {
		t.Fatalf("code %d stdout %q err %v", resp.Code, resp.Stdout, err)
	}
	if _, err := call(c, a.request("no-such-command")); err == nil ||
		!strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command answered: %v", err)
	}
}

func TestSignalledCommandCodeIsMinusOne(t *testing.T) {
	a := startAgent(t)
	resp, err := call(a.dial(t), a.request("self-kill"))
	if err != nil || resp.Code != -1 {
		t.Fatalf("code %d err %v", resp.Code, err)
	}
}

func TestBadRequests(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)

	_, err := call(c, a.request("no-such-tool"))
	wantServerError(t, err, "bad request: unknown command: no-such-tool")

	// Names that would escape the bin dir are unknown too.
	_, err = call(c, a.request("../bin/echo-all"))
	wantServerError(t, err, "bad request: unknown command: ../bin/echo-all")

	_, err = call(c, a.request(""))
	wantServerError(t, err, "bad request: command not specified")

	req := a.request("echo-all")
	req.ContextId = "unit-other/1-start-9"
	_, err = call(c, req)
	wantServerError(t, err, `bad request: wrong context ID; got "unit-other/1-start-9"`)

	req = a.request("echo-all")
	req.Dir = "work"
	_, err = call(c, req)
	wantServerError(t, err, "bad request: Dir is not absolute")

	// A command that exists but cannot start is an RPC error.
	_, err = call(c, a.request("not-exec"))
	if se, ok := err.(rpc.ServerError); !ok || !strings.HasPrefix(string(se), "cannot run not-exec: ") {
		t.Fatalf("not-exec: %#v", err)
	}

	// The connection survives RPC errors.
	if resp, err := call(c, a.request("exit-7")); err != nil || resp.Code != 7 {
		t.Fatalf("after errors: code %d err %v", resp.Code, err)
	}
	recs := a.records(t)
	if len(recs) != 7 || recs[0].Error != "bad request: unknown command: no-such-tool" || recs[6].Error != "" {
		t.Fatalf("records: %+v", recs)
	}
}

func TestStdinRequiredThenRetry(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	for _, args := range [][]string{{"--file", "-"}, {"x", "--file=-"}} {
		req := a.request("echo-all", args...)
		resp, err := call(c, req)
		wantServerError(t, err, jujuc.ErrNoStdinMessage)
		if resp.Code != 0 || resp.Stdout != nil {
			t.Fatalf("reply filled in despite error: %+v", resp)
		}
		// Retry on the same connection, as Juju's client does.
		req.StdinSet, req.Stdin = true, []byte("key=value")
		resp, err = call(c, req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(resp.Stdout), "|stdin=key=value") {
			t.Fatalf("stdout %q", resp.Stdout)
		}
	}
	// "--file -" after "--" is a positional argument: no stdin needed.
	if _, err := call(c, a.request("echo-all", "--", "--file", "-")); err != nil {
		t.Fatal(err)
	}
	// StdinSet with empty stdin is fine.
	req := a.request("echo-all", "--file", "-")
	req.StdinSet = true
	if resp, err := call(c, req); err != nil || !strings.HasSuffix(string(resp.Stdout), "|stdin=") {
		t.Fatalf("empty stdin: %q %v", resp.Stdout, err)
	}
	recs := a.records(t)
	if len(recs) != 6 || recs[0].StdinSet || !recs[1].StdinSet || recs[1].StdinLen != 9 {
		t.Fatalf("records: %+v", recs)
	}
}

func TestToken(t *testing.T) {
	a := startAgent(t, "-token", "s3cret")
	c := a.dial(t)
	req := a.request("exit-7")
	_, err := call(c, req)
	wantServerError(t, err, "bad request: token does not match")
	req.Token = "wrong"
	_, err = call(c, req)
	wantServerError(t, err, "bad request: token does not match")
	req.Token = "s3cret"
	if resp, err := call(c, req); err != nil || resp.Code != 7 {
		t.Fatalf("code %d err %v", resp.Code, err)
	}
	if recs := a.records(t); len(recs) != 3 || recs[2].Token != "s3cret" {
		t.Fatalf("records: %+v", recs)
	}
}

func TestCloseOnCallWithRPCClient(t *testing.T) {
	a := startAgent(t, "-close-on-call", "2")
	c := a.dial(t)
	if _, err := call(c, a.request("count-calls")); err != nil {
		t.Fatal(err)
	}
	_, err := call(c, a.request("count-calls"))
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("dropped call: %#v, want io.ErrUnexpectedEOF (EOF, no reply)", err)
	}
	// A fresh connection works.
	if _, err := call(a.dial(t), a.request("count-calls")); err != nil {
		t.Fatal(err)
	}
	calls, err := os.ReadFile(filepath.Join(a.dir, "work", "calls"))
	if err != nil || string(calls) != "x\nx\n" {
		t.Fatalf("command ran %q times (%v), want 2: the dropped call must not run", calls, err)
	}
	recs := a.records(t)
	if len(recs) != 3 || recs[1].Error != jujuc.ErrDropped.Error() || recs[2].Seq != 3 {
		t.Fatalf("records: %+v", recs)
	}
}

// At the byte level: the dropped call's connection yields EOF and nothing else.
func TestCloseOnCallRawBytes(t *testing.T) {
	a := startAgent(t, "-close-on-call", "1")
	conn, err := net.Dial("unix", a.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Not a timing check: only turns a broken agent (one that keeps the
	// connection open) into a failure instead of a hung test.
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	enc := gob.NewEncoder(conn)
	if err := enc.Encode(rpc.Request{ServiceMethod: jujuc.ServiceMethod}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(a.request("exit-7")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil || len(got) != 0 {
		t.Fatalf("read %d bytes (%x), err %v; want clean EOF", len(got), got, err)
	}
}

func TestCallsAreSerialised(t *testing.T) {
	a := startAgent(t)
	const clients, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for i := 0; i < clients; i++ {
		c := a.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				resp, err := call(c, a.request("exclusive"))
				if err == nil && resp.Code != 0 {
					err = fmt.Errorf("code %d: %s", resp.Code, resp.Stdout)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs := a.records(t)
	seen := map[uint64]bool{}
	for _, r := range recs {
		seen[r.Seq] = true
	}
	if len(recs) != clients*each || len(seen) != clients*each || !seen[1] || !seen[clients*each] {
		t.Fatalf("want seq 1..%d once each, got %d records", clients*each, len(recs))
	}
}

func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@fake-agent-test-%d", os.Getpid())
	a := startAgent(t, "-socket", name)
	c, err := rpc.Dial("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp, err := call(c, a.request("exit-7")); err != nil || resp.Code != 7 {
		t.Fatalf("code %d err %v", resp.Code, err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // leaves a dead socket file behind, like a crashed agent
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, "-socket", path)
	a.socket = path
	if _, err := call(a.dial(t), a.request("exit-7")); err != nil {
		t.Fatal(err)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-socket", "/tmp/x", "-bin", "/tmp"}, {"-nope"}} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), agenttest.RunMainEnv+"=1")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%v: err %v, output %s", args, err, out)
		}
	}
}
