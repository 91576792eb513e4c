package jujuc

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// CallRecord is one line of the call log, for tests that check what the
// client under test actually sent.
type CallRecord struct {
	Seq      uint64   `json:"seq"`  // call counter, starting at 1 (not the RPC Seq)
	Conn     uint64   `json:"conn"` // the connection it came on, from 1
	Context  string   `json:"context"`
	Dir      string   `json:"dir"`
	Command  string   `json:"command"`
	Args     []string `json:"args"`
	StdinSet bool     `json:"stdin_set"`
	StdinLen int      `json:"stdin_len"`
	Token    string   `json:"token"`
	Code     int      `json:"code"`  // exit code, 0 when the call failed
	Error    string   `json:"error"` // RPC error returned, "" on success
}

func newCallRecord(seq uint64, req Request) *CallRecord {
	args := req.Args
	if args == nil {
		args = []string{} // "args":[] rather than null
	}
	return &CallRecord{
		Seq: seq, Context: req.ContextId, Dir: req.Dir,
		Command: req.CommandName, Args: args,
		StdinSet: req.StdinSet, StdinLen: len(req.Stdin), Token: req.Token,
	}
}

type callLog struct {
	w io.Writer
}

func newCallLog(w io.Writer) *callLog {
	return &callLog{w: w}
}

// write appends one JSON line; it happens before the reply is sent, so a
// client that got its reply can read its record.
func (l *callLog) write(rec *CallRecord) {
	if l.w == nil {
		return
	}
	line, err := json.Marshal(rec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake-agent: cannot encode log record: %v\n", err)
		return
	}
	line = append(line, '\n')
	if _, err := l.w.Write(line); err != nil {
		fmt.Fprintf(os.Stderr, "fake-agent: cannot write log: %v\n", err)
	}
}
