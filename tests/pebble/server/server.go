package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is what the fake-pebble flags set.
type Config struct {
	Root              string        // the container's filesystem (files API, exec working dirs)
	Version           string        // system-info version; "1.26.0" when empty
	BootID            string        // system-info boot-id; random when empty
	Pebble2021        bool          // behave like Pebble before August 2021
	ChangeDelay       time.Duration // how long every change (but exec) stays Doing
	WSConnectTimeout  time.Duration // exec: time for the I/O websockets; 5 s when zero
	Log               io.Writer     // one JSON line a request, when set
	Hostile           []HostileRule // initial hostile replies
	SlowDefault       time.Duration // "slow" without an argument; 10 s when zero
	FailStartServices []string      // services whose start fails
}

// Server is a fake Pebble daemon. Create it with New, then Serve.
type Server struct {
	cfg    Config
	root   string
	http   *http.Server
	bootID string

	mu          sync.Mutex
	layers      []*Layer
	plan        *Plan
	services    map[string]*serviceState
	checks      map[string]*checkState
	changes     map[string]*change
	tasks       map[string]*task
	execs       map[string]*execTask
	notices     []*notice
	noticeIndex map[string]*notice
	noticeWake  chan struct{} // closed and renewed when a notice is added or repeated
	lastID      int           // changes, tasks and notices share one counter
	hostile     []*HostileRule
	signals     []SignalRecord

	logMu   sync.Mutex
	reqSeq  uint64
	connSeq uint64

	hijackMu sync.Mutex
	hijacked map[net.Conn]struct{}
	closed   chan struct{}
	wg       sync.WaitGroup
}

// SignalRecord is one signal sent to a service (POST /v1/signals).
type SignalRecord struct {
	Signal  string `json:"signal"`
	Service string `json:"service"`
}

// New makes a server; the root directory must exist.
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" {
		return nil, errors.New("a root directory is required")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("root %q is not a directory", cfg.Root)
	}
	if cfg.Version == "" {
		cfg.Version = "1.26.0"
	}
	if cfg.WSConnectTimeout == 0 {
		cfg.WSConnectTimeout = 5 * time.Second
	}
	if cfg.SlowDefault == 0 {
		cfg.SlowDefault = 10 * time.Second
	}
	s := &Server{
		cfg: cfg, root: root, bootID: cfg.BootID,
		plan:        &Plan{Sections: newSections()},
		services:    map[string]*serviceState{},
		checks:      map[string]*checkState{},
		changes:     map[string]*change{},
		tasks:       map[string]*task{},
		execs:       map[string]*execTask{},
		noticeWake:  make(chan struct{}),
		noticeIndex: map[string]*notice{},
		hijacked:    map[net.Conn]struct{}{},
		closed:      make(chan struct{}),
	}
	if s.bootID == "" {
		s.bootID = newUUID()
	}
	for i := range cfg.Hostile {
		r := cfg.Hostile[i]
		s.hostile = append(s.hostile, &r)
	}
	s.http = &http.Server{
		Handler: http.HandlerFunc(s.serveHTTP),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			info := &connInfo{id: atomic.AddUint64(&s.connSeq, 1), uid: -1}
			if uc, ok := c.(*net.UnixConn); ok {
				if raw, err := uc.SyscallConn(); err == nil {
					_ = raw.Control(func(fd uintptr) {
						if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
							info.uid = int(cred.Uid)
						}
					})
				}
			}
			return context.WithValue(ctx, connKey{}, info)
		},
	}
	return s, nil
}

type connKey struct{}

