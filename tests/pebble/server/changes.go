package server

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type change struct {
	id       string
	kind     string
	summary  string
	status   string // Do, Doing, Done, Error, Hold
	err      string
	spawn    time.Time
	readyAt  time.Time
	tasks    []*task
	ready    chan struct{}     // closed when the change is ready
	services []string          // the services it acts on (GET /v1/changes?for=)
	extra    map[string]string // added to its change-update notices' data
}

type task struct {
	id      string
	kind    string
	summary string
	status  string
	log     []string
	spawn   time.Time
	readyAt time.Time
	data    map[string]any
	change  *change
	action  func() error // run when the change runs; nil for exec tasks
}

func (c *change) isReady() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// newChange registers a change (s.mu held).
func (s *Server) newChange(kind, summary string, extra map[string]string) *change {
	c := &change{id: s.nextID(), kind: kind, summary: summary, status: "Do", spawn: time.Now(),
		ready: make(chan struct{}), extra: extra}
	s.changes[c.id] = c
	s.changeUpdated(c)
	return c
}

// addTask adds a task to a change (s.mu held).
func (s *Server) addTask(c *change, kind, summary string, action func() error) *task {
	t := &task{id: s.nextID(), kind: kind, summary: summary, status: "Do", spawn: time.Now(), change: c, action: action}
	c.tasks = append(c.tasks, t)
	s.tasks[t.id] = t
	return t
}

// changeUpdated records Pebble's change-update notice (s.mu held).
func (s *Server) changeUpdated(c *change) {
	data := map[string]string{"kind": c.kind}
	for k, v := range c.extra {
		data[k] = v
	}
	s.addNotice(nil, "change-update", c.id, data, 0)
}

// runChange runs a change's task actions: at once when there is no
// ChangeDelay, else after it (the change stays Doing meanwhile). After a
// failed task the rest are put on Hold, as Pebble does in one lane.
// s.mu held.
func (s *Server) runChange(c *change) {
	if s.cfg.ChangeDelay <= 0 {
		s.finishTasks(c)
		return
	}
	c.status = "Doing"
	for _, t := range c.tasks {
		t.status = "Doing"
	}
	s.changeUpdated(c)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-time.After(s.cfg.ChangeDelay):
		case <-s.closed:
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !c.isReady() {
			s.finishTasks(c)
		}
	}()
}

func (s *Server) finishTasks(c *change) {
	failed := false
	for _, t := range c.tasks {
		if failed {
			t.status = "Hold"
			continue
		}
		var err error
		if t.action != nil {
			err = t.action()
		}
		t.readyAt = time.Now()
		if err != nil {
			failed = true
			t.status = "Error"
			t.log = append(t.log, time.Now().UTC().Format(time.RFC3339)+" ERROR "+err.Error())
		} else {
			t.status = "Done"
		}
	}
	s.finishChange(c)
}

// finishChange makes a change ready, its status from its tasks (s.mu held).
func (s *Server) finishChange(c *change) {
	if c.isReady() {
		return
	}
	c.status = "Done"
	var errs []string
	for _, t := range c.tasks {
		switch t.status {
		case "Error":
			c.status = "Error"
			msg := ""
			if len(t.log) > 0 {
				msg = t.log[len(t.log)-1]
				if i := strings.Index(msg, " ERROR "); i >= 0 {
					msg = msg[i+7:]
				}
			}
			errs = append(errs, fmt.Sprintf("- %s (%s)", t.summary, msg))
		case "Hold":
			if c.status == "Done" {
				c.status = "Hold"
			}
		}
	}
	if len(errs) > 0 {
		c.err = "cannot perform the following tasks:\n" + strings.Join(errs, "\n")
	}
	c.readyAt = time.Now()
	close(c.ready)
	s.changeUpdated(c)
}

func timeJSON(t time.Time) string {
	return t.Format(time.RFC3339Nano)
}

// json is the change as GET /v1/changes/{id} gives it (s.mu held).
func (c *change) json() map[string]any {
	m := map[string]any{
		"id": c.id, "kind": c.kind, "summary": c.summary, "status": c.status,
		"ready": c.isReady(), "spawn-time": timeJSON(c.spawn),
	}
	if c.err != "" {
		m["err"] = c.err
	}
	if c.isReady() {
		m["ready-time"] = timeJSON(c.readyAt)
	}
	tasks := []any{}
	for _, t := range c.tasks {
		done := 0
		if t.status == "Done" || t.status == "Error" {
			done = 1
		}
		tm := map[string]any{
			"id": t.id, "kind": t.kind, "summary": t.summary, "status": t.status,
			"progress":   map[string]any{"label": "", "done": done, "total": 1},
			"spawn-time": timeJSON(t.spawn),
		}
		if len(t.log) > 0 {
			tm["log"] = t.log
		}
		if !t.readyAt.IsZero() {
			tm["ready-time"] = timeJSON(t.readyAt)
		}
		if len(t.data) > 0 {
			tm["data"] = t.data
		}
		tasks = append(tasks, tm)
	}
	m["tasks"] = tasks
	return m
}

func (s *Server) getChange(id string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.changes[id]
	if !ok {
		return notFound("cannot find change with id %q", id)
	}
	return syncResponse(c.json())
}

func (s *Server) getChanges(r *http.Request) *response {
	q := r.URL.Query()
	sel := q.Get("select")
	if sel == "" {
		sel = "in-progress"
	}
	if sel != "in-progress" && sel != "ready" && sel != "all" {
		return badRequest("invalid select parameter: %q", sel)
	}
	svc := q.Get("for")
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for id, c := range s.changes {
		if sel == "in-progress" && c.isReady() || sel == "ready" && !c.isReady() {
			continue
		}
		if svc != "" && !contains(c.services, svc) {
			continue
		}
		n, _ := strconv.Atoi(id)
		ids = append(ids, n)
	}
	sort.Ints(ids)
	out := []any{}
	for _, n := range ids {
		out = append(out, s.changes[strconv.Itoa(n)].json())
	}
	return syncResponse(out)
}

// postChange: {"action":"abort"}. Tasks not yet done are put on Hold and
// the change ends in Error; an exec task's command is killed.
func (s *Server) postChange(r *http.Request, id string) *response {
	var req struct {
		Action string `json:"action"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.Action != "abort" {
		return badRequest("change action %q is unsupported", req.Action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.changes[id]
	if !ok {
		return notFound("cannot find change with id %q", id)
	}
	if c.isReady() {
		return badRequest("cannot abort change %s with nothing pending", id)
	}
	for _, t := range c.tasks {
		if e, ok := s.execs[t.id]; ok {
			e.abort()
		}
		if t.status != "Done" && t.status != "Error" {
			t.status = "Error"
			t.readyAt = time.Now()
			t.log = append(t.log, time.Now().UTC().Format(time.RFC3339)+" ERROR aborted")
		}
	}
	s.finishChange(c)
	return syncResponse(c.json())
}

func (s *Server) waitChange(r *http.Request, id string) *response {
	var timeout time.Duration
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			return badRequest("invalid timeout %q: %v", t, err)
		}
		timeout = d
	}
	s.mu.Lock()
	c, ok := s.changes[id]
	s.mu.Unlock()
	if !ok {
		return notFound("cannot find change with id %q", id)
	}
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-c.ready:
	case <-expired:
		return errorResponse(504, "", "timed out waiting for change after %s", timeout)
	case <-r.Context().Done():
		return errorResponse(500, "", "request cancelled")
	case <-s.closed:
		return errorResponse(500, "", "daemon is shutting down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncResponse(c.json())
}
