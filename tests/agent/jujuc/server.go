package jujuc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Config describes one fake agent: which context it serves and where the
// hook commands it runs live.
type Config struct {
	BinDir    string // commands are BinDir/<CommandName>
	ContextID string // the only ContextId accepted
	Token     string // when non-empty, Request.Token must equal it
	Log       io.Writer
	// CloseOnCall, when > 0, makes the N-th call overall drop its
	// connection without a reply (the command is not run).
	CloseOnCall uint64
	// Answer, when non-nil, answers every valid call in-process with this
	// stdout and code 0 instead of running the command, as Juju's agent
	// answers most hook commands itself (used by benchmarks).
	Answer *string
}

// Server serves Jujuc.Main like Juju's unit agent: one net/rpc server per
// accepted connection, calls executed one at a time.
type Server struct {
	cfg   Config
	mu    sync.Mutex // serialises calls, as Juju's Jujuc.mu does
	calls uint64     // guarded by mu
	conns uint64     // connections accepted so far, guarded by mu
	log   *callLog
}

// ErrDropped is what Main returns for the call chosen by CloseOnCall; the
// client never sees it because its connection is already closed.
var ErrDropped = errors.New("connection dropped (-close-on-call)")

// NewServer checks the configuration and returns a server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.ContextID == "" {
		return nil, errors.New("a context ID is required")
	}
	if !filepath.IsAbs(cfg.BinDir) {
		return nil, fmt.Errorf("bin dir %q is not absolute", cfg.BinDir)
	}
	return &Server{cfg: cfg, log: newCallLog(cfg.Log)}, nil
}

// Serve accepts connections until the listener is closed.
func (s *Server) Serve(l net.Listener) error {
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.ServeConn(conn)
	}
}

// ServeConn serves one client connection until it is closed. Each
// connection gets its own rpc.Server so that Main knows which connection
// to drop for CloseOnCall.
func (s *Server) ServeConn(conn net.Conn) {
	dc := &dropConn{Conn: conn}
	s.mu.Lock()
	s.conns++
	id := s.conns
	s.mu.Unlock()
	srv := rpc.NewServer()
	if err := srv.Register(&Jujuc{server: s, conn: dc, id: id}); err != nil {
		// Only possible if Jujuc's method set is broken: a programming error.
		panic(err)
	}
	srv.ServeConn(dc)
}

// Jujuc is the net/rpc receiver; its type name and method give the
// service method "Jujuc.Main".
type Jujuc struct {
	server *Server
	conn   *dropConn
	id     uint64 // which connection, from 1, for the call log
}

// Main runs one hook command, with Juju's validation and error strings.
func (j *Jujuc) Main(req Request, resp *ExecResponse) error {
	s := j.server
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	rec := newCallRecord(s.calls, req)
	rec.Conn = j.id

	err := s.handle(j.conn, req, resp, rec)
	if err != nil {
		rec.Error = err.Error()
		// net/rpc ignores the reply when an error is returned; keep the
		// record honest about that.
		*resp = ExecResponse{}
	} else {
		rec.Code = resp.Code
	}
	s.log.write(rec)
	return err
}

func (s *Server) handle(conn *dropConn, req Request, resp *ExecResponse, rec *CallRecord) error {
	if s.cfg.CloseOnCall != 0 && s.calls == s.cfg.CloseOnCall {
		conn.drop()
		return ErrDropped
	}
	if s.cfg.Token != "" && req.Token != s.cfg.Token {
		return badRequest("token does not match")
	}
	if req.CommandName == "" {
		return badRequest("command not specified")
	}
	if !filepath.IsAbs(req.Dir) {
		return badRequest("Dir is not absolute")
	}
	if req.ContextId != s.cfg.ContextID {
		return badRequest(fmt.Sprintf("wrong context ID; got %q", req.ContextId))
	}
	path, ok := s.commandPath(req.CommandName)
	if !ok {
		return badRequest("unknown command: " + req.CommandName)
	}
	if !req.StdinSet && readsStdin(req.Args) {
		return errors.New(ErrNoStdinMessage)
	}
	if s.cfg.Answer != nil {
		resp.Code, resp.Stdout = 0, []byte(*s.cfg.Answer)
		return nil
	}
	return runCommand(path, req, resp)
}

// commandPath maps a command name to BinDir/<name>. Juju looks names up in
// a fixed table, so anything that is not a plain file name there is unknown.
func (s *Server) commandPath(name string) (string, bool) {
	if name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return "", false
	}
	path := filepath.Join(s.cfg.BinDir, name)
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() {
		return "", false
	}
	return path, true
}

func badRequest(msg string) error {
	return errors.New("bad request: " + msg)
}
