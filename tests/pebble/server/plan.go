package server

// Layers and the plan, with Pebble's rules: every service, check and log
// target in a layer says "override: merge" or "override: replace"; the
// plan is the layers combined in order (replace drops what came before,
// merge overlays it: scalars replaced, lists appended, maps merged key by
// key, nested objects merged the same way); unknown fields are errors;
// the combined plan is validated before a layer is accepted.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

type fieldKind int

const (
	kString fieldKind = iota
	kInt
	kFloat
	kDuration
	kList   // list of strings: appended on merge
	kMap    // string to string: merged key by key
	kObject // nested fields: merged field by field
)

type fieldSpec struct {
	name   string
	kind   fieldKind
	sub    []fieldSpec // kObject
	values []string    // allowed values of a kString (or of a kMap's values)
	always bool        // written out even when absent (a kList: as []), as Pebble's non-omitempty fields
}

var serviceActions = []string{"restart", "shutdown", "failure-shutdown", "success-shutdown", "ignore"}

// The fields of each section, in the order the plan is written out.
var serviceFields = []fieldSpec{
	{name: "summary"}, {name: "description"},
	{name: "startup", values: []string{"enabled", "disabled"}},
	{name: "override"},
	{name: "command"},
	{name: "after", kind: kList}, {name: "before", kind: kList}, {name: "requires", kind: kList},
	{name: "environment", kind: kMap},
	{name: "user-id", kind: kInt}, {name: "user"}, {name: "group-id", kind: kInt}, {name: "group"},
	{name: "working-dir"},
	{name: "on-success", values: serviceActions}, {name: "on-failure", values: serviceActions},
	{name: "on-check-failure", kind: kMap, values: serviceActions},
	{name: "backoff-delay", kind: kDuration}, {name: "backoff-factor", kind: kFloat},
	{name: "backoff-limit", kind: kDuration}, {name: "kill-delay", kind: kDuration},
}

var checkFields = []fieldSpec{
	{name: "override"},
	{name: "level", values: []string{"alive", "ready"}},
	{name: "startup", values: []string{"enabled", "disabled"}},
	{name: "period", kind: kDuration}, {name: "timeout", kind: kDuration}, {name: "threshold", kind: kInt},
	{name: "http", kind: kObject, sub: []fieldSpec{{name: "url"}, {name: "headers", kind: kMap}}},
	{name: "tcp", kind: kObject, sub: []fieldSpec{{name: "port", kind: kInt}, {name: "host"}}},
	{name: "exec", kind: kObject, sub: []fieldSpec{
		{name: "command"}, {name: "service-context"}, {name: "environment", kind: kMap},
		{name: "user-id", kind: kInt}, {name: "user"}, {name: "group-id", kind: kInt}, {name: "group"},
		{name: "working-dir"},
	}},
}

var logTargetFields = []fieldSpec{
	{name: "type", values: []string{"loki", "syslog", "opentelemetry"}},
	{name: "location"},
	{name: "services", kind: kList, always: true},
	{name: "override"},
	{name: "labels", kind: kMap},
}

type section struct {
	name   string // "services", "checks", "log-targets"
	what   string // "service", "check", "log target"
	fields []fieldSpec
}

var sections = []section{
	{"services", "service", serviceFields},
	{"checks", "check", checkFields},
	{"log-targets", "log target", logTargetFields},
}

// item is one service, check or log target: field name to a string,
// int64, float64, time.Duration, []string, map[string]string or item.
type item map[string]any

// Layer is one added layer.
type Layer struct {
	Order       int
	Label       string
	Summary     string
	Description string
	Sections    map[string]map[string]item // section name -> item name -> item
}

// Plan is the combined layers.
type Plan struct {
	Sections map[string]map[string]item
}

func newSections() map[string]map[string]item {
	m := map[string]map[string]item{}
	for _, s := range sections {
		m[s.name] = map[string]item{}
	}
	return m
}

type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

