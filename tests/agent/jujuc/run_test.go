package jujuc

import "testing"

func TestReadsStdin(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--file", "-"}, true},
		{[]string{"-r", "1", "--file=-"}, true},
		{[]string{"--file", "data.yaml"}, false},
		{[]string{"--file=data.yaml", "-"}, false}, // a bare "-" is a positional arg
		{[]string{"--file"}, false},
		{[]string{"--", "--file", "-"}, false}, // after "--" nothing is a flag
		{[]string{"key=-", "--file", "-"}, true},
	}
	for _, c := range cases {
		if got := readsStdin(c.args); got != c.want {
			t.Errorf("readsStdin(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}
