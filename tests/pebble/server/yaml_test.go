package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func mustYAML(t *testing.T, text string) any {
	t.Helper()
	v, err := parseYAML(text)
	if err != nil {
		t.Fatalf("parseYAML(%q): %v", text, err)
	}
	return v
}

func TestYAMLSubset(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	cases := []struct {
		name, text string
		want       any
	}{
		{"empty", "", nil},
		{"comment only", "# nothing\n", nil},
		{"scalars", "a: 1\nb: -2.5\nc: true\nd: null\ne: ~\nf: text with spaces\ng:\n",
			map[string]any{"a": n("1"), "b": n("-2.5"), "c": true, "d": nil, "e": nil, "f": "text with spaces", "g": nil}},
		{"quoted", `a: "x: #y\n\"q\"\u00e9"` + "\nb: 'it''s # not a comment'\n'c d': \"\"\n",
			map[string]any{"a": "x: #y\n\"q\"é", "b": "it's # not a comment", "c d": ""}},
		{"comments", "# top\na: b # trailing\n\n  # indented comment\nc: d#not\n",
			map[string]any{"a": "b", "c": "d#not"}},
		{"nested", "services:\n    web:\n        command: /bin/web --port 80\n        environment:\n            A: \"1\"\n",
			map[string]any{"services": map[string]any{"web": map[string]any{
				"command": "/bin/web --port 80", "environment": map[string]any{"A": "1"}}}}},
		{"sequences", "after:\n  - a\n  - b\nbefore:\n- c\n-  d\n",
			map[string]any{"after": []any{"a", "b"}, "before": []any{"c", "d"}}},
		{"sequence of maps", "- name: a\n  value: 1\n-\n  name: b\n- - x\n  - y\n",
			[]any{map[string]any{"name": "a", "value": n("1")}, map[string]any{"name": "b"}, []any{"x", "y"}}},
		{"flow", "a: [x, 'y z', 3]\nb: {k: v, \"q\": [1, {}]}\nc: []\nd: {}\n",
			map[string]any{"a": []any{"x", "y z", n("3")}, "b": map[string]any{"k": "v", "q": []any{n("1"), map[string]any{}}},
				"c": []any{}, "d": map[string]any{}}},
		{"flow across lines", "a: [x,\n  y,\n  z]\nb: 1\n", map[string]any{"a": []any{"x", "y", "z"}, "b": n("1")}},
		{"literal", "a: |\n  line 1\n    indented\n\n  line 3\nb: |-\n  no newline\nc: |+\n  keep\n\nd: x\n",
			map[string]any{"a": "line 1\n  indented\n\nline 3\n", "b": "no newline", "c": "keep\n\n", "d": "x"}},
		{"folded", "a: >\n  one\n  two\n\n  three\nb: >-\n  x\n  y\n",
			map[string]any{"a": "one two\nthree\n", "b": "x y"}},
		{"document markers", "---\na: b\n...\nignored: after end\n", map[string]any{"a": "b"}},
		{"json", `{"services": {"a": {"override": "replace", "command": "x", "after": ["b"]}}}`,
			map[string]any{"services": map[string]any{"a": map[string]any{"override": "replace", "command": "x", "after": []any{"b"}}}}},
		{"json compact", `{"a":{"b":"c:d","e":[1,2.5,"f"]},"g":true}`,
			map[string]any{"a": map[string]any{"b": "c:d", "e": []any{n("1"), n("2.5"), "f"}}, "g": true}},
		{"colon in plain", "url: http://localhost:8080/health\ntime: 12:30\n",
			map[string]any{"url": "http://localhost:8080/health", "time": "12:30"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustYAML(t, c.text)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestYAMLRefusesWhatItDoesNotSupport(t *testing.T) {
	for _, text := range []string{
		"a: &x 1\nb: *x\n",
		"a: !!str 1\n",
		"a: b\na: c\n",
		"a: plain\n  continued\n",
		"a:\n\t- tab\n",
		"a: [1, 2\n",
		"a: \"unterminated\n",
		"a: b\n c: d\n",
		"? complex\n: key\n",
		"---\na: 1\n---\nb: 2\n",
		"a: [x] trailing\n",
		"- a\nb: c\n",
	} {
		if v, err := parseYAML(text); err == nil {
			t.Errorf("parseYAML(%q) = %#v, want an error", text, v)
		}
	}
}

func TestLayerTextTriesJSONFirst(t *testing.T) {
	// Valid JSON with escapes YAML's flow parser would also read; and a
	// text that starts with { but is YAML flow (unquoted keys).
	v, err := parseLayerText(`{"summary": "a\/b \ud83d\ude00"}`)
	if err != nil || v.(map[string]any)["summary"] != "a/b 😀" {
		t.Fatalf("got %#v, %v", v, err)
	}
	v, err = parseLayerText(`{summary: flow yaml}`)
	if err != nil || v.(map[string]any)["summary"] != "flow yaml" {
		t.Fatalf("got %#v, %v", v, err)
	}
}

func TestEmitYAMLReadsBack(t *testing.T) {
	values := map[string]any{
		"plain":  "simple/path-1.0",
		"spaces": "has spaces",
		"colon":  "a: b",
		"hash":   "a #b",
		"quote":  `say "hi"`,
		"bool":   "true",
		"yes":    "yes",
		"num":    "10",
		"empty":  "",
		"lead":   "-dash",
		"nl":     "two\nlines",
		"uni":    "héllo",
		"flow":   "[x]",
		"list":   []string{"a", "b c"},
		"map":    map[string]string{"K": "v", "k2": "on"},
		"nested": map[string]any{"x": []any{"1", map[string]any{"y": "z"}}},
	}
	text := emitYAML(values)
	back, err := parseYAML(text)
	if err != nil {
		t.Fatalf("%v in\n%s", err, text)
	}
	want := map[string]any{}
	for k, v := range values {
		switch x := v.(type) {
		case []string:
			want[k] = []any{x[0], x[1]}
		case map[string]string:
			want[k] = map[string]any{"K": "v", "k2": "on"}
		default:
			want[k] = x
		}
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("read back %#v\nwant %#v\ntext:\n%s", back, want, text)
	}
	if !strings.Contains(text, "plain: simple/path-1.0\n") || !strings.Contains(text, "bool: \"true\"\n") {
		t.Errorf("quoting:\n%s", text)
	}
	if emitYAML(&yamlOrdered{}) != "{}\n" {
		t.Errorf("empty mapping: %q", emitYAML(&yamlOrdered{}))
	}
}