func formatErrorf(format string, args ...any) error {
	return &formatError{fmt.Sprintf(format, args...)}
}

// ParseLayer parses a layer's text (YAML subset or JSON) into a Layer.
func ParseLayer(order int, label, text string) (*Layer, error) {
	tree, err := parseLayerText(text)
	if err != nil {
		return nil, err
	}
	layer := &Layer{Order: order, Label: label, Sections: newSections()}
	if tree == nil {
		return layer, nil
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("cannot unmarshal %s into a layer", yamlKind(tree))
	}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "summary", "description":
			if !isScalar(v) {
				return nil, fmt.Errorf("cannot unmarshal %s into field %q of a layer", yamlKind(v), k)
			}
			if k == "summary" {
				layer.Summary = scalarText(v)
			} else {
				layer.Description = scalarText(v)
			}
			continue
		}
		sec, found := findSection(k)
		if !found {
			return nil, fmt.Errorf("field %s not found in type plan.Layer", k)
		}
		if v == nil {
			continue
		}
		items, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("cannot unmarshal %s into %q", yamlKind(v), k)
		}
		for _, name := range sortedKeys(items) {
			if name == "" {
				return nil, formatErrorf("cannot use empty string as %s name", sec.what)
			}
			if sec.name == "services" {
				if name == "pebble" {
					return nil, formatErrorf("cannot use reserved service name %q", name)
				}
				if strings.HasPrefix(name, "-") {
					return nil, formatErrorf("cannot start service name with \"-\"")
				}
			}
			raw := items[name]
			if raw == nil {
				return nil, formatErrorf("%s object cannot be null for %s %q", sec.what, sec.what, name)
			}
			obj, ok := raw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("cannot unmarshal %s into %s %q", yamlKind(raw), sec.what, name)
			}
			it, err := decodeItem(obj, sec.fields, fmt.Sprintf("%s %q", sec.what, name))
			if err != nil {
				return nil, err
			}
			layer.Sections[sec.name][name] = it
		}
	}
	return layer, nil
}

func findSection(name string) (section, bool) {
	for _, s := range sections {
		if s.name == name {
			return s, true
		}
	}
	return section{}, false
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func yamlKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "!!map"
	case []any:
		return "!!seq"
	case nil:
		return "!!null"
	case bool:
		return "!!bool"
	case json.Number:
		return "!!int"
	}
	return "!!str"
}

func decodeItem(obj map[string]any, fields []fieldSpec, where string) (item, error) {
	it := item{}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		var spec *fieldSpec
		for i := range fields {
			if fields[i].name == k {
				spec = &fields[i]
			}
		}
		if spec == nil {
			return nil, fmt.Errorf("field %s not found in %s", k, where)
		}
		if v == nil || spec.kind != kObject && isEmpty(v) {
			// An explicit null is the same as absent; so is an empty
			// string, list or map (Pebble's zero values: they merge as
			// nothing and the plan omits them). An empty object is not:
			// "http: {}" is an HTTP check without a URL.
			continue
		}
		bad := func() error {
			return fmt.Errorf("cannot unmarshal %s into field %q of %s", yamlKind(v), k, where)
		}
		switch spec.kind {
		case kString:
			if !isScalar(v) {
				return nil, bad()
			}
			s := scalarText(v)
			if spec.values != nil && !contains(spec.values, s) {
				return nil, formatErrorf("invalid %q value %q for %s", k, s, where)
			}
			it[k] = s
		case kInt:
			n, err := strconv.ParseInt(scalarText(v), 10, 64)
			if err != nil || !isScalar(v) {
				return nil, bad()
			}
			it[k] = n
		case kFloat:
			f, err := strconv.ParseFloat(scalarText(v), 64)
			if err != nil || !isScalar(v) {
				return nil, bad()
			}
			it[k] = f
		case kDuration:
			d, err := time.ParseDuration(scalarText(v))
			if err != nil || !isScalar(v) {
				return nil, formatErrorf("invalid %q duration %q for %s", k, scalarText(v), where)
			}
			it[k] = d
		case kList:
			seq, ok := v.([]any)
			if !ok {
				return nil, bad()
			}
			list := []string{}
			for _, e := range seq {
				if !isScalar(e) || e == nil {
					return nil, bad()
				}
				list = append(list, scalarText(e))
			}
			it[k] = list
		case kMap:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, bad()
			}
			sm := map[string]string{}
			for mk, mv := range m {
				if !isScalar(mv) {
					return nil, bad()
				}
				s := scalarText(mv)
				if spec.values != nil && !contains(spec.values, s) {
					return nil, formatErrorf("invalid %q value %q for %s", k, s, where)
				}
				sm[mk] = s
			}
			it[k] = sm
		case kObject:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, bad()
			}
			sub, err := decodeItem(m, spec.sub, where)
			if err != nil {
				return nil, err
			}
			it[k] = sub
		}
	}
	return it, nil
}

