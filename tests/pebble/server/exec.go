package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Exec as Pebble does it: POST /v1/exec makes an "exec" change with one
// task and answers 202 at once; the client opens the task's websockets
// (control, stdio, and stderr with split-stderr) on new connections; the
// command starts when the I/O websockets are all there, or the task fails
// after WSConnectTimeout; output goes out in binary messages, then a text
// {"command":"end"} on each output socket; stdin comes in binary messages
// until a text {"command":"end"}; the exit code lands in the task's data.
//
// The command runs on this machine (not in a container): an absolute
// executable is a host path, a bare name is looked up in the request's
// PATH or ours. The working directory is a container path, inside -root
// ("/" by default). No pseudo-terminal: "terminal" runs on pipes too.

const maxMessage = 128 << 10 // output is sent in messages of at most this

type execRequest struct {
	Command        []string          `json:"command"`
	ServiceContext string            `json:"service-context"`
	Environment    map[string]string `json:"environment"`
	WorkingDir     string            `json:"working-dir"`
	Timeout        string            `json:"timeout"`
	SplitStderr    bool              `json:"split-stderr"`
	Terminal       bool              `json:"terminal"`
	Interactive    bool              `json:"interactive"`
	Width          int               `json:"width"`
	Height         int               `json:"height"`
	ownership
}

type execTask struct {
	s       *Server
	c       *change
	t       *task
	path    string // the executable, resolved
	argv    []string
	env     []string
	dir     string // host working directory
	cred    *syscall.Credential
	timeout time.Duration
	split   bool

	connectTimeout time.Duration

	mu      sync.Mutex
	conns   map[string]*websocket.Conn
	connIDs map[string]uint64 // the HTTP connection each websocket came on (for the log)
	ioReady chan struct{}     // closed when stdio (and stderr) are connected
	aborted chan struct{}
	abortMu sync.Once
	cmd     *exec.Cmd
	started bool
}

var upgrader = websocket.Upgrader{
	CheckOrigin:      func(*http.Request) bool { return true },
	HandshakeTimeout: 5 * time.Second,
}

func (s *Server) postExec(r *http.Request) *response {
	var req execRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if len(req.Command) == 0 {
		return badRequest("must specify command")
	}
	var timeout time.Duration
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil {
			return badRequest("invalid timeout %q: %v", req.Timeout, err)
		}
		timeout = d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	env := map[string]string{}
	wd := req.WorkingDir
	own := req.ownership
	if req.ServiceContext != "" {
		svc, ok := s.plan.Sections["services"][req.ServiceContext]
		if !ok {
			return badRequest("cannot find service %q", req.ServiceContext)
		}
		if m, ok := svc["environment"].(map[string]string); ok {
			for k, v := range m {
				env[k] = v
			}
		}
		if wd == "" {
			wd, _ = svc["working-dir"].(string)
		}
		if own.UserID == nil && own.User == "" {
			if id, ok := svc["user-id"].(int64); ok {
				n := int(id)
				own.UserID = &n
			}
			own.User, _ = svc["user"].(string)
			if id, ok := svc["group-id"].(int64); ok {
				n := int(id)
				own.GroupID = &n
			}
			own.Group, _ = svc["group"].(string)
		}
	}
	for k, v := range req.Environment {
		env[k] = v
	}
	if wd == "" {
		wd = "/"
	}
	uid, gid, setIDs, err := own.ids()
	if err != nil {
		return badRequest("%v", err)
	}
	hostDir, err := s.hostPath(wd, true)
	if err != nil {
		return badRequest("%v", err)
	}
	exe, err := lookPath(req.Command[0], env["PATH"], hostDir)
	if err != nil {
		return badRequest("cannot find executable %q", req.Command[0])
	}

	e := &execTask{
		s: s, path: exe, argv: req.Command, dir: hostDir, timeout: timeout, split: req.SplitStderr,
		conns: map[string]*websocket.Conn{}, connIDs: map[string]uint64{},
		ioReady: make(chan struct{}), aborted: make(chan struct{}),
		connectTimeout: s.cfg.WSConnectTimeout,
	}
	procEnv := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "USER": os.Getenv("USER")}
	for k, v := range env {
		procEnv[k] = v
	}
	for _, k := range sortedKeys(procEnv) {
		e.env = append(e.env, k+"="+procEnv[k])
	}
	if setIDs && (uid != os.Getuid() || gid != os.Getgid()) {
		e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	summary := fmt.Sprintf("Execute command %q", filepath.Base(req.Command[0]))
	e.c = s.newChange("exec", summary, nil)
	e.t = s.addTask(e.c, "exec", summary, nil)
	e.c.status, e.t.status = "Doing", "Doing"
	s.execs[e.t.id] = e
	s.wg.Add(1)
	go e.run()
	return asyncResponse(e.c.id, map[string]any{"task-id": e.t.id, "environment": env, "working-dir": wd})
}

