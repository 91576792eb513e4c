// Package client is a small Pebble client in Go (net/http over the unix
// socket, keep-alive, gorilla websockets for exec): the reference the
// fake server's tests and go-pebble-client use. It is no model for the C
// client; it only does what those need.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Client talks to one Pebble socket.
type Client struct {
	Socket string
	HTTP   *http.Client
	ws     *websocket.Dialer
}

// New makes a client; its connections are kept alive between requests.
func New(socket string) *Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	return &Client{
		Socket: socket,
		HTTP:   &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 4}},
		ws:     &websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 5 * time.Second},
	}
}

// Envelope is a decoded response.
type Envelope struct {
	Type       string          `json:"type"`
	StatusCode int             `json:"status-code"`
	Status     string          `json:"status"`
	Change     string          `json:"change"`
	Result     json.RawMessage `json:"result"`
	HTTPStatus int             `json:"-"`
}

// Error is an error envelope.
type Error struct {
	Code    int
	Message string
	Kind    string
}

func (e *Error) Error() string {
	if e.Kind != "" {
		return fmt.Sprintf("%d %s (%s)", e.Code, e.Message, e.Kind)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// Do sends a request (body: nil, []byte, or a value to encode as JSON)
// and decodes the envelope; an error envelope is returned as *Error with
// the envelope.
func (c *Client) Do(method, path string, body any) (*Envelope, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://localhost"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

func (c *Client) send(req *http.Request) (*Envelope, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return decodeEnvelope(resp.StatusCode, data)
}

func decodeEnvelope(status int, data []byte) (*Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("status %d, bad body %q: %v", status, data, err)
	}
	env.HTTPStatus = status
	if env.Type == "error" {
		var r struct {
			Message string `json:"message"`
			Kind    string `json:"kind"`
		}
		_ = json.Unmarshal(env.Result, &r)
		return &env, &Error{Code: env.StatusCode, Message: r.Message, Kind: r.Kind}
	}
	return &env, nil
}

// Into decodes the result.
func (e *Envelope) Into(v any) error { return json.Unmarshal(e.Result, v) }

// Change is the part of a change the tests look at.
type Change struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
	Status  string `json:"status"`
	Ready   bool   `json:"ready"`
	Err     string `json:"err"`
	Tasks   []struct {
		ID      string         `json:"id"`
		Kind    string         `json:"kind"`
		Summary string         `json:"summary"`
		Status  string         `json:"status"`
		Log     []string       `json:"log"`
		Data    map[string]any `json:"data"`
	} `json:"tasks"`
}

// Wait waits for a change with /wait (timeout as Pebble's query).
func (c *Client) Wait(id string, timeout time.Duration) (*Change, error) {
	env, err := c.Do("GET", fmt.Sprintf("/v1/changes/%s/wait?timeout=%.3fs", id, timeout.Seconds()), nil)
	if err != nil {
		return nil, err
	}
	var ch Change
	return &ch, env.Into(&ch)
}

// AddLayer adds (or combines) a layer given as text.
func (c *Client) AddLayer(label, layer string, combine bool) error {
	_, err := c.Do("POST", "/v1/layers", map[string]any{
		"action": "add", "combine": combine, "label": label, "format": "yaml", "layer": layer})
	return err
}

// Services runs a services action and waits for its change.
func (c *Client) Services(action string, names ...string) (*Change, error) {
	body := map[string]any{"action": action}
	if len(names) > 0 {
		body["services"] = names
	}
	env, err := c.Do("POST", "/v1/services", body)
	if err != nil {
		return nil, err
	}
	return c.Wait(env.Change, 30*time.Second)
}

// ExecResult is what an exec gave.
type ExecResult struct {
	ChangeID string
	TaskID   string
	ExitCode int
	Stdout   []byte
	Stderr   []byte
	Change   *Change
}

// ExecOptions are POST /v1/exec's fields, and the stdin to send.
type ExecOptions struct {
	Environment map[string]string
	WorkingDir  string
	Timeout     time.Duration
	SplitStderr bool
	Stdin       []byte
	// Signal, when set, is sent on the control socket once stdio is open.
	Signal string
}

// Exec runs a command as ops does: POST /v1/exec, the websockets (control,
// stdio, stderr), stdin then end, output until end, then wait the change.
func (c *Client) Exec(argv []string, o ExecOptions) (*ExecResult, error) {
	body := map[string]any{"command": argv, "split-stderr": o.SplitStderr}
	if o.Environment != nil {
		body["environment"] = o.Environment
	}
	if o.WorkingDir != "" {
		body["working-dir"] = o.WorkingDir
	}
	if o.Timeout > 0 {
		body["timeout"] = fmt.Sprintf("%.3fs", o.Timeout.Seconds())
	}
	env, err := c.Do("POST", "/v1/exec", body)
	if err != nil {
		return nil, err
	}
	var res struct {
		TaskID string `json:"task-id"`
	}
	if err := env.Into(&res); err != nil {
		return nil, err
	}
	out := &ExecResult{ChangeID: env.Change, TaskID: res.TaskID}
	dial := func(name string) (*websocket.Conn, error) {
		conn, _, err := c.ws.Dial("ws://localhost/v1/tasks/"+res.TaskID+"/websocket/"+name, nil)
		return conn, err
	}
	control, err := dial("control")
	if err != nil {
		return nil, err
	}
	defer control.Close()
	stdio, err := dial("stdio")
	if err != nil {
		return nil, err
	}
	defer stdio.Close()
	var stderr *websocket.Conn
	if o.SplitStderr {
		if stderr, err = dial("stderr"); err != nil {
			return nil, err
		}
		defer stderr.Close()
	}
	if o.Signal != "" {
		msg := fmt.Sprintf(`{"command":"signal","signal":{"name":%q}}`, o.Signal)
		if err := control.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	var errOut error
	if stderr != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Stderr, errOut = readUntilEnd(stderr)
		}()
	}
	// stdin and stdout together, so a big stdin cannot deadlock.
	writeErr := make(chan error, 1)
	go func() {
		if len(o.Stdin) > 0 {
			if err := stdio.WriteMessage(websocket.BinaryMessage, o.Stdin); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- stdio.WriteMessage(websocket.TextMessage, []byte(`{"command":"end"}`))
	}()
	stdout, err := readUntilEnd(stdio)
	wg.Wait()
	<-writeErr // a command that exits without reading stdin may leave this failing
	if err != nil {
		return nil, err
	}
	if errOut != nil {
		return nil, errOut
	}
	out.Stdout = stdout
	ch, err := c.Wait(env.Change, 30*time.Second)
	if err != nil {
		return nil, err
	}
	out.Change = ch
	if ch.Err != "" {
		return out, fmt.Errorf("exec change: %s", ch.Err)
	}
	if len(ch.Tasks) > 0 {
		if code, ok := ch.Tasks[0].Data["exit-code"].(float64); ok {
			out.ExitCode = int(code)
		}
	}
	return out, nil
}

func readUntilEnd(conn *websocket.Conn) ([]byte, error) {
	var buf bytes.Buffer
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return buf.Bytes(), err
		}
		if typ == websocket.BinaryMessage {
			buf.Write(data)
			continue
		}
		var cmd struct {
			Command string `json:"command"`
		}
		if json.Unmarshal(data, &cmd) == nil && cmd.Command == "end" {
			return buf.Bytes(), nil
		}
	}
}

