package server

import (
	"strings"
	"testing"
)

func combine(t *testing.T, texts ...string) (*Plan, error) {
	t.Helper()
	var layers []*Layer
	for i, text := range texts {
		l, err := ParseLayer(i+1, "l"+string(rune('1'+i)), text)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	return CombineLayers(layers)
}

func mustCombine(t *testing.T, texts ...string) *Plan {
	t.Helper()
	p, err := combine(t, texts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrideIsRequired(t *testing.T) {
	for _, text := range []string{
		"services: {web: {command: x}}",
		"checks: {up: {http: {url: 'http://x/'}}}",
		"log-targets: {loki: {type: loki, location: 'http://l/'}}",
	} {
		_, err := combine(t, text)
		if err == nil || !strings.Contains(err.Error(), `must define "override"`) {
			t.Errorf("%s: got %v", text, err)
		}
	}
	// Pebble's words (plan.CombineLayers), naming the layer, not the value.
	for text, want := range map[string]string{
		"services: {web: {override: sometimes, command: x}}":                     `layer "l1" has invalid "override" value for service "web"`,
		"checks: {up: {override: always, tcp: {port: 1}}}":                       `layer "l1" has invalid "override" value for check "up"`,
		"log-targets: {loki: {override: no, type: loki, location: 'http://l/'}}": `layer "l1" has invalid "override" value for log target "loki"`,
		"services: {web: {override: '', command: x}}":                            `layer "l1" must define "override" for service "web"`,
	} {
		_, err := combine(t, text)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", text, err, want)
		}
	}
}

// Pebble's plan omits what is empty (its fields are omitempty, and Copy
// turns an empty list into none): an empty list, map or string in a layer
// is as good as absent, also when merged. A log target's services are
// always written.
func TestEmptyIsAbsent(t *testing.T) {
	p := mustCombine(t, `{"services": {"web": {"override": "replace", "command": "w", "summary": "",
		"after": [], "before": [], "requires": [], "environment": {}, "on-check-failure": {}}},
		"checks": {"up": {"override": "replace", "tcp": {"port": 1, "host": ""}}},
		"log-targets": {"l": {"override": "replace", "type": "loki", "location": "http://l/"}}}`,
		`{"services": {"web": {"override": "merge", "command": "", "working-dir": ""}}}`)
	want := `services:
    web:
        override: merge
        command: w
checks:
    up:
        override: replace
        tcp:
            port: 1
log-targets:
    l:
        type: loki
        location: http://l/
        services: []
        override: replace
`
	if got := p.YAML(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := p.Sections["services"]["web"]["after"]; ok {
		t.Errorf("an empty list is kept: %#v", p.Sections["services"]["web"])
	}
}

func TestMergeAndReplace(t *testing.T) {
	base := `
services:
    web:
        override: replace
        command: /bin/web --old
        summary: the web
        startup: enabled
        after: [db]
        environment: {A: "1", B: "2"}
        on-check-failure: {up: restart}
    db:
        override: replace
        command: /bin/db
`
	merge := `{"services": {"web": {"override": "merge", "command": "/bin/web --new",
		"after": ["cache"], "environment": {"B": "two", "C": "3"}, "on-check-failure": {"ready": "ignore"}},
		"cache": {"override": "replace", "command": "/bin/cache"}}}`
	p := mustCombine(t, base, merge)
	web := p.Sections["services"]["web"]
	if web["command"] != "/bin/web --new" || web["summary"] != "the web" || web["override"] != "merge" {
		t.Errorf("scalars: %#v", web)
	}
	if got := strings.Join(web["after"].([]string), ","); got != "db,cache" {
		t.Errorf("lists append: %s", got)
	}
	env := web["environment"].(map[string]string)
	if env["A"] != "1" || env["B"] != "two" || env["C"] != "3" {
		t.Errorf("maps merge: %v", env)
	}
	if ocf := web["on-check-failure"].(map[string]string); ocf["up"] != "restart" || ocf["ready"] != "ignore" {
		t.Errorf("on-check-failure: %v", ocf)
	}

	// replace drops what came before.
	p = mustCombine(t, base, "services: {web: {override: replace, command: /bin/other}}")
	web = p.Sections["services"]["web"]
	if web["summary"] != nil || web["after"] != nil || web["command"] != "/bin/other" {
		t.Errorf("replace: %#v", web)
	}
	// merge onto nothing is a plain add.
	p = mustCombine(t, "services: {new: {override: merge, command: x}}")
	if p.Sections["services"]["new"]["command"] != "x" {
		t.Errorf("merge onto nothing: %#v", p.Sections["services"])
	}
}

func TestChecksAndLogTargetsMerge(t *testing.T) {
	p := mustCombine(t, `
checks:
    up:
        override: replace
        level: alive
        period: 10s
        threshold: 5
        http:
            url: http://localhost:8080/
            headers: {X-A: a}
log-targets:
    loki:
        override: replace
        type: loki
        location: http://loki/
        services: [all]
        labels: {env: prod}
services:
    web: {override: replace, command: w}
`, `
checks:
    up:
        override: merge
        period: 1m30s
        http:
            headers: {X-B: b}
log-targets:
    loki:
        override: merge
        services: [-web]
        labels: {team: x}
`)
	up := p.Sections["checks"]["up"]
	http := up["http"].(item)
	if http["url"] != "http://localhost:8080/" || http["headers"].(map[string]string)["X-A"] != "a" ||
		http["headers"].(map[string]string)["X-B"] != "b" {
		t.Errorf("nested merge: %#v", http)
	}
	if up["threshold"] != int64(5) || up["level"] != "alive" {
		t.Errorf("check: %#v", up)
	}
	lt := p.Sections["log-targets"]["loki"]
	if strings.Join(lt["services"].([]string), ",") != "all,-web" || len(lt["labels"].(map[string]string)) != 2 {
		t.Errorf("log target: %#v", lt)
	}
	y := p.YAML()
	for _, want := range []string{"period: 1m30s\n", "threshold: 5\n", "- \"-web\"\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("plan YAML lacks %q:\n%s", want, y)
		}
	}
}

func TestLayerValidation(t *testing.T) {
	cases := map[string]string{
		"services: {web: {override: replace, command: x, colour: red}}":         "field colour not found",
		"services: {web: {override: replace}}":                                  `plan must define "command" for service "web"`,
		"services: {web: {override: replace, command: x, startup: maybe}}":      `invalid "startup" value "maybe"`,
		"services: {web: {override: replace, command: x, on-failure: panic}}":   `invalid "on-failure" value "panic"`,
		"services: {web: {override: replace, command: x, requires: [db]}}":      `requires missing service "db"`,
		"services: {web: {override: replace, command: 'x \"unterminated'}}":     "command invalid",
		"services: {web: {override: replace, command: x, backoff-delay: soon}}": `invalid "backoff-delay" duration`,
		"services: {web: {override: replace, command: x, user-id: root}}":       `cannot unmarshal !!str into field "user-id"`,
		"services: {web: {override: replace, command: x, backoff-factor: 0.5}}": "backoff-factor must be 1.0 or greater",
		"services: {web: null}":                                                         "service object cannot be null",
		"services: {pebble: {override: replace, command: x}}":                           "reserved service name",
		"services: {web: {override: replace, command: [x]}}":                            "cannot unmarshal !!seq",
		"checks: {c: {override: replace}}":                                              `one of "http", "tcp", or "exec"`,
		"checks: {c: {override: replace, tcp: {port: 1}, exec: {command: x}}}":          `one of "http", "tcp", or "exec"`,
		"checks: {c: {override: replace, http: {}}}":                                    `must set "url"`,
		"checks: {c: {override: replace, level: sometimes, tcp: {port: 1}}}":            `invalid "level" value`,
		"log-targets: {l: {override: replace, location: x}}":                            `must define "type"`,
		"log-targets: {l: {override: replace, type: loki}}":                             `must define "location"`,
		"log-targets: {l: {override: replace, type: loki, location: x, services: [a]}}": `unknown service "a"`,
		"bogus: {}":   "field bogus not found",
		"- a list":    "cannot unmarshal !!seq into a layer",
		"services: 3": "cannot unmarshal",
	}
	for text, want := range cases {
		_, err := combine(t, text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", text, err, want)
		}
	}
}

func TestPlanYAML(t *testing.T) {
	if got := (&Plan{Sections: newSections()}).YAML(); got != "{}\n" {
		t.Errorf("empty plan: %q", got)
	}
	p := mustCombine(t, `{"services": {"web": {"override": "replace", "command": "/bin/web -v", "startup": "enabled",
		"environment": {"B": "2", "A": "x y"}, "after": ["db"], "user-id": 1000, "backoff-factor": 1.5, "kill-delay": "5000ms"},
		"db": {"override": "replace", "command": "db", "summary": "yes"}},
		"checks": {"tcp": {"override": "replace", "tcp": {"port": 5432}}}}`)
	want := `services:
    db:
        summary: "yes"
        override: replace
        command: db
    web:
        startup: enabled
        override: replace
        command: /bin/web -v
        after:
            - db
        environment:
            A: x y
            B: "2"
        user-id: 1000
        backoff-factor: 1.5
        kill-delay: 5s
checks:
    tcp:
        override: replace
        tcp:
            port: 5432
`
	if got := p.YAML(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// The plan reads back as the same items.
	back, err := ParseLayer(1, "back", p.YAML())
	if err != nil {
		t.Fatal(err)
	}
	again, err := CombineLayers([]*Layer{back})
	if err != nil || again.YAML() != want {
		t.Errorf("round trip: %v\n%s", err, again.YAML())
	}
}

func TestSplitCommand(t *testing.T) {
	args, err := splitCommand(`/bin/sh -c "echo 'a b'" c\ d [ --extra ]`)
	if err != nil || strings.Join(args, "|") != `/bin/sh|-c|echo 'a b'|c d|[|--extra|]` {
		t.Errorf("%q %v", args, err)
	}
}
