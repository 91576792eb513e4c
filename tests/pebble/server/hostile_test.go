package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParseHostile(t *testing.T) {
	r, err := ParseHostile("/v1/tasks/*/websocket/stdio=slow:2s@3")
	if err != nil || r.Path != "/v1/tasks/*/websocket/stdio" || r.Mode != "slow" || r.Arg != "2s" || r.Count != 3 {
		t.Errorf("%+v %v", r, err)
	}
	r, err = ParseHostile("/v1/plan=garbage")
	if err != nil || r.Mode != "garbage" || r.Count != 0 || r.Arg != "" {
		t.Errorf("%+v %v", r, err)
	}
	for _, bad := range []string{"garbage", "/v1/plan=nonsense", "v1/plan=close", "/x=slow:fast", "/x=close@-1", "/x=short-body:lots", "/[=close"} {
		if _, err := ParseHostile(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// rawRequest sends one request on a new connection and returns all the
// server sent until it closed (or the deadline).
func rawRequest(t *testing.T, socket, request string, deadline time.Duration) string {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(conn)
	return string(data)
}

const getInfo = "GET /v1/system-info HTTP/1.1\r\nHost: localhost\r\n\r\n"

func TestHostileHTTP(t *testing.T) {
	rules := []string{
		"/v1/system-info=truncated-chunked@1",
		"/v1/system-info=short-body:7@1",
		"/v1/system-info=huge-length@1",
		"/v1/system-info=garbage@1",
		"/v1/system-info=close@1",
		"/v1/system-info=bad-json@1",
	}
	cfg := Config{}
	for _, r := range rules {
		h, err := ParseHostile(r)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Hostile = append(cfg.Hostile, h)
	}
	f := start(t, cfg)
	// truncated-chunked: a chunk announced, half of it sent, no last chunk.
	out := rawRequest(t, f.socket, getInfo, 5*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, "Transfer-Encoding: chunked\r\n") ||
		!strings.Contains(out, "\r\n\r\n") || strings.HasSuffix(out, "0\r\n\r\n") {
		t.Errorf("truncated-chunked: %q", out)
	}
	chunk := out[strings.Index(out, "\r\n\r\n")+4:]
	size, _ := strconv.ParseInt(chunk[:strings.Index(chunk, "\r\n")], 16, 64)
	if sent := len(chunk) - strings.Index(chunk, "\r\n") - 2; int64(sent) >= size || sent == 0 {
		t.Errorf("truncated-chunked: %d of %d bytes: %q", sent, size, out)
	}
	out = rawRequest(t, f.socket, getInfo, 5*time.Second)
	body := out[strings.Index(out, "\r\n\r\n")+4:]
	if !strings.Contains(out, "Content-Length: ") || !strings.Contains(out, "\r\nContent-Length: "+strconv.Itoa(len(body)+7)+"\r\n") {
		t.Errorf("short-body: %q", out)
	}
	out = rawRequest(t, f.socket, getInfo, 5*time.Second)
	if !strings.Contains(out, "Content-Length: 4611686018427387904\r\n") {
		t.Errorf("huge-length: %q", out)
	}
	out = rawRequest(t, f.socket, getInfo, 5*time.Second)
	if strings.HasPrefix(out, "HTTP/") || out == "" {
		t.Errorf("garbage: %q", out)
	}
	if out = rawRequest(t, f.socket, getInfo, 5*time.Second); out != "" {
		t.Errorf("close: %q", out)
	}
	_, err := f.c.Do("GET", "/v1/system-info", nil)
	if err == nil || !strings.Contains(err.Error(), "bad body") {
		t.Errorf("bad-json: %v", err)
	}
	// Every rule was used once: normal service again.
	if _, err := f.c.Do("GET", "/v1/system-info", nil); err != nil {
		t.Errorf("after the rules: %v", err)
	}
	recs := readLog(t, f.log)
	if len(recs) != 7 || recs[0].Hostile != "truncated-chunked" || recs[0].Status != 0 || recs[5].Hostile != "bad-json" ||
		recs[6].Hostile != "" || recs[6].Status != 200 {
		t.Errorf("log: %+v", recs)
	}
}

// The same modes through Go's own client: each is an error a client has
// to survive.
func TestHostileThroughAClient(t *testing.T) {
	f := start(t, Config{})
	add := func(mode string) {
		f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/plan", "mode": mode, "count": 1})
	}
	// ("close" is left out: Go's transport retries a GET whose reused
	// connection closed before any byte came back; see TestHostileHTTP.)
	for _, mode := range []string{"truncated-chunked", "short-body", "garbage", "huge-length", "bad-json"} {
		add(mode)
		if _, err := f.c.Do("GET", "/v1/plan?format=yaml", nil); err == nil {
			t.Errorf("%s: no error", mode)
		}
	}
	// hang: only a client timeout ends it.
	add("hang")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/plan?format=yaml", nil)
	if _, err := f.c.HTTP.Do(req); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("hang: %v", err)
	}
	// slow, trickle: late but right.
	f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/plan", "mode": "slow", "arg": "150ms", "count": 1})
	began := time.Now()
	if _, err := f.c.Do("GET", "/v1/plan?format=yaml", nil); err != nil || time.Since(began) < 150*time.Millisecond {
		t.Errorf("slow: %v after %v", err, time.Since(began))
	}
	f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/plan", "mode": "trickle", "arg": "1ms", "count": 1})
	env, err := f.c.Do("GET", "/v1/plan?format=yaml", nil)
	var plan string
	if err != nil || env.Into(&plan) != nil || plan != "{}\n" {
		t.Errorf("trickle: %v %q", err, plan)
	}

	// The control surface: list, and clear.
	f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/*", "mode": "close"})
	var rules []HostileRule
	_ = f.mustDo(t, "GET", "/fake/hostile", nil).Into(&rules)
	if len(rules) != 1 || rules[0].Path != "/v1/*" || rules[0].Mode != "close" {
		t.Errorf("rules: %+v", rules)
	}
	if _, err := f.c.Do("GET", "/v1/system-info", nil); err == nil {
		t.Error("close on a pattern")
	}
	f.mustDo(t, "DELETE", "/fake/hostile", nil)
	if _, err := f.c.Do("GET", "/v1/system-info", nil); err != nil {
		t.Errorf("cleared: %v", err)
	}
	_, err = f.c.Do("POST", "/fake/hostile", map[string]any{"path": "/v1/x", "mode": "rude"})
	apiError(t, err, 400, `unknown hostile mode "rude"`)
}

func TestHostileWebsockets(t *testing.T) {
	f := start(t, Config{WSConnectTimeout: 300 * time.Millisecond})
	dialer := websocket.Dialer{
		NetDial:          func(_, _ string) (net.Conn, error) { return net.Dial("unix", f.socket) },
		HandshakeTimeout: 300 * time.Millisecond,
	}
	for mode, want := range map[string]string{
		"ws-masked":     "bad MASK",
		"ws-rsv":        "RSV1 set, RSV2 set, RSV3 set",
		"ws-huge-frame": "read limit exceeded",
	} {
		f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/tasks/*/websocket/stdio", "mode": mode, "count": 1})
		env := f.mustDo(t, "POST", "/v1/exec", map[string]any{"command": []string{"true"}})
		var r struct {
			TaskID string `json:"task-id"`
		}
		_ = env.Into(&r)
		conn, _, err := dialer.Dial("ws://localhost/v1/tasks/"+r.TaskID+"/websocket/stdio", nil)
		if err != nil {
			t.Errorf("%s: handshake: %v", mode, err)
			continue
		}
		conn.SetReadLimit(1 << 20)
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _, err = conn.ReadMessage()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", mode, err)
		}
		conn.Close()
		// The stdio socket never really connected: the task fails.
		if ch, err := f.c.Wait(env.Change, 5*time.Second); err != nil || !strings.Contains(ch.Err, "timeout waiting for websocket") {
			t.Errorf("%s: change %+v %v", mode, ch, err)
		}
	}

	// Never answering the stdio upgrade.
	f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/tasks/*/websocket/stdio", "mode": "hang", "count": 1})
	env := f.mustDo(t, "POST", "/v1/exec", map[string]any{"command": []string{"true"}})
	var r struct {
		TaskID string `json:"task-id"`
	}
	_ = env.Into(&r)
	if _, _, err := dialer.Dial("ws://localhost/v1/tasks/"+r.TaskID+"/websocket/stdio", nil); err == nil ||
		!strings.Contains(err.Error(), "timeout") {
		t.Errorf("hang: %v", err)
	}
	// A plain request to a websocket mode is refused.
	f.mustDo(t, "POST", "/fake/hostile", map[string]any{"path": "/v1/system-info", "mode": "ws-rsv", "count": 1})
	out := rawRequest(t, f.socket, getInfo, 5*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 400") {
		t.Errorf("ws mode without upgrade: %q", out)
	}
}
