package server

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// HostileRule makes the server misbehave on the requests whose path
// matches Path (exact, or a path.Match pattern such as
// "/v1/tasks/*/websocket/stdio"), Count times (0: until cleared).
type HostileRule struct {
	Path  string `json:"path"`
	Mode  string `json:"mode"`
	Arg   string `json:"arg,omitempty"`
	Count int    `json:"count,omitempty"`
	used  int
}

// HostileModes are the modes, with what each does.
var HostileModes = map[string]string{
	"truncated-chunked": "the real answer, chunked, cut in the middle of a chunk; then the connection closes",
	"short-body":        "the real answer with a Content-Length ARG bytes (default 100) larger than the body; then close",
	"huge-length":       "the real answer claiming Content-Length ARG (default 2^62); then close",
	"bad-json":          "200 with a JSON content type and a body cut short: {\"type\":\"sync\",\"status-code\":200,",
	"garbage":           "bytes that are not HTTP, then close",
	"close":             "close the connection without a byte",
	"hang":              "read the request, never answer (not even a websocket upgrade); the connection stays open",
	"slow":              "wait ARG (default 10s, or -slow) before answering normally",
	"trickle":           "the real answer, one byte every ARG (default 50ms)",
	"ws-masked":         "websocket upgrade, then a masked server frame (forbidden by RFC 6455)",
	"ws-rsv":            "websocket upgrade, then a frame with the reserved bits set",
	"ws-huge-frame":     "websocket upgrade, then a frame header claiming 2^63-1 bytes",
}

// ParseHostile reads PATH=MODE[:ARG][@COUNT], the -hostile flag's form.
func ParseHostile(spec string) (HostileRule, error) {
	var r HostileRule
	eq := strings.LastIndex(spec, "=")
	if eq <= 0 {
		return r, fmt.Errorf("hostile rule %q: want PATH=MODE[:ARG][@COUNT]", spec)
	}
	r.Path, spec = spec[:eq], spec[eq+1:]
	if at := strings.LastIndex(spec, "@"); at >= 0 {
		n, err := strconv.Atoi(spec[at+1:])
		if err != nil || n < 0 {
			return r, fmt.Errorf("hostile rule: bad count %q", spec[at+1:])
		}
		r.Count, spec = n, spec[:at]
	}
	if colon := strings.Index(spec, ":"); colon >= 0 {
		r.Arg, spec = spec[colon+1:], spec[:colon]
	}
	r.Mode = spec
	return r, r.validate()
}

func (r *HostileRule) validate() error {
	if _, ok := HostileModes[r.Mode]; !ok {
		var modes []string
		for m := range HostileModes {
			modes = append(modes, m)
		}
		return fmt.Errorf("unknown hostile mode %q (modes: %s)", r.Mode, strings.Join(sortedStrings(modes), ", "))
	}
	if !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("hostile path %q must start with /", r.Path)
	}
	if _, err := path.Match(r.Path, "/"); err != nil {
		return fmt.Errorf("hostile path %q: %v", r.Path, err)
	}
	switch r.Mode {
	case "slow", "trickle":
		if r.Arg != "" {
			if _, err := time.ParseDuration(r.Arg); err != nil {
				return fmt.Errorf("hostile %s: bad duration %q", r.Mode, r.Arg)
			}
		}
	case "short-body", "huge-length":
		if r.Arg != "" {
			if _, err := strconv.ParseInt(r.Arg, 10, 64); err != nil {
				return fmt.Errorf("hostile %s: bad number %q", r.Mode, r.Arg)
			}
		}
	}
	return nil
}

func sortedStrings(list []string) []string {
	m := map[string]bool{}
	for _, x := range list {
		m[x] = true
	}
	return sortedKeys(m)
}

// matchHostile finds the first rule for the path and counts its use.
func (s *Server) matchHostile(p string) *HostileRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.hostile {
		ok, _ := path.Match(r.Path, p)
		if !ok && r.Path != p {
			continue
		}
		r.used++
		if r.Count > 0 && r.used >= r.Count {
			s.hostile = append(s.hostile[:i:i], s.hostile[i+1:]...)
		}
		c := *r
		return &c
	}
	return nil
}

// bufferWriter catches the real answer for the modes that mangle it.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	b.WriteHeader(200)
	return b.body.Write(p)
}
func (b *bufferWriter) Flush() {}

