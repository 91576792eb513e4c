package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dispatch/tests/pebble/client"
)

func TestExec(t *testing.T) {
	f := start(t, Config{})
	if err := os.Mkdir(filepath.Join(f.root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := f.c.Exec([]string{"/bin/sh", "-c", `printf '%s|%s|' "$GREETING" "$(pwd)"; cat; echo err >&2; exit 3`},
		client.ExecOptions{Environment: map[string]string{"GREETING": "hi"}, WorkingDir: "/work", Stdin: []byte("from stdin")})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("hi|%s|from stdinerr\n", filepath.Join(f.root, "work"))
	if res.ExitCode != 3 || string(res.Stdout) != want || res.Change.Status != "Done" {
		t.Errorf("exec: code %d, stdout %q (want %q), %+v", res.ExitCode, res.Stdout, want, res.Change)
	}
	if res.Change.Kind != "exec" || res.Change.Tasks[0].Kind != "exec" || res.Change.Tasks[0].Data["exit-code"] != float64(3) {
		t.Errorf("change: %+v", res.Change)
	}

	// split-stderr: two output sockets.
	res, err = f.c.Exec([]string{"/bin/sh", "-c", "echo out; echo err >&2"}, client.ExecOptions{SplitStderr: true})
	if err != nil || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 0 {
		t.Errorf("split: %+v %v", res, err)
	}

	// Big output in several messages, big stdin through cat.
	big := bytes.Repeat([]byte("x"), 1<<20+7)
	res, err = f.c.Exec([]string{"cat"}, client.ExecOptions{Stdin: big})
	if err != nil || !bytes.Equal(res.Stdout, big) {
		t.Errorf("big: %d bytes %v", len(res.Stdout), err)
	}

	// A bare name is looked up in the request's PATH.
	bin := filepath.Join(f.root, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "hello"), []byte("#!/bin/sh\necho hello from PATH\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err = f.c.Exec([]string{"hello"}, client.ExecOptions{Environment: map[string]string{"PATH": bin + ":/usr/bin:/bin"}})
	if err != nil || string(res.Stdout) != "hello from PATH\n" {
		t.Errorf("PATH: %+v %v", res, err)
	}

	_, err = f.c.Do("POST", "/v1/exec", map[string]any{"command": []string{"no-such-program-here"}})
	apiError(t, err, 400, `cannot find executable "no-such-program-here"`)
	_, err = f.c.Do("POST", "/v1/exec", map[string]any{"command": []string{}})
	apiError(t, err, 400, "must specify command")
	_, err = f.c.Do("POST", "/v1/exec", map[string]any{"command": []string{"true"}, "timeout": "soon"})
	apiError(t, err, 400, "invalid timeout")

	// The 202 reply.
	env := f.mustDo(t, "POST", "/v1/exec", map[string]any{"command": []string{"true"}, "environment": map[string]string{"A": "b"}})
	var r map[string]any
	_ = env.Into(&r)
	if env.HTTPStatus != 202 || env.Type != "async" || env.Change == "" || r["task-id"] == "" ||
		!jsonEqual(r["environment"], map[string]any{"A": "b"}) || r["working-dir"] != "/" {
		t.Errorf("202: %+v %v", env, r)
	}
}

func TestExecTimeoutAndSignal(t *testing.T) {
	f := start(t, Config{})
	started := time.Now()
	res, err := f.c.Exec([]string{"sleep", "10"}, client.ExecOptions{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out after 200ms") || time.Since(started) > 5*time.Second {
		t.Errorf("timeout: %+v %v", res, err)
	}
	if res == nil || res.Change.Status != "Error" {
		t.Fatalf("timeout change: %+v", res)
	}
	res, err = f.c.Exec([]string{"sleep", "10"}, client.ExecOptions{Signal: "SIGTERM"})
	if err != nil || res.ExitCode != 128+15 {
		t.Errorf("signal: %+v %v", res, err)
	}
}

// The command starts only once stdio is connected, and the task fails
// when the websockets do not come in time.
func TestExecWaitsForWebsockets(t *testing.T) {
	f := start(t, Config{WSConnectTimeout: 300 * time.Millisecond})
	marker := filepath.Join(f.root, "ran")
	env := f.mustDo(t, "POST", "/v1/exec", map[string]any{"command": []string{"touch", marker}})
	var r struct {
		TaskID string `json:"task-id"`
	}
	_ = env.Into(&r)
	dialer := websocket.Dialer{NetDial: func(_, _ string) (net.Conn, error) { return net.Dial("unix", f.socket) }}
	control, _, err := dialer.Dial("ws://localhost/v1/tasks/"+r.TaskID+"/websocket/control", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	ch, err := f.c.Wait(env.Change, 5*time.Second)
	if err != nil || ch.Status != "Error" || !strings.Contains(ch.Err, "timeout waiting for websocket connections") {
		t.Errorf("change: %+v %v", ch, err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the command ran without stdio: %v", err)
	}
	// Websockets of an unknown task, an unknown name, a finished task.
	for path, want := range map[string]string{
		"/v1/tasks/12345/websocket/stdio":        "cannot find task",
		"/v1/tasks/" + r.TaskID + "/websocket/x": "not an exec waiting",
	} {
		_, resp, err := dialer.Dial("ws://localhost"+path, nil)
		if err == nil || resp == nil || resp.StatusCode < 400 {
			t.Errorf("%s: %v", path, err)
			continue
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if !strings.Contains(jsonString(body), want) {
			t.Errorf("%s: %v", path, body)
		}
	}
	env = f.mustDo(t, "POST", "/v1/exec", map[string]any{"command": []string{"true"}})
	_ = env.Into(&r)
	if _, resp, err := dialer.Dial("ws://localhost/v1/tasks/"+r.TaskID+"/websocket/stderr", nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("stderr without split-stderr: %v", err)
	}
}

// An exec's websockets are logged as upgrades (101), each on its own
// connection, and so are the messages the client sends on them (method
// WS): stdin's binary messages (their length), text messages (as JSON).
func TestExecLog(t *testing.T) {
	f := start(t, Config{})
	if _, err := f.c.Exec([]string{"/bin/sh", "-c", "cat >/dev/null; sleep 0.2"},
		client.ExecOptions{Stdin: []byte("abc"), Signal: "SIGWINCH"}); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, f.log)
	var paths []string
	for _, r := range recs {
		entry := fmt.Sprintf("%s %s %d", r.Method, r.Path[strings.LastIndex(r.Path, "/")+1:], r.Status)
		switch r.WS {
		case "binary":
			entry += fmt.Sprintf(" binary %d", r.BodyLen)
		case "text":
			entry += " " + string(r.Body)
		}
		paths = append(paths, entry)
	}
	got := strings.Join(paths, ",")
	for _, want := range []string{
		"POST exec 202,GET control 101,GET stdio 101,",
		`WS stdio 0 binary 3,WS stdio 0 {"command":"end"}`,
		`WS control 0 {"command":"signal","signal":{"name":"SIGWINCH"}}`,
		",GET wait 200",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q: %s", want, got)
		}
	}
	if recs[1].Conn == recs[0].Conn || recs[2].Conn == recs[1].Conn || recs[1].Headers["Upgrade"] != "websocket" {
		t.Errorf("connections: %+v", recs)
	}
	for _, r := range recs {
		if r.Method == "WS" && r.Path[strings.LastIndex(r.Path, "/")+1:] == "stdio" && r.Conn != recs[2].Conn {
			t.Errorf("stdio message on connection %d, want %d", r.Conn, recs[2].Conn)
		}
	}
}

// A command that cannot start (here: its working directory is missing)
// still ends its output sockets with {"command":"end"}, as Pebble's
// WebsocketSendStream does when the pipe closes; the change says why, as
// Go's exec does (fork/exec ...), and the exit code is -1.
func TestExecCannotStart(t *testing.T) {
	f := start(t, Config{})
	for _, split := range []bool{false, true} {
		res, err := f.c.Exec([]string{"true"}, client.ExecOptions{WorkingDir: "/no/such/dir", SplitStderr: split})
		if err == nil || !strings.HasPrefix(err.Error(), "exec change: cannot perform the following tasks:") {
			t.Fatalf("split %v: the output did not end, or the change did not fail: %+v %v", split, res, err)
		}
		if !strings.Contains(res.Change.Err, `Execute command "true" (fork/exec `) ||
			!strings.Contains(res.Change.Err, ": no such file or directory)") {
			t.Errorf("change err: %q", res.Change.Err)
		}
		if res.Change.Tasks[0].Data["exit-code"] != float64(-1) {
			t.Errorf("exit code: %+v", res.Change.Tasks[0].Data)
		}
	}
}
