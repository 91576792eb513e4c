package server

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"time"
)

type notice struct {
	id           string
	userID       *int // nil: public (change-update notices)
	typ          string
	key          string
	first        time.Time
	last         time.Time
	lastRepeated time.Time
	occurrences  int
	lastData     map[string]string
	repeatAfter  time.Duration
}

const noticeExpireAfter = 7 * 24 * time.Hour

// addNotice records an occurrence (s.mu held): the same (user, type, key)
// is the same notice, its last-repeated time moving only when repeat-after
// has passed (or is zero). Waiting readers are woken.
func (s *Server) addNotice(uid *int, typ, key string, data map[string]string, repeatAfter time.Duration) *notice {
	now := time.Now()
	ident := noticeIdent(uid, typ, key)
	if n := s.noticeIndex[ident]; n != nil {
		n.occurrences++
		n.last = now
		n.lastData = data
		if repeatAfter == 0 || !now.Before(n.lastRepeated.Add(repeatAfter)) {
			n.lastRepeated = now
		}
		n.repeatAfter = repeatAfter
		s.wakeNotices()
		return n
	}
	n := &notice{id: s.nextID(), userID: uid, typ: typ, key: key, first: now, last: now, lastRepeated: now,
		occurrences: 1, lastData: data, repeatAfter: repeatAfter}
	s.notices = append(s.notices, n)
	s.noticeIndex[ident] = n
	s.wakeNotices()
	return n
}

// noticeIdent: a notice is one (user, type, key).
func noticeIdent(uid *int, typ, key string) string {
	u := "public"
	if uid != nil {
		u = strconv.Itoa(*uid)
	}
	return u + "\x00" + typ + "\x00" + key
}

func (s *Server) wakeNotices() {
	close(s.noticeWake)
	s.noticeWake = make(chan struct{})
}

func (n *notice) json() map[string]any {
	m := map[string]any{
		"id": n.id, "type": n.typ, "key": n.key, "user-id": nil,
		"first-occurred": timeJSON(n.first), "last-occurred": timeJSON(n.last),
		"last-repeated": timeJSON(n.lastRepeated), "occurrences": n.occurrences,
		"expire-after": noticeExpireAfter.String(),
	}
	if n.userID != nil {
		m["user-id"] = *n.userID
	}
	if len(n.lastData) > 0 {
		m["last-data"] = n.lastData
	}
	if n.repeatAfter > 0 {
		m["repeat-after"] = n.repeatAfter.String()
	}
	return m
}

// customKey: a domain name, then a path ("example.com/backup-done").
var customKey = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+(/[a-zA-Z0-9_.~!$&'()*+,;=:@-]+)+$`)

func (s *Server) postNotice(r *http.Request, info *connInfo) *response {
	var req struct {
		Action      string            `json:"action"`
		Type        string            `json:"type"`
		Key         string            `json:"key"`
		RepeatAfter string            `json:"repeat-after"`
		Data        map[string]string `json:"data"`
	}
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.Action != "add" {
		return badRequest("invalid action %q", req.Action)
	}
	if req.Type != "custom" {
		return badRequest(`invalid type %q (can only add "custom" notices)`, req.Type)
	}
	if len(req.Key) > 256 {
		return badRequest("key must be 256 bytes or less")
	}
	if !customKey.MatchString(req.Key) {
		return badRequest(`invalid key %q: must be in "example.com/path" format`, req.Key)
	}
	var repeat time.Duration
	if req.RepeatAfter != "" {
		d, err := time.ParseDuration(req.RepeatAfter)
		if err != nil {
			return badRequest("invalid repeat-after: %v", err)
		}
		repeat = d
	}
	var uid *int
	if info.uid >= 0 {
		u := info.uid
		uid = &u
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.addNotice(uid, req.Type, req.Key, req.Data, repeat)
	return syncResponse(map[string]any{"id": n.id})
}

func (s *Server) getNotice(id string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.notices {
		if n.id == id {
			return syncResponse(n.json())
		}
	}
	return errorResponse(404, "not-found", "cannot find notice with ID %q", id)
}

// getNotices filters by types, keys, users/user-id and after, waiting up
// to timeout for a first match when there is none.
func (s *Server) getNotices(r *http.Request, info *connInfo) *response {
	q := r.URL.Query()
	types, keys := queryList(r, "types"), queryList(r, "keys")
	users, userID := q.Get("users"), q.Get("user-id")
	if users != "" && userID != "" {
		return badRequest(`cannot use both "users" and "user-id" parameters`)
	}
	if users != "" && users != "all" {
		return badRequest(`invalid users value %q`, users)
	}
	var forUID *int
	if userID != "" {
		n, err := strconv.Atoi(userID)
		if err != nil || n < 0 {
			return badRequest(`invalid "user-id" filter: %q`, userID)
		}
		forUID = &n
	} else if users == "" && info.uid >= 0 {
		u := info.uid
		forUID = &u
	}
	var after time.Time
	if a := q.Get("after"); a != "" {
		t, err := time.Parse(time.RFC3339Nano, a)
		if err != nil {
			return badRequest(`invalid "after" timestamp %q: %v`, a, err)
		}
		after = t
	}
	var timeout time.Duration
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			return badRequest(`invalid timeout %q: %v`, t, err)
		}
		timeout = d
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		deadline = timer.C
	}
	for {
		s.mu.Lock()
		var found []*notice
		for _, n := range s.notices {
			if len(types) > 0 && !contains(types, n.typ) || len(keys) > 0 && !contains(keys, n.key) {
				continue
			}
			if users != "all" && n.userID != nil && (forUID == nil || *n.userID != *forUID) {
				continue
			}
			if !after.IsZero() && !n.lastRepeated.After(after) {
				continue
			}
			found = append(found, n)
		}
		wake := s.noticeWake
		if len(found) > 0 || timeout <= 0 {
			sort.SliceStable(found, func(i, j int) bool { return found[i].lastRepeated.Before(found[j].lastRepeated) })
			out := []any{}
			for _, n := range found {
				out = append(out, n.json())
			}
			s.mu.Unlock()
			return syncResponse(out)
		}
		s.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			return syncResponse([]any{})
		case <-r.Context().Done():
			return errorResponse(500, "", "request cancelled")
		case <-s.closed:
			return errorResponse(500, "", "daemon is shutting down")
		}
	}
}
