// Package agenttest holds what the fake agent's and go-jujuc's tests
// share: a test binary that doubles as the program under test, and the
// agent's JSON-lines call log.
package agenttest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// ContextID is the only context ID the tests' agents accept.
const ContextID = "unit-test/0-install-1"

// RunMainEnv, set to "1" in a child's environment, makes a test binary
// that uses Main run the program instead of the tests.
const RunMainEnv = "AGENT_TEST_RUN_MAIN"

// Main is a TestMain body: the test binary doubles as the program under
// test (main), so tests can start the real program as a child process.
func Main(m *testing.M, main func()) {
	if os.Getenv(RunMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// ReadJSONLines decodes every non-empty line of the file at path into a
// T (the agent writes its call log one JSON record a line).
func ReadJSONLines[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []T
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		var r T
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}