// isEmpty: an empty string, list or map in a layer.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// copyItem is a deep copy.
func copyItem(it item) item {
	c := item{}
	for k, v := range it {
		switch x := v.(type) {
		case []string:
			c[k] = append([]string(nil), x...)
		case map[string]string:
			m := map[string]string{}
			for mk, mv := range x {
				m[mk] = mv
			}
			c[k] = m
		case item:
			c[k] = copyItem(x)
		default:
			c[k] = v
		}
	}
	return c
}

// mergeItem overlays src onto dst (a copy): scalars replaced, lists
// appended, maps merged key by key, objects merged recursively.
func mergeItem(dst, src item) {
	for k, v := range src {
		switch x := v.(type) {
		case []string:
			old, _ := dst[k].([]string)
			dst[k] = append(append([]string(nil), old...), x...)
		case map[string]string:
			m := map[string]string{}
			if old, ok := dst[k].(map[string]string); ok {
				for mk, mv := range old {
					m[mk] = mv
				}
			}
			for mk, mv := range x {
				m[mk] = mv
			}
			dst[k] = m
		case item:
			if old, ok := dst[k].(item); ok {
				merged := copyItem(old)
				mergeItem(merged, x)
				dst[k] = merged
			} else {
				dst[k] = copyItem(x)
			}
		default:
			dst[k] = v
		}
	}
}

// combineInto overlays layer onto the sections of combined (in place),
// following each item's override.
func combineInto(combined map[string]map[string]item, layer *Layer) error {
	for _, sec := range sections {
		for _, name := range sortedKeys(layer.Sections[sec.name]) {
			it := layer.Sections[sec.name][name]
			switch it["override"] {
			case "merge":
				if old, ok := combined[sec.name][name]; ok {
					merged := copyItem(old)
					mergeItem(merged, it)
					combined[sec.name][name] = merged
					continue
				}
				combined[sec.name][name] = copyItem(it)
			case "replace":
				combined[sec.name][name] = copyItem(it)
			case nil:
				return formatErrorf("layer %q must define \"override\" for %s %q", layer.Label, sec.what, name)
			default:
				return formatErrorf("layer %q has invalid \"override\" value for %s %q", layer.Label, sec.what, name)
			}
		}
	}
	return nil
}

// CombineLayers combines the layers in order into a plan and validates it.
func CombineLayers(layers []*Layer) (*Plan, error) {
	p := &Plan{Sections: newSections()}
	for _, l := range layers {
		if err := combineInto(p.Sections, l); err != nil {
			return nil, err
		}
	}
	return p, p.Validate()
}