// serveHostile misbehaves; false means "now answer normally" (slow).
func (s *Server) serveHostile(lw *logWriter, r *http.Request, rule *HostileRule) bool {
	switch rule.Mode {
	case "slow":
		d := s.cfg.SlowDefault
		if rule.Arg != "" {
			d, _ = time.ParseDuration(rule.Arg)
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			lw.flushLog(0)
			return true
		case <-s.closed:
			return true
		}
		return false
	case "bad-json":
		lw.Header().Set("Content-Type", "application/json")
		lw.WriteHeader(200)
		_, _ = lw.Write([]byte(`{"type":"sync","status-code":200,`))
		return true
	}

	// The modes that mangle the real answer compute it first.
	var real *bufferWriter
	switch rule.Mode {
	case "truncated-chunked", "short-body", "huge-length", "trickle":
		info, _ := r.Context().Value(connKey{}).(*connInfo)
		if info == nil {
			info = &connInfo{uid: -1}
		}
		real = &bufferWriter{header: http.Header{}}
		if resp := s.route(real, r, lw.rec, info); resp != nil {
			resp.write(real)
		}
		if real.status == 0 {
			real.status = 200
		}
	}
	if rule.Mode == "trickle" {
		d := 50 * time.Millisecond
		if rule.Arg != "" {
			d, _ = time.ParseDuration(rule.Arg)
		}
		for k, v := range real.header {
			lw.Header()[k] = v
		}
		lw.Header().Set("Content-Length", strconv.Itoa(real.body.Len()))
		lw.rec.Hostile = "" // logged with its real status
		lw.WriteHeader(real.status)
		for _, c := range real.body.Bytes() {
			if _, err := lw.Write([]byte{c}); err != nil {
				return true
			}
			lw.Flush()
			select {
			case <-time.After(d):
			case <-s.closed:
				return true
			}
		}
		return true
	}

	conn, bufrw, err := lw.Hijack()
	if err != nil {
		return true
	}
	defer conn.Close()
	head := func(status int, h http.Header, extra string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		for k, vs := range h {
			if k == "Content-Length" || k == "Transfer-Encoding" {
				continue
			}
			for _, v := range vs {
				fmt.Fprintf(&b, "%s: %s\r\n", k, v)
			}
		}
		b.WriteString(extra)
		b.WriteString("\r\n")
		return b.String()
	}
	write := func(parts ...string) {
		for _, p := range parts {
			_, _ = bufrw.WriteString(p)
		}
		_ = bufrw.Flush()
	}
	switch rule.Mode {
	case "truncated-chunked":
		body := real.body.String()
		write(head(real.status, real.header, "Transfer-Encoding: chunked\r\n"),
			fmt.Sprintf("%x\r\n", len(body)+1), body[:len(body)/2])
	case "short-body":
		extra := int64(100)
		if rule.Arg != "" {
			extra, _ = strconv.ParseInt(rule.Arg, 10, 64)
		}
		write(head(real.status, real.header, fmt.Sprintf("Content-Length: %d\r\n", int64(real.body.Len())+extra)),
			real.body.String())
	case "huge-length":
		claim := "4611686018427387904"
		if rule.Arg != "" {
			claim = rule.Arg
		}
		write(head(real.status, real.header, "Content-Length: "+claim+"\r\n"), real.body.String())
	case "garbage":
		write("\x00\xff\xfe garbage, not HTTP \x1b[0m\r\n\r\n\x00")
	case "close":
	case "hang":
		s.holdOpen(conn)
	case "ws-masked", "ws-rsv", "ws-huge-frame":
		key := r.Header.Get("Sec-WebSocket-Key")
		if key == "" {
			write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return true
		}
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		frame := map[string]string{
			// FIN+binary, MASK bit with a 5-byte payload, the key, "hello" masked.
			"ws-masked": "\x82\x85\x01\x02\x03\x04" + maskBytes("hello", [4]byte{1, 2, 3, 4}),
			// FIN+RSV1+RSV2+RSV3+binary, 5 bytes, unmasked.
			"ws-rsv": "\xf2\x05hello",
			// FIN+binary, 64-bit length 2^63-1, one byte.
			"ws-huge-frame": "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xffx",
		}[rule.Mode]
		write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n", frame)
		s.holdOpen(conn)
	}
	return true
}

func maskBytes(s string, key [4]byte) string {
	b := []byte(s)
	for i := range b {
		b[i] ^= key[i%4]
	}
	return string(b)
}

// holdOpen keeps a hijacked connection until the client closes it (or the
// server stops), reading and dropping whatever comes.
func (s *Server) holdOpen(conn net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}
