package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dispatch/tests/pebble/client"
)

type fixture struct {
	s      *Server
	c      *client.Client
	socket string
	root   string
	log    string
}

// start runs a server in-process on a socket in a short temporary
// directory (a unix socket path has at most 107 bytes).
func start(t *testing.T, cfg Config) *fixture {
	t.Helper()
	dir, err := os.MkdirTemp("", "fp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fixture{socket: filepath.Join(dir, "pebble.socket"), root: filepath.Join(dir, "root"), log: filepath.Join(dir, "log")}
	if err := os.Mkdir(f.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if cfg.Root == "" {
		cfg.Root = f.root
	}
	logFile, err := os.Create(f.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	cfg.Log = logFile
	f.s, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.s.Serve(l) }()
	t.Cleanup(func() { f.s.Close() })
	f.c = client.New(f.socket)
	return f
}

// raw sends a request and returns the status and the decoded envelope.
func (f *fixture) raw(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://localhost"+path, rd)
	resp, err := f.c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, data, err)
	}
	return resp.StatusCode, env
}

func (f *fixture) mustDo(t *testing.T, method, path string, body any) *client.Envelope {
	t.Helper()
	env, err := f.c.Do(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return env
}

func (f *fixture) addLayer(t *testing.T, label, layer string, combine bool) {
	t.Helper()
	if err := f.c.AddLayer(label, layer, combine); err != nil {
		t.Fatalf("add layer %s: %v", label, err)
	}
}

func apiError(t *testing.T, err error, code int, msg string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Code != code || !strings.Contains(e.Message, msg) {
		t.Errorf("got %v, want %d %q", err, code, msg)
	}
}

func TestEnvelopes(t *testing.T) {
	f := start(t, Config{Version: "1.7.4", BootID: "boot-1"})
	code, env := f.raw(t, "GET", "/v1/system-info", "")
	want := map[string]any{"type": "sync", "status-code": float64(200), "status": "OK",
		"result": map[string]any{"boot-id": "boot-1", "version": "1.7.4"}}
	if code != 200 || !jsonEqual(env, want) {
		t.Errorf("sync: %d %v", code, env)
	}
	code, env = f.raw(t, "GET", "/v1/nothing", "")
	want = map[string]any{"type": "error", "status-code": float64(404), "status": "Not Found",
		"result": map[string]any{"message": "invalid API endpoint requested"}}
	if code != 404 || !jsonEqual(env, want) {
		t.Errorf("error: %d %v", code, env)
	}
	f.addLayer(t, "base", `{"services":{"web":{"override":"replace","command":"w","startup":"enabled"}}}`, false)
	code, env = f.raw(t, "POST", "/v1/services", `{"action":"replan"}`)
	if code != 202 || env["type"] != "async" || env["status"] != "Accepted" || env["status-code"] != float64(202) ||
		env["change"] == nil || env["result"] != nil {
		t.Errorf("async: %d %v", code, env)
	}
	code, env = f.raw(t, "POST", "/v1/services", `{"action":`)
	if code != 400 || env["type"] != "error" || env["status"] != "Bad Request" {
		t.Errorf("bad body: %d %v", code, env)
	}
	code, env = f.raw(t, "DELETE", "/v1/services", "")
	if code != 405 {
		t.Errorf("method: %d %v", code, env)
	}
	code, env = f.raw(t, "GET", "/v1/warnings", "")
	if code != 200 || !jsonEqual(env["result"], []any{}) {
		t.Errorf("warnings: %d %v", code, env)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestLayersAPI(t *testing.T) {
	f := start(t, Config{})
	_, err := f.c.Do("POST", "/v1/layers", map[string]any{"action": "remove", "label": "x", "format": "yaml"})
	apiError(t, err, 400, `invalid action "remove"`)
	_, err = f.c.Do("POST", "/v1/layers", map[string]any{"action": "add", "format": "yaml", "layer": "{}"})
	apiError(t, err, 400, "label must be set")
	_, err = f.c.Do("POST", "/v1/layers", map[string]any{"action": "add", "label": "x", "format": "json", "layer": "{}"})
	apiError(t, err, 400, `invalid format "json"`)
	apiError(t, f.c.AddLayer("x", "services: [", false), 400, "cannot parse layer YAML")
	apiError(t, f.c.AddLayer("x", "services: {web: {command: x}}", false), 400, `layer "x" must define "override" for service "web"`)

	f.addLayer(t, "base", "services:\n  web:\n    override: replace\n    command: /bin/web\n    environment: {A: a}\n", false)
	apiError(t, f.c.AddLayer("base", "summary: again", false), 400, `layer "base" already exists`)
	// A refused layer changes nothing.
	apiError(t, f.c.AddLayer("bad", "services: {db: {override: replace}}", false), 400, `plan must define "command"`)
	// combine into the existing label, in place (before "later").
	f.addLayer(t, "later", `{"services":{"web":{"override":"merge","environment":{"B":"later"}}}}`, false)
	f.addLayer(t, "base", `{"services":{"web":{"override":"merge","environment":{"A":"combined","B":"base"}}}}`, true)
	// combine with a new label is a plain add.
	f.addLayer(t, "new", `{"services":{"db":{"override":"replace","command":"db"}}}`, true)
	env := f.mustDo(t, "GET", "/v1/plan?format=yaml", nil)
	var plan string
	if err := env.Into(&plan); err != nil {
		t.Fatal(err)
	}
	want := `services:
    db:
        override: replace
        command: db
    web:
        override: merge
        command: /bin/web
        environment:
            A: combined
            B: later
`
	if plan != want {
		t.Errorf("plan:\n%s\nwant:\n%s", plan, want)
	}
	_, err = f.c.Do("GET", "/v1/plan", nil)
	apiError(t, err, 400, `invalid format ""`)
	// "inner" is accepted (Pebble's layers in subdirectories).
	if _, err := f.c.Do("POST", "/v1/layers", map[string]any{"action": "add", "label": "in", "format": "yaml",
		"layer": "{}", "inner": true}); err != nil {
		t.Error(err)
	}
}

type svcInfo struct {
	Name, Startup, Current string
	Since                  string `json:"current-since"`
}

func (f *fixture) services(t *testing.T, query string) map[string]svcInfo {
	t.Helper()
	var list []svcInfo
	if err := f.mustDo(t, "GET", "/v1/services"+query, nil).Into(&list); err != nil {
		t.Fatal(err)
	}
	m := map[string]svcInfo{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

func TestServices(t *testing.T) {
	f := start(t, Config{FailStartServices: []string{"broken"}})
	_, err := f.c.Services("autostart")
	apiError(t, err, 400, "no default services")
	f.addLayer(t, "base", `
services:
    web: {override: replace, command: web, startup: enabled, requires: [db]}
    db: {override: replace, command: db}
    idle: {override: replace, command: idle}
    broken: {override: replace, command: b}
`, false)
	if s := f.services(t, "?names=web,db"); len(s) != 2 || s["web"].Current != "inactive" || s["web"].Startup != "enabled" ||
		s["db"].Startup != "disabled" || s["web"].Since != "" {
		t.Errorf("services: %v", s)
	}
	ch, err := f.c.Services("autostart")
	if err != nil || ch.Status != "Done" || ch.Kind != "autostart" || len(ch.Tasks) != 2 {
		t.Fatalf("autostart: %+v %v", ch, err)
	}
	// db is required by web: started first.
	if ch.Tasks[0].Summary != `Start service "db"` || ch.Tasks[1].Summary != `Start service "web"` {
		t.Errorf("tasks: %+v", ch.Tasks)
	}
	s := f.services(t, "")
	if s["web"].Current != "active" || s["db"].Current != "active" || s["idle"].Current != "inactive" || s["web"].Since == "" {
		t.Errorf("after autostart: %v", s)
	}

	for _, c := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"action": "start"}, "must specify services for start action"},
		{map[string]any{"action": "replan", "services": []string{"web"}}, "replan accepts no service names"},
		{map[string]any{"action": "start", "services": []string{"nope"}}, `service "nope" does not exist`},
		{map[string]any{"action": "dance", "services": []string{"web"}}, `invalid action "dance"`},
		// Debian's lua-cjson encodes an empty table as {}: refused, as by Pebble.
		{map[string]any{"action": "replan", "services": map[string]any{}}, "cannot decode request body"},
	} {
		_, err := f.c.Do("POST", "/v1/services", c.body)
		apiError(t, err, 400, c.msg)
	}

	ch, err = f.c.Services("stop", "web")
	if err != nil || ch.Status != "Done" || f.services(t, "?names=web")["web"].Current != "inactive" {
		t.Errorf("stop: %+v %v", ch, err)
	}
	// stopping what is stopped: a change with no task.
	if ch, err = f.c.Services("stop", "web"); err != nil || ch.Status != "Done" || len(ch.Tasks) != 0 {
		t.Errorf("stop again: %+v %v", ch, err)
	}
	ch, err = f.c.Services("restart", "db")
	if err != nil || len(ch.Tasks) != 2 || ch.Tasks[0].Kind != "stop" || ch.Tasks[1].Kind != "start" {
		t.Errorf("restart: %+v %v", ch, err)
	}

	// replan: starts enabled services, restarts those whose config changed.
	f.mustDo(t, "POST", "/v1/services", map[string]any{"action": "start", "services": []string{"idle"}})
	f.addLayer(t, "change", `{"services":{"idle":{"override":"merge","environment":{"X":"1"}}}}`, false)
	ch, err = f.c.Services("replan")
	var kinds []string
	for _, tk := range ch.Tasks {
		kinds = append(kinds, tk.Summary)
	}
	if err != nil || strings.Join(kinds, ",") != `Stop service "idle",Start service "idle",Start service "web"` {
		t.Errorf("replan: %v %v", kinds, err)
	}
	if ch, _ = f.c.Services("replan"); len(ch.Tasks) != 0 || ch.Summary != "Replan - no services" {
		t.Errorf("replan again: %+v", ch)
	}

	// A failing start: the change is in Error, Pebble's err text.
	ch, err = f.c.Services("start", "broken", "idle")
	if err != nil || ch.Status != "Error" || ch.Err != "cannot perform the following tasks:\n- Start service \"broken\" (cannot start service: exited quickly with code 1)" {
		t.Errorf("failed start: %+v %v", ch, err)
	}
	if s := f.services(t, "?names=broken"); s["broken"].Current != "error" {
		t.Errorf("broken: %v", s)
	}
	// The control endpoint: fail-start off, a state set directly.
	f.mustDo(t, "POST", "/fake/services", map[string]any{"name": "broken", "fail-start": false})
	if ch, _ = f.c.Services("start", "broken"); ch.Status != "Done" {
		t.Errorf("fixed: %+v", ch)
	}
	f.mustDo(t, "POST", "/fake/services", map[string]any{"name": "web", "current": "backoff"})
	if s := f.services(t, "?names=web"); s["web"].Current != "backoff" {
		t.Errorf("set: %v", s)
	}
}

func TestChangesWait(t *testing.T) {
	f := start(t, Config{ChangeDelay: 300 * time.Millisecond})
	f.addLayer(t, "base", `{"services":{"web":{"override":"replace","command":"w"}}}`, false)
	env := f.mustDo(t, "POST", "/v1/services", map[string]any{"action": "start", "services": []string{"web"}})
	id := env.Change
	var ch client.Change
	if err := f.mustDo(t, "GET", "/v1/changes/"+id, nil).Into(&ch); err != nil || ch.Ready || ch.Status != "Doing" {
		t.Errorf("in progress: %+v %v", ch, err)
	}
	code, body := f.raw(t, "GET", "/v1/changes/"+id+"/wait?timeout=0.050s", "")
	if code != 504 || body["type"] != "error" || !strings.Contains(jsonString(body["result"]), "timed out waiting for change after 50ms") {
		t.Errorf("wait timeout: %d %v", code, body)
	}
	var list []client.Change
	_ = f.mustDo(t, "GET", "/v1/changes?select=in-progress&for=web", nil).Into(&list)
	if len(list) != 1 || list[0].ID != id {
		t.Errorf("in-progress: %+v", list)
	}
	if s := f.services(t, ""); s["web"].Current != "inactive" {
		t.Errorf("not yet started: %v", s)
	}
	done, err := f.c.Wait(id, 5*time.Second)
	if err != nil || !done.Ready || done.Status != "Done" {
		t.Errorf("wait: %+v %v", done, err)
	}
	if s := f.services(t, ""); s["web"].Current != "active" {
		t.Errorf("started: %v", s)
	}
	_, err = f.c.Do("GET", "/v1/changes/999/wait", nil)
	apiError(t, err, 404, `cannot find change with id "999"`)
	_, err = f.c.Do("GET", "/v1/changes/"+id+"/wait?timeout=soon", nil)
	apiError(t, err, 400, "invalid timeout")

	// abort
	env = f.mustDo(t, "POST", "/v1/services", map[string]any{"action": "stop", "services": []string{"web"}})
	if err := f.mustDo(t, "POST", "/v1/changes/"+env.Change, map[string]any{"action": "abort"}).Into(&ch); err != nil ||
		ch.Status != "Error" || !ch.Ready {
		t.Errorf("abort: %+v %v", ch, err)
	}
	_, err = f.c.Do("POST", "/v1/changes/"+env.Change, map[string]any{"action": "abort"})
	apiError(t, err, 400, "nothing pending")
	time.Sleep(400 * time.Millisecond)
	if s := f.services(t, ""); s["web"].Current != "active" {
		t.Errorf("an aborted stop does not stop: %v", s)
	}

	// The delay can change at run time.
	f.mustDo(t, "POST", "/fake/config", map[string]any{"change-delay": "0s"})
	env = f.mustDo(t, "POST", "/v1/services", map[string]any{"action": "stop", "services": []string{"web"}})
	if err := f.mustDo(t, "GET", "/v1/changes/"+env.Change, nil).Into(&ch); err != nil || !ch.Ready {
		t.Errorf("no delay: %+v", ch)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPebble2021(t *testing.T) {
	f := start(t, Config{Pebble2021: true})
	f.addLayer(t, "base", `{"services":{"web":{"override":"replace","command":"w"}}}`, false)
	env := f.mustDo(t, "POST", "/v1/services", map[string]any{"action": "start", "services": []string{"web"}})
	_, err := f.c.Do("GET", "/v1/changes/"+env.Change+"/wait?timeout=1.000s", nil)
	apiError(t, err, 404, "invalid API endpoint requested")
	var ch client.Change
	if err := f.mustDo(t, "GET", "/v1/changes/"+env.Change, nil).Into(&ch); err != nil || ch.Status != "Done" {
		t.Errorf("poll: %+v %v", ch, err)
	}
	_, err = f.c.Do("POST", "/v1/services", map[string]any{"action": "restart", "services": []string{"web"}})
	apiError(t, err, 400, `invalid action "restart"`)
	for _, p := range []string{"/v1/exec", "/v1/signals", "/v1/checks", "/v1/notices", "/v1/health"} {
		method := "GET"
		if p == "/v1/exec" || p == "/v1/signals" {
			method = "POST"
		}
		_, err := f.c.Do(method, p, map[string]any{})
		apiError(t, err, 404, "invalid API endpoint")
	}
	// Switched off at run time: the modern API is back.
	f.mustDo(t, "POST", "/fake/config", map[string]any{"pebble-2021": false})
	if _, err := f.c.Wait(env.Change, time.Second); err != nil {
		t.Error(err)
	}
}

func TestChecksHealthAndNotices(t *testing.T) {
	f := start(t, Config{})
	f.addLayer(t, "base", `
checks:
    alive: {override: replace, level: alive, tcp: {port: 80}}
    ready: {override: replace, level: ready, threshold: 2, http: {url: "http://localhost/"}}
    off: {override: replace, startup: disabled, exec: {command: "true"}}
`, false)
	type checkInfo struct {
		Name, Level, Startup, Status string
		Failures, Threshold          int
		ChangeID                     string `json:"change-id"`
	}
	checks := func(q string) map[string]checkInfo {
		var list []checkInfo
		_ = f.mustDo(t, "GET", "/v1/checks"+q, nil).Into(&list)
		m := map[string]checkInfo{}
		for _, c := range list {
			m[c.Name] = c
		}
		return m
	}
	c := checks("")
	if c["alive"].Status != "up" || c["off"].Status != "inactive" || c["off"].Startup != "disabled" ||
		c["ready"].Threshold != 2 || c["alive"].Threshold != 3 || c["alive"].ChangeID == "" {
		t.Errorf("checks: %+v", c)
	}
	if c := checks("?level=alive"); len(c) != 1 {
		t.Errorf("level: %+v", c)
	}
	if c := checks("?names=alive&names=off"); len(c) != 2 {
		t.Errorf("names: %+v", c)
	}
	var changed struct{ Changed []string }
	_ = f.mustDo(t, "POST", "/v1/checks", map[string]any{"action": "start", "checks": []string{"off", "alive"}}).Into(&changed)
	if strings.Join(changed.Changed, ",") != "off" {
		t.Errorf("start: %v", changed)
	}
	_, err := f.c.Do("POST", "/v1/checks", map[string]any{"action": "start", "checks": []string{"nope"}})
	apiError(t, err, 400, `cannot find check "nope"`)
	_ = f.mustDo(t, "POST", "/v1/checks", map[string]any{"action": "stop", "checks": []string{"off"}}).Into(&changed)
	if strings.Join(changed.Changed, ",") != "off" || checks("")["off"].Status != "inactive" {
		t.Errorf("stop: %v", changed)
	}

	health := func(q string) int {
		code, _ := f.raw(t, "GET", "/v1/health"+q, "")
		return code
	}
	if health("") != 200 {
		t.Error("healthy")
	}
	performID := checks("")["ready"].ChangeID
	f.mustDo(t, "POST", "/fake/checks", map[string]any{"name": "ready", "status": "down"})
	c = checks("")
	if c["ready"].Status != "down" || c["ready"].Failures != 2 || c["ready"].ChangeID == performID {
		t.Errorf("down: %+v", c["ready"])
	}
	code, body := f.raw(t, "GET", "/v1/health", "")
	if code != 502 || body["type"] != "sync" || !jsonEqual(body["result"], map[string]any{"healthy": false}) {
		t.Errorf("unhealthy: %d %v", code, body)
	}
	if health("?level=alive") != 200 || health("?level=ready") != 502 || health("?names=alive") != 200 {
		t.Error("health filters")
	}
	var perform client.Change
	_ = f.mustDo(t, "GET", "/v1/changes/"+performID, nil).Into(&perform)
	if perform.Kind != "perform-check" || perform.Status != "Error" {
		t.Errorf("perform-check: %+v", perform)
	}

	// Juju's check-failed trigger: a change-update notice for the
	// perform-check change, with the check's name.
	type noticeInfo struct {
		ID, Type, Key string
		UserID        *int              `json:"user-id"`
		Occurrences   int               `json:"occurrences"`
		LastData      map[string]string `json:"last-data"`
		LastRepeated  string            `json:"last-repeated"`
		RepeatAfter   string            `json:"repeat-after"`
	}
	var notices []noticeInfo
	_ = f.mustDo(t, "GET", "/v1/notices?types=change-update&keys="+performID, nil).Into(&notices)
	if len(notices) != 1 || notices[0].LastData["kind"] != "perform-check" || notices[0].LastData["check-name"] != "ready" ||
		notices[0].UserID != nil {
		t.Errorf("change-update notice: %+v", notices)
	}
	f.mustDo(t, "POST", "/fake/checks", map[string]any{"name": "ready", "status": "up"})
	if c := checks(""); c["ready"].Status != "up" || c["ready"].Failures != 0 || health("") != 200 {
		t.Errorf("recovered: %+v", c["ready"])
	}

	// Custom notices.
	for _, bad := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"action": "add", "type": "warning", "key": "example.com/a"}, `invalid type "warning"`},
		{map[string]any{"action": "add", "type": "custom", "key": "nodomain"}, `invalid key "nodomain"`},
		{map[string]any{"action": "remove", "type": "custom", "key": "example.com/a"}, `invalid action "remove"`},
		{map[string]any{"action": "add", "type": "custom", "key": "example.com/a", "repeat-after": "often"}, "invalid repeat-after"},
	} {
		_, err := f.c.Do("POST", "/v1/notices", bad.body)
		apiError(t, err, 400, bad.msg)
	}
	var added struct{ ID string }
	_ = f.mustDo(t, "POST", "/v1/notices", map[string]any{"action": "add", "type": "custom", "key": "example.com/backup",
		"data": map[string]string{"k": "v"}, "repeat-after": "1h"}).Into(&added)
	var first noticeInfo
	_ = f.mustDo(t, "GET", "/v1/notices/"+added.ID, nil).Into(&first)
	if first.Type != "custom" || first.Key != "example.com/backup" || first.Occurrences != 1 || first.LastData["k"] != "v" ||
		first.RepeatAfter != "1h0m0s" || first.UserID == nil || *first.UserID != os.Getuid() {
		t.Errorf("notice: %+v", first)
	}
	var again struct{ ID string }
	_ = f.mustDo(t, "POST", "/v1/notices", map[string]any{"action": "add", "type": "custom", "key": "example.com/backup",
		"repeat-after": "1h"}).Into(&again)
	var second noticeInfo
	_ = f.mustDo(t, "GET", "/v1/notices/"+added.ID, nil).Into(&second)
	if again.ID != added.ID || second.Occurrences != 2 || second.LastRepeated != first.LastRepeated {
		t.Errorf("repeat within repeat-after: %+v", second)
	}
	_, err = f.c.Do("GET", "/v1/notices/99999", nil)
	apiError(t, err, 404, `cannot find notice with ID "99999"`)

	// A long poll returns when a notice after the cursor arrives.
	got := make(chan []noticeInfo, 1)
	go func() {
		var list []noticeInfo
		env, err := f.c.Do("GET", "/v1/notices?types=custom&users=all&timeout=5s&after="+second.LastRepeated, nil)
		if err == nil {
			_ = env.Into(&list)
		}
		got <- list
	}()
	time.Sleep(100 * time.Millisecond)
	f.mustDo(t, "POST", "/v1/notices", map[string]any{"action": "add", "type": "custom", "key": "example.com/other"})
	select {
	case list := <-got:
		if len(list) != 1 || list[0].Key != "example.com/other" {
			t.Errorf("long poll: %+v", list)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll did not return")
	}
	var none []noticeInfo
	start := time.Now()
	_ = f.mustDo(t, "GET", "/v1/notices?types=custom&keys=example.com/never&timeout=0.1s", nil).Into(&none)
	if len(none) != 0 || time.Since(start) < 100*time.Millisecond {
		t.Errorf("poll timeout: %+v", none)
	}
}

func TestSignals(t *testing.T) {
	f := start(t, Config{})
	f.addLayer(t, "base", `{"services":{"web":{"override":"replace","command":"w"}}}`, false)
	_, err := f.c.Do("POST", "/v1/signals", map[string]any{"signal": "SIGHUP", "services": []string{"web"}})
	apiError(t, err, 400, `cannot send signal to "web": service is not running`)
	_, err = f.c.Do("POST", "/v1/signals", map[string]any{"signal": "SIGNOPE", "services": []string{"web"}})
	apiError(t, err, 400, `invalid signal name "SIGNOPE"`)
	_, err = f.c.Do("POST", "/v1/signals", map[string]any{"signal": "SIGHUP"})
	apiError(t, err, 400, "must specify one or more services")
	if _, err := f.c.Services("start", "web"); err != nil {
		t.Fatal(err)
	}
	f.mustDo(t, "POST", "/v1/signals", map[string]any{"signal": "SIGHUP", "services": []string{"web"}})
	var sent []SignalRecord
	_ = f.mustDo(t, "GET", "/fake/signals", nil).Into(&sent)
	if len(sent) != 1 || sent[0] != (SignalRecord{"SIGHUP", "web"}) {
		t.Errorf("signals: %v", sent)
	}
}

func TestBootID(t *testing.T) {
	f := start(t, Config{})
	var a, b struct {
		BootID string `json:"boot-id"`
	}
	_ = f.mustDo(t, "GET", "/v1/system-info", nil).Into(&a)
	f.mustDo(t, "POST", "/fake/boot-id", map[string]any{})
	_ = f.mustDo(t, "GET", "/v1/system-info", nil).Into(&b)
	if len(a.BootID) != 36 || a.BootID == b.BootID {
		t.Errorf("boot ids %q %q", a.BootID, b.BootID)
	}
}

type logLine struct {
	Seq     uint64
	Conn    uint64
	Method  string
	Path    string
	Query   string
	Headers map[string]string
	Body    json.RawMessage
	BodyLen int `json:"body_len"`
	Parts   []PartRecord
	Status  int
	Hostile string
	WS      string
}

func readLog(t *testing.T, path string) []logLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var r logLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad log line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

func TestRequestLog(t *testing.T) {
	f := start(t, Config{})
	f.mustDo(t, "GET", "/v1/system-info", nil)
	f.addLayer(t, "base", `{"services":{}}`, false)
	f.mustDo(t, "POST", "/fake/boot-id", map[string]any{}) // control: not logged
	_, _ = f.c.Do("GET", "/v1/nothing?x=1", nil)
	if _, err := f.c.Push(client.PushFile{Path: "/a.txt", Content: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, f.log)
	if len(recs) != 4 {
		t.Fatalf("records: %+v", recs)
	}
	if recs[0].Seq != 1 || recs[0].Method != "GET" || recs[0].Path != "/v1/system-info" || recs[0].Status != 200 ||
		recs[0].Headers["Host"] != "localhost" || recs[0].Headers["Accept"] != "application/json" {
		t.Errorf("first: %+v", recs[0])
	}
	var body map[string]any
	if err := json.Unmarshal(recs[1].Body, &body); err != nil || body["label"] != "base" || body["layer"] != `{"services":{}}` {
		t.Errorf("layer body: %s %v", recs[1].Body, err)
	}
	if recs[2].Status != 404 || recs[2].Query != "x=1" {
		t.Errorf("404: %+v", recs[2])
	}
	p := recs[3].Parts
	if len(p) != 2 || p[0].Name != "request" || !strings.Contains(string(p[0].JSON), `"action":"write"`) ||
		p[1].Name != "files" || p[1].Filename != "/a.txt" || p[1].Len != 5 {
		t.Errorf("parts: %+v", p)
	}
	// keep-alive: one connection for all of them.
	for _, r := range recs {
		if r.Conn != recs[0].Conn {
			t.Errorf("connection %d for %s, want %d", r.Conn, r.Path, recs[0].Conn)
		}
	}
}

func decodeTestEnvelope(resp *http.Response) (map[string]any, error) {
	var env map[string]any
	err := json.NewDecoder(resp.Body).Decode(&env)
	return env, err
}