// Validate applies the plan-wide rules.
func (p *Plan) Validate() error {
	services := p.Sections["services"]
	for _, name := range sortedKeys(services) {
		if services[name]["command"] == nil || services[name]["command"] == "" {
			return formatErrorf("plan must define \"command\" for service %q", name)
		}
		if _, err := splitCommand(services[name]["command"].(string)); err != nil {
			return formatErrorf("plan service %q command invalid: %v", name, err)
		}
		if f, ok := services[name]["backoff-factor"].(float64); ok && f < 1 {
			return formatErrorf("plan service %q backoff-factor must be 1.0 or greater, not %g", name, f)
		}
		for _, dep := range []string{"after", "before", "requires"} {
			list, _ := services[name][dep].([]string)
			for _, other := range list {
				if _, ok := services[other]; !ok {
					return formatErrorf("service %q %s missing service %q", name, map[string]string{
						"after": "must start after", "before": "must start before", "requires": "requires"}[dep], other)
				}
			}
		}
	}
	checks := p.Sections["checks"]
	for _, name := range sortedKeys(checks) {
		c := checks[name]
		n := 0
		for _, k := range []string{"http", "tcp", "exec"} {
			if c[k] != nil {
				n++
			}
		}
		if n != 1 {
			return formatErrorf("plan must specify one of \"http\", \"tcp\", or \"exec\" for check %q", name)
		}
		if h, ok := c["http"].(item); ok && h["url"] == nil {
			return formatErrorf("plan must set \"url\" for http check %q", name)
		}
		if t, ok := c["tcp"].(item); ok && t["port"] == nil {
			return formatErrorf("plan must set \"port\" for tcp check %q", name)
		}
		if e, ok := c["exec"].(item); ok && e["command"] == nil {
			return formatErrorf("plan must set \"command\" for exec check %q", name)
		}
		if th, ok := c["threshold"].(int64); ok && th < 1 {
			return formatErrorf("plan check %q threshold must be greater than zero", name)
		}
	}
	targets := p.Sections["log-targets"]
	for _, name := range sortedKeys(targets) {
		t := targets[name]
		if t["type"] == nil {
			return formatErrorf("plan must define \"type\" (\"loki\", \"syslog\" or \"opentelemetry\") for log target %q", name)
		}
		if t["location"] == nil || t["location"] == "" {
			return formatErrorf("plan must define \"location\" for log target %q", name)
		}
		list, _ := t["services"].([]string)
		for _, svc := range list {
			s := strings.TrimPrefix(svc, "-")
			if s == "all" {
				continue
			}
			if _, ok := services[s]; !ok {
				return formatErrorf("log target %q specifies unknown service %q", name, s)
			}
		}
	}
	return nil
}

// splitCommand splits a service command the way Pebble's shlex does for
// the common cases (spaces, quotes, backslashes), and accepts "[ args ]".
func splitCommand(cmd string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	esc := false
	for _, r := range cmd {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc = true
			inArg = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
			inArg = true
		case r == ' ' || r == '\t' || r == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("cannot parse command: unterminated quote or escape")
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return args, nil
}

// YAML renders the plan as Pebble's GET /v1/plan?format=yaml does: the
// sections in order, items by name, fields in each section's order.
func (p *Plan) YAML() string {
	top := &yamlOrdered{}
	for _, sec := range sections {
		items := p.Sections[sec.name]
		if len(items) == 0 {
			continue
		}
		out := &yamlOrdered{}
		for _, name := range sortedKeys(items) {
			out.add(name, itemYAML(items[name], sec.fields))
		}
		top.add(sec.name, out)
	}
	return emitYAML(top)
}

func itemYAML(it item, fields []fieldSpec) *yamlOrdered {
	o := &yamlOrdered{}
	for _, f := range fields {
		v, ok := it[f.name]
		if !ok {
			if f.always && f.kind == kList {
				o.add(f.name, []string{})
			}
			continue
		}
		switch x := v.(type) {
		case time.Duration:
			o.add(f.name, x.String())
		case int64:
			o.add(f.name, int(x))
		case item:
			o.add(f.name, itemYAML(x, f.sub))
		default:
			o.add(f.name, v)
		}
	}
	return o
}

// itemJSON is an item as JSON-friendly values (for comparing configs).
func itemJSON(it item) string {
	b, _ := json.Marshal(it)
	return string(b)
}