// lookPath finds an executable: a path with a slash as it is (relative to
// dir), a bare name in pathList (ours when empty).
func lookPath(name, pathList, dir string) (string, error) {
	isExec := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
	}
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if isExec(p) {
			return p, nil
		}
		return "", errors.New("not found")
	}
	if pathList == "" {
		pathList = os.Getenv("PATH")
	}
	for _, d := range filepath.SplitList(pathList) {
		if d == "" {
			d = "."
		}
		if p := filepath.Join(d, name); isExec(p) {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			return p, nil
		}
	}
	return "", errors.New("not found")
}

// serveWebsocket connects one of an exec task's websockets.
func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request, taskID, name string) *response {
	s.mu.Lock()
	e, ok := s.execs[taskID]
	_, isTask := s.tasks[taskID]
	s.mu.Unlock()
	if !ok {
		if isTask {
			return badRequest("task %q is not an exec waiting for websockets", taskID)
		}
		return notFound("cannot find task with id %q", taskID)
	}
	if name != "control" && name != "stdio" && !(name == "stderr" && e.split) {
		return notFound("websocket %q not found", name)
	}
	e.mu.Lock()
	_, dup := e.conns[name]
	e.mu.Unlock()
	if dup {
		return badRequest("websocket %q already connected", name)
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // gorilla has answered
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.conns[name]; dup || e.started && name != "control" {
		conn.Close()
		return nil
	}
	e.conns[name] = conn
	if info, ok := r.Context().Value(connKey{}).(*connInfo); ok {
		e.connIDs[name] = info.id
	}
	if e.conns["stdio"] != nil && (!e.split || e.conns["stderr"] != nil) {
		select {
		case <-e.ioReady:
		default:
			close(e.ioReady)
		}
	}
	if name == "control" && e.started {
		go e.readControl(conn)
	}
	return nil
}

func (e *execTask) abort() {
	e.abortMu.Do(func() { close(e.aborted) })
	e.kill()
}

// kill ends the command's process group, if it runs.
func (e *execTask) kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil && e.cmd.Process != nil {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// noExitCode: the task ended before its command was to start (Pebble
// records no exit code then).
const noExitCode = math.MinInt

// finish records the outcome: Done with the exit code (errMsg empty), or
// Error; the exit code in the task's data unless noExitCode (Pebble sets
// -1 when the command failed to start or timed out).
func (e *execTask) finish(exitCode int, errMsg string) {
	s := e.s
	s.mu.Lock()
	if !e.c.isReady() {
		e.t.readyAt = time.Now()
		if errMsg != "" {
			e.t.status = "Error"
			e.t.log = append(e.t.log, time.Now().UTC().Format(time.RFC3339)+" ERROR "+errMsg)
		} else {
			e.t.status = "Done"
		}
		if exitCode != noExitCode {
			e.t.data = map[string]any{"exit-code": exitCode}
		}
		s.finishChange(e.c)
	}
	delete(s.execs, e.t.id)
	s.mu.Unlock()
	e.mu.Lock()
	conns := e.conns
	e.conns = map[string]*websocket.Conn{}
	e.mu.Unlock()
	for _, c := range conns {
		_ = c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.Close()
	}
}

func (e *execTask) run() {
	defer e.s.wg.Done()
	select {
	case <-e.ioReady:
	case <-time.After(e.connectTimeout):
		e.finish(noExitCode, "timeout waiting for websocket connections")
		return
	case <-e.aborted:
		e.finish(noExitCode, "aborted")
		return
	case <-e.s.closed:
		e.finish(noExitCode, "daemon is shutting down")
		return
	}

	cmd := exec.Command(e.path)
	cmd.Args = e.argv
	cmd.Env = e.env
	cmd.Dir = e.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: e.cred}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.finish(noExitCode, err.Error())
		return
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		e.finish(noExitCode, err.Error())
		return
	}
	cmd.Stdout, cmd.Stderr = outW, outW
	var errR, errW *os.File
	if e.split {
		if errR, errW, err = os.Pipe(); err != nil {
			outR.Close()
			outW.Close()
			e.finish(noExitCode, err.Error())
			return
		}
		cmd.Stderr = errW
	}

	e.mu.Lock()
	stdio, stderr, control := e.conns["stdio"], e.conns["stderr"], e.conns["control"]
	err = cmd.Start()
	if err == nil {
		e.cmd = cmd
	}
	e.started = true
	e.mu.Unlock()
	outW.Close()
	if errW != nil {
		errW.Close()
	}
	if err != nil {
		// As Pebble: its output pipes close unused, so each output
		// socket gets its end; the task fails with the error as Go's
		// exec gives it, exit code -1.
		outR.Close()
		if errR != nil {
			errR.Close()
		}
		end := []byte(`{"command":"end"}`)
		_ = stdio.WriteMessage(websocket.TextMessage, end)
		if stderr != nil {
			_ = stderr.WriteMessage(websocket.TextMessage, end)
		}
		e.finish(-1, err.Error())
		return
	}
	if control != nil {
		go e.readControl(control)
	}
	go e.readStdin(stdio, stdin)

	var timedOut atomic.Bool
	var timer *time.Timer
	if e.timeout > 0 {
		timer = time.AfterFunc(e.timeout, func() {
			timedOut.Store(true)
			e.kill()
		})
	}
	var pumps sync.WaitGroup
	pumps.Add(1)
	go func() { defer pumps.Done(); pumpOutput(outR, stdio) }()
	if e.split {
		pumps.Add(1)
		go func() { defer pumps.Done(); pumpOutput(errR, stderr) }()
	}
	pumps.Wait()
	werr := cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	exitCode := 0
	if werr != nil {
		var xe *exec.ExitError
		if !errors.As(werr, &xe) {
			e.finish(-1, werr.Error())
			return
		}
		ws := xe.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			exitCode = 128 + int(ws.Signal()) // as a shell reports it
		} else {
			exitCode = ws.ExitStatus()
		}
	}
	if timedOut.Load() {
		e.finish(-1, fmt.Sprintf("timed out after %s: context deadline exceeded", e.timeout)) // Pebble's -1
		return
	}
	select {
	case <-e.aborted:
		e.finish(exitCode, "aborted")
	default:
		e.finish(exitCode, "")
	}
}

