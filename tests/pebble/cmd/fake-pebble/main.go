// Command fake-pebble is a fake Pebble daemon on a unix socket, the peer
// dispatch's Pebble client is tested against. It prints "ready" once it
// listens and stops on SIGTERM or SIGINT. The flags, the hostile modes and
// the /fake/ control endpoints are described in the package comment of
// dispatch/tests/pebble/server.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dispatch/tests/pebble/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fake-pebble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "unix socket path")
	root := fs.String("root", "", "the container's filesystem (files API, exec working dirs)")
	logPath := fs.String("log", "", "append one JSON line per request to this file")
	version := fs.String("version", "1.26.0", "system-info version")
	bootID := fs.String("boot-id", "", "system-info boot-id (default random)")
	delay := fs.Duration("change-delay", 0, "how long every service change stays Doing")
	connect := fs.Duration("ws-connect-timeout", 0, "exec: time for the websockets to connect (default 5s)")
	old := fs.Bool("pebble-2021", false, "behave like Pebble before August 2021 (no /wait, no restart)")
	slow := fs.Duration("slow", 0, `default delay of the "slow" hostile mode (default 10s)`)
	var hostile, failStart listFlag
	fs.Var(&hostile, "hostile", "PATH=MODE[:ARG][@COUNT]: misbehave on matching requests (repeatable)")
	fs.Var(&failStart, "fail-start", "a service whose start fails (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" || *root == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "fake-pebble: -socket and -root are required")
		fs.Usage()
		return 2
	}
	cfg := server.Config{
		Root: *root, Version: *version, BootID: *bootID, Pebble2021: *old, ChangeDelay: *delay,
		WSConnectTimeout: *connect, SlowDefault: *slow, FailStartServices: failStart,
	}
	for _, h := range hostile {
		rule, err := server.ParseHostile(h)
		if err != nil {
			fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
			return 2
		}
		cfg.Hostile = append(cfg.Hostile, rule)
	}
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
			return 1
		}
		defer f.Close()
		cfg.Log = f
	}
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
		return 1
	}
	if fi, err := os.Lstat(*socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if err := os.Remove(*socket); err != nil {
			fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
			return 1
		}
	}
	l, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if _, err := io.WriteString(stdout, "ready\n"); err != nil {
		fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
		return 1
	}
	select {
	case <-sigs:
		srv.Close() // closes the listener, which unlinks the socket
		return 0
	case err := <-served:
		if err != nil {
			fmt.Fprintf(stderr, "fake-pebble: %v\n", err)
			return 1
		}
		return 0
	}
}
