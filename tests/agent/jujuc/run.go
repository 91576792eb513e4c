package jujuc

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
)

// readsStdin reports whether Juju's command would read stdin: a
// "--file -" or "--file=-" before any "--" that ends flag parsing.
func readsStdin(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--file=-":
			return true
		case a == "--file" && i+1 < len(args) && args[i+1] == "-":
			return true
		}
	}
	return false
}

// runCommand runs the command directly (no shell) in req.Dir with the
// agent's own environment, as Juju's server runs its commands in-process
// with the agent's state.
func runCommand(path string, req Request, resp *ExecResponse) error {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path, req.Args...)
	cmd.Dir = req.Dir
	if req.StdinSet {
		cmd.Stdin = bytes.NewReader(req.Stdin)
	} // else nil: the null device, like a hook's stdin
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return fmt.Errorf("cannot run %s: %v", req.CommandName, err)
	}
	resp.Code = cmd.ProcessState.ExitCode() // -1 when killed by a signal
	resp.Stdout = stdout.Bytes()
	resp.Stderr = stderr.Bytes()
	return nil
}