// pumpOutput sends r in binary messages, then the text end message.
func pumpOutput(r *os.File, conn *websocket.Conn) {
	defer r.Close()
	buf := make([]byte, maxMessage)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := conn.WriteMessage(websocket.BinaryMessage, buf[:n]); werr != nil {
				_, _ = drain(r)
				return
			}
		}
		if err != nil {
			break
		}
	}
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"command":"end"}`))
}

func drain(r *os.File) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// readStdin copies binary messages to the command's stdin until a text
// {"command":"end"} (or the socket closes); it keeps reading after that
// so that pings and the close handshake are answered.
func (e *execTask) readStdin(conn *websocket.Conn, stdin interface {
	Write([]byte) (int, error)
	Close() error
}) {
	closed := false
	closeStdin := func() {
		if !closed {
			closed = true
			stdin.Close()
		}
	}
	defer closeStdin()
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		e.logMessage("stdio", typ, data)
		switch typ {
		case websocket.BinaryMessage:
			if !closed {
				_, _ = stdin.Write(data)
			}
		case websocket.TextMessage:
			var cmd struct {
				Command string `json:"command"`
			}
			if json.Unmarshal(data, &cmd) == nil && cmd.Command == "end" {
				closeStdin()
			}
		}
	}
}

// readControl handles control messages: signals (resize is ignored, there
// is no terminal).
func (e *execTask) readControl(conn *websocket.Conn) {
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		e.logMessage("control", typ, data)
		if typ != websocket.TextMessage {
			continue
		}
		var msg struct {
			Command string `json:"command"`
			Signal  struct {
				Name string `json:"name"`
			} `json:"signal"`
		}
		if json.Unmarshal(data, &msg) != nil || msg.Command != "signal" {
			continue
		}
		sig, ok := signalNames[msg.Signal.Name]
		if !ok {
			continue
		}
		e.mu.Lock()
		if e.cmd != nil && e.cmd.Process != nil {
			_ = e.cmd.Process.Signal(syscall.Signal(sig))
		}
		e.mu.Unlock()
	}
}

// logMessage writes a message the client sent on a websocket to the
// request log: method "WS", the websocket's path and connection, "ws"
// binary (with its length) or text (with the JSON as body).
func (e *execTask) logMessage(name string, typ int, data []byte) {
	e.mu.Lock()
	connID := e.connIDs[name]
	e.mu.Unlock()
	rec := &RequestRecord{Conn: connID, Method: "WS", Path: "/v1/tasks/" + e.t.id + "/websocket/" + name,
		Headers: map[string]string{}}
	if typ == websocket.TextMessage {
		rec.WS = "text"
		rec.setBody(data)
	} else {
		rec.WS = "binary"
		rec.BodyLen = len(data)
	}
	e.s.writeLog(rec, 0)
}
