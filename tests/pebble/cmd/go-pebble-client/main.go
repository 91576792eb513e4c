// Command go-pebble-client runs the Pebble benchmark round against a
// socket with Go's own client (net/http keep-alive, gorilla websockets):
// N times {GET /v1/system-info; POST /v1/layers (a small JSON layer);
// POST /v1/services replan; wait the change}, then M execs of `true`.
// It prints the times on one line,
//
//	rounds=N round_seconds=S execs=M exec_seconds=S seconds=S
//
// the floor `make bench` compares a client against (the server's own
// cost, with a client that costs next to nothing).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"dispatch/tests/pebble/client"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// benchLayer is the layer each round adds, combined into the same label
// as a charm's hooks do (so the plan stays one service and replan has
// nothing to restart after the first round).
const benchLayer = `{"summary":"bench","services":{"web":{"override":"replace","command":"/bin/true","startup":"enabled"}}}`

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("go-pebble-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "Pebble socket")
	n := fs.Int("n", 100, "rounds")
	execs := fs.Int("execs", -1, "execs of `true` (default: as many as rounds)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "go-pebble-client: -socket is required")
		return 2
	}
	if *execs < 0 {
		*execs = *n
	}
	c := client.New(*socket)
	fail := func(what string, err error) int {
		fmt.Fprintf(stderr, "go-pebble-client: %s: %v\n", what, err)
		return 1
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		if _, err := c.Do("GET", "/v1/system-info", nil); err != nil {
			return fail("system-info", err)
		}
		if err := c.AddLayer("bench", benchLayer, true); err != nil {
			return fail("layers", err)
		}
		ch, err := c.Services("replan")
		if err != nil {
			return fail("replan", err)
		}
		if ch.Status != "Done" {
			return fail("replan", fmt.Errorf("change %s: %s %s", ch.ID, ch.Status, ch.Err))
		}
	}
	rounds := time.Since(start)
	start = time.Now()
	for i := 0; i < *execs; i++ {
		res, err := c.Exec([]string{"true"}, client.ExecOptions{})
		if err != nil {
			return fail("exec", err)
		}
		if res.ExitCode != 0 {
			return fail("exec", fmt.Errorf("exit code %d", res.ExitCode))
		}
	}
	ex := time.Since(start)
	fmt.Fprintf(stdout, "rounds=%d round_seconds=%.6f execs=%d exec_seconds=%.6f seconds=%.6f\n",
		*n, rounds.Seconds(), *execs, ex.Seconds(), (rounds + ex).Seconds())
	return 0
}