type connInfo struct {
	id  uint64
	uid int // the peer's uid (SO_PEERCRED), -1 when unknown
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Serve answers on l until Close.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server: listeners, connections (hijacked ones too),
// running exec commands.
func (s *Server) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	err := s.http.Close()
	s.hijackMu.Lock()
	for c := range s.hijacked {
		c.Close()
	}
	s.hijackMu.Unlock()
	s.mu.Lock()
	for _, e := range s.execs {
		e.kill()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) trackHijacked(c net.Conn, on bool) {
	s.hijackMu.Lock()
	defer s.hijackMu.Unlock()
	if on {
		s.hijacked[c] = struct{}{}
	} else {
		delete(s.hijacked, c)
	}
}

// nextID gives the next change, task or notice id.
func (s *Server) nextID() string {
	s.lastID++
	return strconv.Itoa(s.lastID)
}

// ---------------------------------------------------------------- envelopes

type response struct {
	typ    string // sync, async, error
	status int
	result any
	change string
}

func syncResponse(result any) *response {
	return &response{typ: "sync", status: 200, result: result}
}

func asyncResponse(changeID string, result any) *response {
	return &response{typ: "async", status: 202, change: changeID, result: result}
}

type errorResult struct {
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
	Value   any    `json:"value,omitempty"`
}

func errorResponse(status int, kind, format string, args ...any) *response {
	return &response{typ: "error", status: status, result: &errorResult{Message: fmt.Sprintf(format, args...), Kind: kind}}
}

func badRequest(format string, args ...any) *response {
	return errorResponse(400, "", format, args...)
}

func notFound(format string, args ...any) *response {
	return errorResponse(404, "", format, args...)
}

// envelope is the JSON body of a response.
func (r *response) envelope() map[string]any {
	m := map[string]any{
		"type":        r.typ,
		"status-code": r.status,
		"status":      http.StatusText(r.status),
		"result":      r.result,
	}
	if r.change != "" {
		m["change"] = r.change
	}
	return m
}

func (r *response) body() []byte {
	b, err := json.Marshal(r.envelope())
	if err != nil {
		b, _ = json.Marshal(errorResponse(500, "", "cannot encode response: %v", err).envelope())
	}
	return b
}

// write sends the envelope as Pebble does: WriteHeader, then one Write.
func (r *response) write(w http.ResponseWriter) {
	b := r.body()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_, _ = w.Write(b)
}

// ---------------------------------------------------------------- routing

type handlerFunc func(w http.ResponseWriter, r *http.Request, rec *RequestRecord) *response

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	info, _ := r.Context().Value(connKey{}).(*connInfo)
	if info == nil {
		info = &connInfo{uid: -1}
	}
	control := strings.HasPrefix(r.URL.Path, "/fake/")
	rec := &RequestRecord{
		Conn: info.id, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: map[string]string{},
	}
	for _, h := range loggedHeaders {
		if v := r.Header.Get(h); v != "" {
			rec.Headers[h] = v
		}
	}
	if r.Host != "" {
		rec.Headers["Host"] = r.Host
	}
	if len(r.TransferEncoding) > 0 {
		rec.Headers["Transfer-Encoding"] = strings.Join(r.TransferEncoding, ",")
	}
	lw := &logWriter{ResponseWriter: w, s: s, rec: rec, quiet: control}

	// Bodies other than multipart are read here, so the log can show them.
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") && r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			rec.Error = err.Error()
			lw.flushLog(0)
			return
		}
		rec.setBody(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}

	if !control {
		if rule := s.matchHostile(r.URL.Path); rule != nil {
			rec.Hostile = rule.Mode
			if s.serveHostile(lw, r, rule) {
				return
			}
		}
	}
	resp := s.route(lw, r, rec, info)
	if resp != nil {
		resp.write(lw)
	}
}

var loggedHeaders = []string{"Content-Type", "Content-Length", "Accept", "Connection", "Upgrade"}

func (s *Server) route(w http.ResponseWriter, r *http.Request, rec *RequestRecord, info *connInfo) *response {
	p := r.URL.Path
	parts := strings.Split(strings.Trim(p, "/"), "/")
	method := func(allowed ...string) *response {
		for _, m := range allowed {
			if r.Method == m {
				return nil
			}
		}
		return errorResponse(405, "", "method %q not allowed", r.Method)
	}
	s.mu.Lock()
	old := s.cfg.Pebble2021
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(p, "/fake/"):
		return s.serveControl(w, r, parts[1:])
	case p == "/v1/system-info":
		if e := method("GET"); e != nil {
			return e
		}
		return s.getSystemInfo()
	case p == "/v1/health" && !old:
		if e := method("GET"); e != nil {
			return e
		}
		return s.getHealth(r)
	case p == "/v1/warnings":
		if r.Method == "POST" {
			return syncResponse(0)
		}
		return syncResponse([]any{})
	case p == "/v1/layers":
		if e := method("POST"); e != nil {
			return e
		}
		return s.postLayers(r)
	case p == "/v1/plan":
		if e := method("GET"); e != nil {
			return e
		}
		return s.getPlan(r)
	case p == "/v1/services":
		switch r.Method {
		case "GET":
			return s.getServices(r)
		case "POST":
			return s.postServices(r)
		}
		return method("GET", "POST")
	case p == "/v1/changes":
		if e := method("GET"); e != nil {
			return e
		}
		return s.getChanges(r)
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "changes":
		switch r.Method {
		case "GET":
			return s.getChange(parts[2])
		case "POST":
			return s.postChange(r, parts[2])
		}
		return method("GET", "POST")
	case len(parts) == 4 && parts[0] == "v1" && parts[1] == "changes" && parts[3] == "wait" && !old:
		if e := method("GET"); e != nil {
			return e
		}
		return s.waitChange(r, parts[2])
	case p == "/v1/files":
		switch r.Method {
		case "GET":
			return s.getFiles(w, r)
		case "POST":
			return s.postFiles(r, rec)
		}
		return method("GET", "POST")
	case p == "/v1/checks" && !old:
		switch r.Method {
		case "GET":
			return s.getChecks(r)
		case "POST":
			return s.postChecks(r)
		}
		return method("GET", "POST")
	case p == "/v1/notices" && !old:
		switch r.Method {
		case "GET":
			return s.getNotices(r, info)
		case "POST":
			return s.postNotice(r, info)
		}
		return method("GET", "POST")
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "notices" && !old:
		if e := method("GET"); e != nil {
			return e
		}
		return s.getNotice(parts[2])
	case p == "/v1/signals" && !old:
		if e := method("POST"); e != nil {
			return e
		}
		return s.postSignals(r)
	case p == "/v1/exec" && !old:
		if e := method("POST"); e != nil {
			return e
		}
		return s.postExec(r)
	case len(parts) == 5 && parts[0] == "v1" && parts[1] == "tasks" && parts[3] == "websocket" && !old:
		if e := method("GET"); e != nil {
			return e
		}
		return s.serveWebsocket(w, r, parts[2], parts[4])
	}
	return notFound("invalid API endpoint requested")
}

