package server

import (
	"net/http"
	"time"
)

// serveControl answers the /fake/ endpoints (see the package comment).
// They are not written to the request log.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, parts []string) *response {
	if len(parts) != 1 {
		return notFound("invalid control endpoint")
	}
	switch parts[0] {
	case "hostile":
		switch r.Method {
		case "GET":
			s.mu.Lock()
			defer s.mu.Unlock()
			out := []HostileRule{}
			for _, h := range s.hostile {
				out = append(out, *h)
			}
			return syncResponse(out)
		case "DELETE":
			s.mu.Lock()
			defer s.mu.Unlock()
			s.hostile = nil
			return syncResponse(true)
		case "POST":
			var rule HostileRule
			if e := decodeJSON(r, &rule); e != nil {
				return e
			}
			if err := rule.validate(); err != nil {
				return badRequest("%v", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			s.hostile = append(s.hostile, &rule)
			return syncResponse(true)
		}
	case "checks":
		if r.Method != "POST" {
			break
		}
		var req struct {
			Name      string `json:"name"`
			Status    string `json:"status"`
			Failures  *int   `json:"failures"`
			Successes *int   `json:"successes"`
		}
		if e := decodeJSON(r, &req); e != nil {
			return e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.setCheck(req.Name, req.Status, req.Failures, req.Successes); err != nil {
			return badRequest("%v", err)
		}
		return syncResponse(true)
	case "services":
		if r.Method != "POST" {
			break
		}
		var req struct {
			Name      string `json:"name"`
			Current   string `json:"current"`
			FailStart *bool  `json:"fail-start"`
		}
		if e := decodeJSON(r, &req); e != nil {
			return e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.services[req.Name]
		if st == nil {
			return badRequest("service %q does not exist", req.Name)
		}
		switch req.Current {
		case "":
		case "active", "inactive", "error", "backoff":
			st.current, st.since = req.Current, time.Now()
			if req.Current == "active" {
				st.startedConfig = itemJSON(s.plan.Sections["services"][req.Name])
			}
		default:
			return badRequest("invalid current %q", req.Current)
		}
		if req.FailStart != nil {
			st.failStart = *req.FailStart
		}
		return syncResponse(true)
	case "boot-id":
		if r.Method != "POST" {
			break
		}
		var req struct {
			BootID string `json:"boot-id"`
		}
		if e := decodeJSON(r, &req); e != nil {
			return e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if req.BootID == "" {
			req.BootID = newUUID()
		}
		s.bootID = req.BootID
		return syncResponse(map[string]any{"boot-id": s.bootID})
	case "config":
		if r.Method != "POST" {
			break
		}
		var req struct {
			ChangeDelay      *string `json:"change-delay"`
			WSConnectTimeout *string `json:"ws-connect-timeout"`
			Pebble2021       *bool   `json:"pebble-2021"`
		}
		if e := decodeJSON(r, &req); e != nil {
			return e
		}
		var delay, connect time.Duration
		var err error
		if req.ChangeDelay != nil {
			if delay, err = time.ParseDuration(*req.ChangeDelay); err != nil {
				return badRequest("invalid change-delay: %v", err)
			}
		}
		if req.WSConnectTimeout != nil {
			if connect, err = time.ParseDuration(*req.WSConnectTimeout); err != nil || connect <= 0 {
				return badRequest("invalid ws-connect-timeout %q", *req.WSConnectTimeout)
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if req.ChangeDelay != nil {
			s.cfg.ChangeDelay = delay
		}
		if req.WSConnectTimeout != nil {
			s.cfg.WSConnectTimeout = connect
		}
		if req.Pebble2021 != nil {
			s.cfg.Pebble2021 = *req.Pebble2021
		}
		return syncResponse(true)
	case "signals":
		if r.Method != "GET" {
			break
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return syncResponse(append([]SignalRecord{}, s.signals...))
	default:
		return notFound("invalid control endpoint")
	}
	return errorResponse(405, "", "method %q not allowed", r.Method)
}
