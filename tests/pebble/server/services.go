package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

type serviceState struct {
	current       string // active, inactive, error, backoff
	since         time.Time
	startedConfig string // the plan's service when it was started (replan restarts on a change)
	failStart     bool   // its start task fails (control)
}

type checkState struct {
	status    string // up, down, inactive
	successes int
	failures  int
	changeID  string
	prevID    string
}

// ---------------------------------------------------------------- layers, plan

func (s *Server) postLayers(r *http.Request) *response {
	var req struct {
		Action  string `json:"action"`
		Combine bool   `json:"combine"`
		Inner   bool   `json:"inner"`
		Label   string `json:"label"`
		Format  string `json:"format"`
		Layer   string `json:"layer"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.Action != "add" {
		return badRequest("invalid action %q", req.Action)
	}
	if req.Label == "" {
		return badRequest("label must be set")
	}
	if req.Format != "yaml" {
		return badRequest("invalid format %q", req.Format)
	}
	layer, err := ParseLayer(0, req.Label, req.Layer)
	if err != nil {
		if _, ok := err.(*formatError); ok {
			return badRequest("%v", err)
		}
		return badRequest("cannot parse layer YAML: %v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	layers := append([]*Layer(nil), s.layers...)
	found := -1
	for i, l := range layers {
		if l.Label == req.Label {
			found = i
		}
	}
	switch {
	case found >= 0 && !req.Combine:
		return badRequest("layer %q already exists", req.Label)
	case found >= 0:
		old := layers[found]
		merged := &Layer{Order: old.Order, Label: old.Label, Summary: old.Summary, Description: old.Description,
			Sections: newSections()}
		for sec, items := range old.Sections {
			for name, it := range items {
				merged.Sections[sec][name] = copyItem(it)
			}
		}
		if layer.Summary != "" {
			merged.Summary = layer.Summary
		}
		if layer.Description != "" {
			merged.Description = layer.Description
		}
		if err := combineInto(merged.Sections, layer); err != nil {
			return badRequest("%v", err)
		}
		layers[found] = merged
	default:
		layer.Order = 1
		if n := len(layers); n > 0 {
			layer.Order = layers[n-1].Order + 1
		}
		layers = append(layers, layer)
	}
	plan, err := CombineLayers(layers)
	if err != nil {
		return badRequest("%v", err)
	}
	s.layers, s.plan = layers, plan
	s.planChanged()
	return syncResponse(true)
}

// planChanged gives new services and checks their state (s.mu held).
func (s *Server) planChanged() {
	for name := range s.plan.Sections["services"] {
		if s.services[name] == nil {
			s.services[name] = &serviceState{current: "inactive", failStart: contains(s.cfg.FailStartServices, name)}
		}
	}
	for _, name := range sortedKeys(s.plan.Sections["checks"]) {
		if s.checks[name] != nil {
			continue
		}
		cs := &checkState{status: "inactive"}
		s.checks[name] = cs
		if s.plan.Sections["checks"][name]["startup"] != "disabled" {
			s.startCheck(name)
		}
	}
}

func (s *Server) getPlan(r *http.Request) *response {
	if f := r.URL.Query().Get("format"); f != "yaml" {
		return badRequest("invalid format %q", f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncResponse(s.plan.YAML())
}

// ---------------------------------------------------------------- services

// queryList reads a parameter given as a=x,y and/or a=x&a=y.
func queryList(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func (s *Server) getServices(r *http.Request) *response {
	names := queryList(r, "names")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, name := range sortedKeys(s.plan.Sections["services"]) {
		if len(names) > 0 && !contains(names, name) {
			continue
		}
		st := s.services[name]
		startup := "disabled"
		if s.plan.Sections["services"][name]["startup"] == "enabled" {
			startup = "enabled"
		}
		info := map[string]any{"name": name, "startup": startup, "current": st.current}
		if !st.since.IsZero() {
			info["current-since"] = timeJSON(st.since)
		}
		out = append(out, info)
	}
	return syncResponse(out)
}

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func (s *Server) postServices(r *http.Request) *response {
	var req struct {
		Action   string   `json:"action"`
		Services []string `json:"services"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch req.Action {
	case "start", "stop", "restart":
		if req.Action == "restart" && s.cfg.Pebble2021 {
			return badRequest("invalid action %q", req.Action)
		}
		if len(req.Services) == 0 {
			return badRequest("must specify services for %s action", req.Action)
		}
	case "autostart", "replan":
		if len(req.Services) != 0 {
			return badRequest("%s accepts no service names", req.Action)
		}
	default:
		return badRequest("invalid action %q", req.Action)
	}
	plan := s.plan.Sections["services"]
	for _, name := range req.Services {
		if _, ok := plan[name]; !ok {
			return badRequest("service %q does not exist", name)
		}
	}
	names := append([]string(nil), req.Services...)
	sort.Strings(names)
	active := func(n string) bool { return s.services[n].current == "active" }
	var toStop, toStart []string
	switch req.Action {
	case "start":
		for _, n := range s.withRequired(names) {
			if !active(n) {
				toStart = append(toStart, n)
			}
		}
	case "stop":
		for _, n := range names {
			if active(n) {
				toStop = append(toStop, n)
			}
		}
	case "restart":
		for _, n := range names {
			if active(n) {
				toStop = append(toStop, n)
			}
		}
		toStart = s.withRequired(names)
	case "autostart", "replan":
		var defaults []string
		for _, n := range sortedKeys(plan) {
			if plan[n]["startup"] == "enabled" {
				defaults = append(defaults, n)
			}
		}
		if req.Action == "autostart" && len(defaults) == 0 {
			return errorResponse(400, "no-default-services", "no default services")
		}
		if req.Action == "replan" {
			for _, n := range sortedKeys(plan) {
				if active(n) && s.services[n].startedConfig != itemJSON(plan[n]) {
					toStop = append(toStop, n)
				}
			}
		}
		// As Pebble: the services restarted (changed config) and the
		// default ones.
		for _, n := range s.withRequired(uniq(append(append([]string(nil), toStop...), defaults...))) {
			if !active(n) || contains(toStop, n) {
				toStart = append(toStart, n)
			}
		}
	}
	summaryNames := names
	if len(summaryNames) == 0 {
		summaryNames = append(append([]string(nil), toStop...), toStart...)
	}
	verb := strings.ToUpper(req.Action[:1]) + req.Action[1:]
	summary := fmt.Sprintf("%s service %s", verb, quoted(uniq(summaryNames)))
	if len(summaryNames) == 0 {
		summary = verb + " - no services"
	}
	c := s.newChange(req.Action, summary, nil)
	c.services = uniq(append(append([]string(nil), toStop...), toStart...))
	for _, n := range toStop {
		n := n
		s.addTask(c, "stop", fmt.Sprintf("Stop service %q", n), func() error {
			st := s.services[n]
			st.current, st.since = "inactive", time.Now()
			return nil
		})
	}
	for _, n := range toStart {
		n := n
		s.addTask(c, "start", fmt.Sprintf("Start service %q", n), func() error {
			st := s.services[n]
			st.since = time.Now()
			if st.failStart {
				st.current = "error"
				return fmt.Errorf("cannot start service: exited quickly with code 1")
			}
			st.current = "active"
			st.startedConfig = itemJSON(s.plan.Sections["services"][n])
			return nil
		})
	}
	s.runChange(c)
	return asyncResponse(c.id, nil)
}

func uniq(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range list {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// withRequired adds the services that the given ones require, required
// ones first (s.mu held).
func (s *Server) withRequired(names []string) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if req, ok := s.plan.Sections["services"][n]["requires"].([]string); ok {
			for _, d := range req {
				visit(d)
			}
		}
		out = append(out, n)
	}
	for _, n := range names {
		visit(n)
	}
	return out
}

// ---------------------------------------------------------------- signals

var signalNames = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
	"SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
	"SIGALRM": 14, "SIGTERM": 15, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20,
	"SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26,
	"SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,
}