func decodeJSON(r *http.Request, v any) *response {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return badRequest("cannot decode request body: %v", err)
	}
	if dec.More() {
		return badRequest("cannot decode request body: trailing data")
	}
	return nil
}

func (s *Server) getSystemInfo() *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncResponse(map[string]any{"boot-id": s.bootID, "version": s.cfg.Version})
}

// ---------------------------------------------------------------- request log

// RequestRecord is one line of the -log file.
type RequestRecord struct {
	Seq     uint64            `json:"seq"`  // request counter, from 1
	Conn    uint64            `json:"conn"` // the connection it came on, from 1
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query,omitempty"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body,omitempty"`      // a JSON body of at most 64 KiB, as sent
	BodyLen int               `json:"body_len"`            // bytes of body (non-multipart)
	Text    string            `json:"body_text,omitempty"` // the start of a body that is not JSON
	Parts   []PartRecord      `json:"parts,omitempty"`     // multipart requests (POST /v1/files)
	Status  int               `json:"status"`              // 0 for a hostile reply or a dropped request
	Hostile string            `json:"hostile,omitempty"`   // the hostile mode applied
	WS      string            `json:"ws,omitempty"`        // method WS: a message the client sent, "binary" or "text"
	Error   string            `json:"error,omitempty"`
}

// PartRecord summarises a part of a multipart request.
type PartRecord struct {
	Name     string          `json:"name"`
	Filename string          `json:"filename,omitempty"`
	Type     string          `json:"content_type,omitempty"`
	Len      int64           `json:"len"`
	JSON     json.RawMessage `json:"json,omitempty"` // the "request" part
}

func (rec *RequestRecord) setBody(body []byte) {
	rec.BodyLen = len(body)
	if len(body) == 0 {
		return
	}
	if len(body) <= 64<<10 && json.Valid(body) {
		var buf bytes.Buffer
		if json.Compact(&buf, body) == nil {
			rec.Body = buf.Bytes()
			return
		}
	}
	n := len(body)
	if n > 200 {
		n = 200
	}
	rec.Text = string(body[:n])
}

// logWriter writes the request's record when the status is known (before
// any byte of the response leaves), so a client that got its reply finds
// its record in the log.
type logWriter struct {
	http.ResponseWriter
	s      *Server
	rec    *RequestRecord
	logged bool
	quiet  bool // control requests are not logged
}

func (lw *logWriter) flushLog(status int) {
	if lw.logged {
		return
	}
	lw.logged = true
	if lw.quiet {
		return
	}
	lw.s.writeLog(lw.rec, status)
}

// writeLog appends a record to the log, numbering it.
func (s *Server) writeLog(rec *RequestRecord, status int) {
	if s.cfg.Log == nil {
		return
	}
	rec.Status = status
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.reqSeq++
	rec.Seq = s.reqSeq
	line, err := json.Marshal(rec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake-pebble: cannot encode log record: %v\n", err)
		return
	}
	if _, err := s.cfg.Log.Write(append(line, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "fake-pebble: cannot write log: %v\n", err)
	}
}

func (lw *logWriter) WriteHeader(code int) {
	lw.flushLog(code)
	lw.ResponseWriter.WriteHeader(code)
}

func (lw *logWriter) Write(b []byte) (int, error) {
	lw.flushLog(200)
	return lw.ResponseWriter.Write(b)
}

func (lw *logWriter) Flush() {
	if f, ok := lw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack: a websocket upgrade (logged as 101) or a hostile reply (0).
func (lw *logWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	status := 0
	if lw.rec.Hostile == "" {
		status = 101
	}
	lw.flushLog(status)
	h, ok := lw.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("cannot hijack")
	}
	c, rw, err := h.Hijack()
	if err == nil {
		lw.s.trackHijacked(c, true)
		c = &trackedConn{Conn: c, s: lw.s}
	}
	return c, rw, err
}

// trackedConn leaves the server's list of hijacked connections on Close.
type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.s.trackHijacked(c.Conn, false) })
	return c.Conn.Close()
}
