// Command go-jujuc is a hook-tool client built like Juju's cmd/jujuc: one
// process per hook command, invoked through a symlink named after the
// command. Benchmarks use it as "what a unit does today". No TLS: unix
// (or plain tcp) sockets only.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"path/filepath"

	"dispatch/tests/agent/jujuc"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	resp, err := call(argv, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR %s\n", err)
		return 1
	}
	stdout.Write(resp.Stdout)
	stderr.Write(resp.Stderr)
	return resp.Code
}

func getenv(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s not set", name)
	}
	return v, nil
}

// call checks its inputs in the order Juju's client does: context ID,
// working dir, socket variables, then dial.
func call(argv []string, stdin io.Reader) (*jujuc.ExecResponse, error) {
	contextID, err := getenv("JUJU_CONTEXT_ID")
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(wd)
	if err != nil {
		return nil, err
	}
	address, err := getenv("JUJU_AGENT_SOCKET_ADDRESS")
	if err != nil {
		return nil, err
	}
	network, err := getenv("JUJU_AGENT_SOCKET_NETWORK")
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	client := rpc.NewClient(conn)
	defer client.Close()

	req := jujuc.Request{
		ContextId:   contextID,
		Dir:         dir,
		CommandName: filepath.Base(argv[0]),
		Args:        argv[1:],
		Token:       os.Getenv("JUJU_AGENT_TOKEN"),
	}
	var resp jujuc.ExecResponse
	err = client.Call(jujuc.ServiceMethod, req, &resp)
	if errors.Is(err, rpc.ServerError(jujuc.ErrNoStdinMessage)) {
		// The command wants stdin: send it and run again on the same connection.
		if req.Stdin, err = io.ReadAll(stdin); err != nil {
			return nil, err
		}
		req.StdinSet = true
		resp = jujuc.ExecResponse{}
		err = client.Call(jujuc.ServiceMethod, req, &resp)
	}
	if err != nil {
		return nil, err
	}
	return &resp, nil
}