func (s *Server) postSignals(r *http.Request) *response {
	var req struct {
		Signal   string   `json:"signal"`
		Services []string `json:"services"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if _, ok := signalNames[req.Signal]; !ok {
		return badRequest("invalid signal name %q", req.Signal)
	}
	if len(req.Services) == 0 {
		return badRequest("must specify one or more services")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range req.Services {
		st := s.services[n]
		if _, inPlan := s.plan.Sections["services"][n]; !inPlan || st == nil || st.current != "active" {
			return badRequest("cannot send signal to %q: service is not running", n)
		}
	}
	for _, n := range req.Services {
		s.signals = append(s.signals, SignalRecord{Signal: req.Signal, Service: n})
	}
	return syncResponse(true)
}

// ---------------------------------------------------------------- checks

func checkType(it item) string {
	switch {
	case it["http"] != nil:
		return "HTTP"
	case it["tcp"] != nil:
		return "TCP"
	}
	return "exec"
}

func (s *Server) checkThreshold(name string) int {
	if th, ok := s.plan.Sections["checks"][name]["threshold"].(int64); ok {
		return int(th)
	}
	return 3
}

// startCheck: the check is up, with a perform-check change running (s.mu held).
func (s *Server) startCheck(name string) {
	cs := s.checks[name]
	it := s.plan.Sections["checks"][name]
	c := s.newChange("perform-check", fmt.Sprintf("Perform %s check %q", checkType(it), name),
		map[string]string{"check-name": name})
	t := s.addTask(c, "perform-check", c.summary, nil)
	c.status, t.status = "Doing", "Doing"
	cs.status, cs.failures = "up", 0
	cs.prevID, cs.changeID = cs.changeID, c.id
}

// setCheck moves a check up or down as Pebble's checks manager does: a
// check going down ends its perform-check change in Error and starts a
// recover-check change; coming back up ends that one Done and starts a new
// perform-check (each step a change-update notice). s.mu held.
func (s *Server) setCheck(name, status string, failures, successes *int) error {
	cs := s.checks[name]
	if cs == nil {
		return fmt.Errorf("cannot find check %q", name)
	}
	if successes != nil {
		cs.successes = *successes
	}
	switch status {
	case "", cs.status:
	case "down":
		if cs.status == "inactive" {
			return fmt.Errorf("check %q is inactive", name)
		}
		if c := s.changes[cs.changeID]; c != nil && !c.isReady() {
			for _, t := range c.tasks {
				t.status, t.readyAt = "Error", time.Now()
				t.log = append(t.log, time.Now().UTC().Format(time.RFC3339)+" ERROR check failed")
			}
			s.finishChange(c)
		}
		it := s.plan.Sections["checks"][name]
		c := s.newChange("recover-check", fmt.Sprintf("Recover %s check %q", checkType(it), name),
			map[string]string{"check-name": name})
		t := s.addTask(c, "recover-check", c.summary, nil)
		c.status, t.status = "Doing", "Doing"
		cs.status = "down"
		cs.prevID, cs.changeID = cs.changeID, c.id
		if cs.failures < s.checkThreshold(name) {
			cs.failures = s.checkThreshold(name)
		}
	case "up":
		if c := s.changes[cs.changeID]; c != nil && !c.isReady() {
			for _, t := range c.tasks {
				t.status, t.readyAt = "Done", time.Now()
			}
			s.finishChange(c)
		}
		s.startCheck(name)
		cs.successes++
	case "inactive":
		s.stopCheck(name)
	default:
		return fmt.Errorf("invalid check status %q", status)
	}
	if failures != nil {
		cs.failures = *failures
	}
	return nil
}

func (s *Server) stopCheck(name string) {
	cs := s.checks[name]
	if c := s.changes[cs.changeID]; c != nil && !c.isReady() {
		for _, t := range c.tasks {
			t.status, t.readyAt = "Done", time.Now()
		}
		s.finishChange(c)
	}
	cs.status, cs.failures = "inactive", 0
}

func (s *Server) getChecks(r *http.Request) *response {
	level := r.URL.Query().Get("level")
	if level != "" && level != "alive" && level != "ready" {
		return badRequest(`level must be "alive" or "ready"`)
	}
	names := queryList(r, "names")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, name := range sortedKeys(s.plan.Sections["checks"]) {
		it := s.plan.Sections["checks"][name]
		if len(names) > 0 && !contains(names, name) || level != "" && it["level"] != level {
			continue
		}
		cs := s.checks[name]
		startup := "enabled"
		if it["startup"] == "disabled" {
			startup = "disabled"
		}
		info := map[string]any{"name": name, "startup": startup, "status": cs.status,
			"successes": cs.successes, "failures": cs.failures, "threshold": s.checkThreshold(name)}
		if lv, ok := it["level"].(string); ok {
			info["level"] = lv
		}
		if cs.changeID != "" {
			info["change-id"] = cs.changeID
		}
		if cs.prevID != "" {
			info["prev-change-id"] = cs.prevID
		}
		out = append(out, info)
	}
	return syncResponse(out)
}

func (s *Server) postChecks(r *http.Request) *response {
	var req struct {
		Action string   `json:"action"`
		Checks []string `json:"checks"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.Action != "start" && req.Action != "stop" {
		return badRequest("invalid action %q", req.Action)
	}
	if len(req.Checks) == 0 {
		return badRequest("must specify checks for %s action", req.Action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range req.Checks {
		if s.checks[n] == nil {
			return badRequest("cannot find check %q", n)
		}
	}
	changed := []string{}
	for _, n := range uniq(req.Checks) {
		cs := s.checks[n]
		if req.Action == "start" && cs.status == "inactive" {
			s.startCheck(n)
			changed = append(changed, n)
		}
		if req.Action == "stop" && cs.status != "inactive" {
			s.stopCheck(n)
			changed = append(changed, n)
		}
	}
	sort.Strings(changed)
	return syncResponse(map[string]any{"changed": changed})
}

// getHealth: healthy unless a check of the level asked (ready includes
// alive, as in Pebble) is down; 502 when unhealthy.
func (s *Server) getHealth(r *http.Request) *response {
	level := r.URL.Query().Get("level")
	if level != "" && level != "alive" && level != "ready" {
		return badRequest(`level must be "alive" or "ready"`)
	}
	names := queryList(r, "names")
	s.mu.Lock()
	defer s.mu.Unlock()
	healthy := true
	for name, cs := range s.checks {
		it := s.plan.Sections["checks"][name]
		if len(names) > 0 && !contains(names, name) {
			continue
		}
		if level == "alive" && it["level"] != "alive" {
			continue
		}
		if level == "ready" && it["level"] != "alive" && it["level"] != "ready" {
			continue
		}
		if cs.status == "down" {
			healthy = false
		}
	}
	resp := syncResponse(map[string]any{"healthy": healthy})
	if !healthy {
		resp.status = 502
	}
	return resp
}
