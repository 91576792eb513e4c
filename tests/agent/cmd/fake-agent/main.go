// Command fake-agent is a stand-in for a Juju unit agent's hook-tool
// socket: Go net/rpc with the gob codec, serving "Jujuc.Main", running the
// requested command from -bin DIR. It prints "ready" once it listens.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"dispatch/tests/agent/jujuc"
)

func main() {
	closeInheritedFdsOnExec()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fake-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "socket path, or @NAME for a Linux abstract socket")
	bin := fs.String("bin", "", "directory holding the hook commands")
	context := fs.String("context", "", "the JUJU_CONTEXT_ID to accept")
	token := fs.String("token", "", "if set, Request.Token must match")
	logPath := fs.String("log", "", "append one JSON line per call to this file")
	closeOn := fs.Uint64("close-on-call", 0, "drop the connection of the N-th call without a reply")
	answer := fs.String("answer", "", "answer every call in-process with this stdout (code 0) instead of running the command")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" || *bin == "" || *context == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "fake-agent: -socket, -bin and -context are required")
		fs.Usage()
		return 2
	}
	binDir, err := filepath.Abs(*bin)
	if err != nil {
		fmt.Fprintf(stderr, "fake-agent: %v\n", err)
		return 1
	}

	cfg := jujuc.Config{BinDir: binDir, ContextID: *context, Token: *token, CloseOnCall: *closeOn}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "answer" {
			cfg.Answer = answer
		}
	})
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "fake-agent: %v\n", err)
			return 1
		}
		defer f.Close()
		cfg.Log = f
	}
	srv, err := jujuc.NewServer(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fake-agent: %v\n", err)
		return 1
	}

	l, err := listen(*socket)
	if err != nil {
		fmt.Fprintf(stderr, "fake-agent: %v\n", err)
		return 1
	}
	// Closing a listener made by net.Listen unlinks its socket file.
	defer l.Close()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	// os.Stdout is unbuffered: the line is out before we wait.
	if _, err := io.WriteString(stdout, "ready\n"); err != nil {
		fmt.Fprintf(stderr, "fake-agent: %v\n", err)
		return 1
	}

	select {
	case <-sigs:
		return 0
	case err := <-served:
		fmt.Fprintf(stderr, "fake-agent: %v\n", err)
		return 1
	}
}

// listen binds the socket like Juju's sockets.Listen: a stale socket file
// is removed first. A leading '@' names an abstract socket (no file).
func listen(address string) (net.Listener, error) {
	if !strings.HasPrefix(address, "@") {
		if fi, err := os.Lstat(address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if err := os.Remove(address); err != nil {
				return nil, err
			}
		}
	}
	return net.Listen("unix", address)
}