// PushFile is one file of a Push.
type PushFile struct {
	Path        string
	Content     []byte
	MakeDirs    bool
	Permissions string
}

// Push writes files with one multipart request; the per-path results.
func (c *Client) Push(files ...PushFile) ([]PathResult, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="request"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	var meta []map[string]any
	for _, f := range files {
		m := map[string]any{"path": f.Path}
		if f.MakeDirs {
			m["make-dirs"] = true
		}
		if f.Permissions != "" {
			m["permissions"] = f.Permissions
		}
		meta = append(meta, m)
	}
	_ = json.NewEncoder(pw).Encode(map[string]any{"action": "write", "files": meta})
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, f.Path))
		h.Set("Content-Type", "application/octet-stream")
		pw, _ := mw.CreatePart(h)
		_, _ = pw.Write(f.Content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", "http://localhost/v1/files", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	env, err := c.send(req)
	if err != nil {
		return nil, err
	}
	var res []PathResult
	return res, env.Into(&res)
}

// PathResult is one path's outcome in a files response.
type PathResult struct {
	Path  string `json:"path"`
	Error *struct {
		Message string `json:"message"`
		Kind    string `json:"kind"`
	} `json:"error"`
}

// Pull reads files: their contents by path, and the per-path results.
// chunked tells whether the response came chunked.
func (c *Client) Pull(paths ...string) (files map[string][]byte, results []PathResult, chunked bool, err error) {
	q := url.Values{"action": {"read"}, "path": paths}
	req, _ := http.NewRequest("GET", "http://localhost/v1/files?"+q.Encode(), nil)
	req.Header.Set("Accept", "multipart/form-data")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, false, err
	}
	defer resp.Body.Close()
	chunked = len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		data, _ := io.ReadAll(resp.Body)
		_, err := decodeEnvelope(resp.StatusCode, data)
		if err == nil {
			err = fmt.Errorf("not multipart: %q", data)
		}
		return nil, nil, chunked, err
	}
	files = map[string][]byte{}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, chunked, err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, chunked, err
		}
		switch part.FormName() {
		case "files":
			_, p, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			files[p["filename"]] = data
		case "response":
			env, err := decodeEnvelope(200, data)
			if err != nil {
				return nil, nil, chunked, err
			}
			if err := env.Into(&results); err != nil {
				return nil, nil, chunked, err
			}
		}
	}
	return files, results, chunked, nil
}
