package server

// A YAML subset, enough for Pebble layers written by hand or by a program:
//
//   - block mappings and block sequences (indented with spaces), "- key: v"
//     items, a sequence at the same indentation as its key;
//   - plain, 'single' and "double" quoted scalars (JSON and YAML escapes);
//   - literal and folded block scalars (| |- |+ > >- >+);
//   - flow collections ([a, b], {k: v}), which may span lines: so any JSON
//     text is accepted too (JSON is a subset of YAML's flow style);
//   - comments, a leading "---" and a trailing "...".
//
// Anchors, aliases, tags, multi-line plain or quoted scalars, complex keys
// and several documents are refused with an error, never misread.
//
// The result is a tree of map[string]any, []any, string, json.Number
// (plain numbers, with their text), bool and nil, as encoding/json gives
// with UseNumber; parseLayerText tries encoding/json first.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type yamlLine struct {
	num    int // 1-based, for messages
	indent int
	text   string // without indentation; comments kept (stripped when scanned)
}

type yamlParser struct {
	lines []yamlLine
	pos   int
}

type yamlError struct {
	line int
	msg  string
}

func (e *yamlError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("yaml: line %d: %s", e.line, e.msg)
	}
	return "yaml: " + e.msg
}

func yerr(line int, format string, args ...any) error {
	return &yamlError{line, fmt.Sprintf(format, args...)}
}

// parseYAML parses one YAML document in the subset above.
func parseYAML(text string) (any, error) {
	p := &yamlParser{}
	started := false
	for i, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(trimmed)
		if strings.HasPrefix(trimmed, "\t") {
			return nil, yerr(i+1, "found a tab character that violates indentation")
		}
		if t := strings.TrimRight(trimmed, " \t"); indent == 0 && (t == "---" || strings.HasPrefix(t, "--- ")) {
			if started || len(p.lines) > 0 {
				return nil, yerr(i+1, "several documents are not supported")
			}
			started = true
			if rest := strings.TrimSpace(t[3:]); rest != "" && !strings.HasPrefix(rest, "#") {
				p.lines = append(p.lines, yamlLine{i + 1, 4, rest})
			}
			continue
		}
		if indent == 0 && strings.TrimRight(trimmed, " \t") == "..." {
			break
		}
		if strings.HasPrefix(trimmed, "%") && indent == 0 && len(p.lines) == 0 {
			return nil, yerr(i+1, "directives are not supported")
		}
		p.lines = append(p.lines, yamlLine{i + 1, indent, trimmed})
	}
	p.skipBlank()
	if p.pos >= len(p.lines) {
		return nil, nil
	}
	v, err := p.parseNode(p.lines[p.pos].indent)
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.pos < len(p.lines) {
		return nil, yerr(p.lines[p.pos].num, "did not find expected key (bad indentation?)")
	}
	return v, nil
}

// isBlank: an empty or comment-only line.
func isBlank(text string) bool {
	t := strings.TrimSpace(text)
	return t == "" || strings.HasPrefix(t, "#")
}

// skipBlank moves past empty and comment lines.
func (p *yamlParser) skipBlank() {
	for p.pos < len(p.lines) && isBlank(p.lines[p.pos].text) {
		p.pos++
	}
}

// parseNode parses the block node whose first line is the current one, at
// exactly indent.
func (p *yamlParser) parseNode(indent int) (any, error) {
	l := p.lines[p.pos]
	if isSeqItem(l.text) {
		return p.parseSeq(indent)
	}
	if _, _, ok, err := splitKey(l.text, l.num); err != nil {
		return nil, err
	} else if ok {
		return p.parseMap(indent)
	}
	// A lone scalar or flow collection (a whole document, or a sequence
	// item on the following line).
	p.pos++
	return p.parseInline(l, strings.TrimSpace(stripComment(l.text)), indent)
}

// isSeqItem: "-" alone or followed by a blank ("-1" is a scalar).
func isSeqItem(text string) bool {
	return strings.TrimRight(text, " \t") == "-" || strings.HasPrefix(text, "- ") || strings.HasPrefix(text, "-\t")
}

func (p *yamlParser) parseSeq(indent int) (any, error) {
	seq := []any{}
	for {
		p.skipBlank()
		if p.pos >= len(p.lines) {
			return seq, nil
		}
		l := p.lines[p.pos]
		if l.indent < indent {
			return seq, nil
		}
		if l.indent > indent {
			return nil, yerr(l.num, "bad indentation of a sequence entry")
		}
		if !isSeqItem(l.text) {
			return seq, nil
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		if isBlank(rest) {
			// The item is the block below (more indented), or null.
			p.pos++
			p.skipBlank()
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				v, err := p.parseNode(p.lines[p.pos].indent)
				if err != nil {
					return nil, err
				}
				seq = append(seq, v)
			} else {
				seq = append(seq, nil)
			}
			continue
		}
		// "- x": the rest is a node of its own at its column.
		col := indent + (len(l.text) - len(rest))
		p.lines[p.pos] = yamlLine{l.num, col, rest}
		v, err := p.parseNode(col)
		if err != nil {
			return nil, err
		}
		seq = append(seq, v)
	}
}

func (p *yamlParser) parseMap(indent int) (any, error) {
	m := map[string]any{}
	for {
		p.skipBlank()
		if p.pos >= len(p.lines) {
			return m, nil
		}
		l := p.lines[p.pos]
		if l.indent < indent {
			return m, nil
		}
		if l.indent > indent {
			return nil, yerr(l.num, "mapping values are not allowed in this context (bad indentation)")
		}
		if isSeqItem(l.text) {
			return nil, yerr(l.num, "did not find expected key")
		}
		key, rest, ok, err := splitKey(l.text, l.num)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, yerr(l.num, "could not find expected ':'")
		}
		if _, dup := m[key]; dup {
			return nil, yerr(l.num, "mapping key %q already defined", key)
		}
		p.pos++
		rest = strings.TrimSpace(stripComment(rest))
		if rest == "" {
			// The value is the block below: more indented, or a sequence
			// at the key's own indentation; otherwise null.
			p.skipBlank()
			if p.pos < len(p.lines) {
				n := p.lines[p.pos]
				if n.indent > indent {
					v, err := p.parseNode(n.indent)
					if err != nil {
						return nil, err
					}
					m[key] = v
					continue
				}
				if n.indent == indent && isSeqItem(n.text) {
					v, err := p.parseSeq(indent)
					if err != nil {
						return nil, err
					}
					m[key] = v
					continue
				}
			}
			m[key] = nil
			continue
		}
		v, err := p.parseInline(l, rest, indent)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
}

// parseInline parses a value that starts on line l (already consumed):
// a block scalar, a flow collection (continued on more indented lines), a
// quoted or a plain scalar.
func (p *yamlParser) parseInline(l yamlLine, rest string, indent int) (any, error) {
	switch rest[0] {
	case '|', '>':
		return p.parseBlockScalar(l, rest, indent)
	case '[', '{':
		text := rest
		for {
			v, n, err := parseFlow(text, 0, l.num)
			if err == nil {
				if tail := strings.TrimSpace(stripComment(text[n:])); tail != "" {
					return nil, yerr(l.num, "unexpected %q after a flow collection", tail)
				}
				return v, nil
			}
			if !errorsIsEOF(err) || p.pos >= len(p.lines) || (!isBlank(p.lines[p.pos].text) && p.lines[p.pos].indent <= indent) {
				return nil, err
			}
			text += "\n" + p.lines[p.pos].text
			p.pos++
		}
	case '&', '*', '!':
		return nil, yerr(l.num, "anchors, aliases and tags are not supported")
	case '"', '\'':
		s, n, err := parseQuoted(rest, 0, l.num)
		if err != nil {
			return nil, err
		}
		if tail := strings.TrimSpace(rest[n:]); tail != "" {
			return nil, yerr(l.num, "unexpected %q after a quoted scalar", tail)
		}
		return s, p.noContinuation(indent)
	}
	if err := p.noContinuation(indent); err != nil {
		return nil, err
	}
	return resolvePlain(rest), nil
}

// noContinuation refuses a multi-line plain or quoted scalar (a more
// indented line after a scalar value) instead of misreading it.
func (p *yamlParser) noContinuation(indent int) error {
	for i := p.pos; i < len(p.lines); i++ {
		if isBlank(p.lines[i].text) {
			continue
		}
		if p.lines[i].indent > indent {
			return yerr(p.lines[i].num, "multi-line scalars are not supported (use a block scalar)")
		}
		return nil
	}
	return nil
}

func (p *yamlParser) parseBlockScalar(l yamlLine, header string, indent int) (any, error) {
	header = strings.TrimSpace(stripComment(header))
	folded := header[0] == '>'
	chomp := byte(0)
	for _, c := range []byte(header[1:]) {
		switch {
		case c == '-' || c == '+':
			chomp = c
		default:
			return nil, yerr(l.num, "unsupported block scalar header %q", header)
		}
	}
	var body []string
	blockIndent := -1
	for p.pos < len(p.lines) {
		n := p.lines[p.pos]
		if strings.TrimSpace(n.text) == "" {
			body = append(body, "")
			p.pos++
			continue
		}
		if blockIndent < 0 {
			if n.indent <= indent {
				break
			}
			blockIndent = n.indent
		}
		if n.indent < blockIndent {
			break
		}
		body = append(body, strings.Repeat(" ", n.indent-blockIndent)+n.text)
		p.pos++
	}
	// Trailing empty lines belong to the chomping, not the content.
	trailing := 0
	for len(body) > 0 && body[len(body)-1] == "" {
		body = body[:len(body)-1]
		trailing++
	}
	var s string
	if folded {
		var b strings.Builder
		for i, line := range body {
			if i > 0 {
				prev := body[i-1]
				switch {
				case line == "" || prev == "":
					if prev != "" || line == "" {
						b.WriteString("\n")
					}
				case strings.HasPrefix(line, " ") || strings.HasPrefix(prev, " "):
					b.WriteString("\n")
				default:
					b.WriteString(" ")
				}
			}
			b.WriteString(line)
		}
		s = b.String()
	} else {
		s = strings.Join(body, "\n")
	}
	switch chomp {
	case '-':
	case '+':
		if len(body) > 0 {
			s += "\n"
		}
		s += strings.Repeat("\n", trailing)
	default:
		if len(body) > 0 {
			s += "\n"
		}
	}
	return s, nil
}

// stripComment removes a " #..." comment outside quotes and flow text.
func stripComment(text string) string {
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(text) && text[i+1] == '\'' {
					i++
				} else {
					quote = 0
				}
			}
		case c == '"' || c == '\'':
			if i == 0 || strings.ContainsRune(" \t[{,:-", rune(text[i-1])) {
				quote = c
			}
		case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			return text[:i]
		}
	}
	return text
}

// splitKey splits "key: rest" (the key plain or quoted). ok is false when
// the line is not a mapping entry.
func splitKey(text string, num int) (key, rest string, ok bool, err error) {
	text = stripComment(text)
	if text == "" {
		return "", "", false, nil
	}
	switch text[0] {
	case '"', '\'':
		k, n, err := parseQuoted(text, 0, num)
		if err != nil {
			return "", "", false, err
		}
		after := strings.TrimLeft(text[n:], " ")
		if !strings.HasPrefix(after, ":") {
			return "", "", false, nil
		}
		after = after[1:]
		if after != "" && after[0] != ' ' && after[0] != '\t' {
			return "", "", false, nil
		}
		return k, after, true, nil
	case '[', '{', '|', '>':
		return "", "", false, nil
	case '?':
		if len(text) == 1 || text[1] == ' ' {
			return "", "", false, yerr(num, "complex keys are not supported")
		}
	}
	for i := 0; i < len(text); i++ {
		if text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t') {
			k := strings.TrimRight(text[:i], " \t")
			if k == "" {
				return "", "", false, yerr(num, "empty key")
			}
			return k, text[i+1:], true, nil
		}
	}
	return "", "", false, nil
}

var errFlowEOF = fmt.Errorf("unexpected end of a flow collection")

func errorsIsEOF(err error) bool {
	e, ok := err.(*yamlError)
	return ok && e.msg == errFlowEOF.Error()
}

func skipFlowSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		case '#':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\n' {
				for i < len(s) && s[i] != '\n' {
					i++
				}
			} else {
				return i
			}
		default:
			return i
		}
	}
	return i
}

// parseFlow parses a flow node at s[i:]; it returns the index after it.
func parseFlow(s string, i, num int) (any, int, error) {
	i = skipFlowSpace(s, i)
	if i >= len(s) {
		return nil, i, yerr(num, errFlowEOF.Error())
	}
	switch s[i] {
	case '[':
		seq := []any{}
		i++
		for {
			i = skipFlowSpace(s, i)
			if i >= len(s) {
				return nil, i, yerr(num, errFlowEOF.Error())
			}
			if s[i] == ']' {
				return seq, i + 1, nil
			}
			v, n, err := parseFlow(s, i, num)
			if err != nil {
				return nil, n, err
			}
			seq = append(seq, v)
			i = skipFlowSpace(s, n)
			if i >= len(s) {
				return nil, i, yerr(num, errFlowEOF.Error())
			}
			switch s[i] {
			case ',':
				i++
			case ']':
			default:
				return nil, i, yerr(num, "did not find expected ',' or ']'")
			}
		}
	case '{':
		m := map[string]any{}
		i++
		for {
			i = skipFlowSpace(s, i)
			if i >= len(s) {
				return nil, i, yerr(num, errFlowEOF.Error())
			}
			if s[i] == '}' {
				return m, i + 1, nil
			}
			k, n, err := parseFlowScalar(s, i, num, true)
			if err != nil {
				return nil, n, err
			}
			key, isStr := k.(string)
			if !isStr {
				key = scalarText(k)
			}
			i = skipFlowSpace(s, n)
			if i >= len(s) {
				return nil, i, yerr(num, errFlowEOF.Error())
			}
			var v any
			if s[i] == ':' {
				v, i, err = parseFlow(s, i+1, num)
				if err != nil {
					return nil, i, err
				}
				i = skipFlowSpace(s, i)
				if i >= len(s) {
					return nil, i, yerr(num, errFlowEOF.Error())
				}
			}
			if _, dup := m[key]; dup {
				return nil, i, yerr(num, "mapping key %q already defined", key)
			}
			m[key] = v
			switch s[i] {
			case ',':
				i++
			case '}':
			default:
				return nil, i, yerr(num, "did not find expected ',' or '}'")
			}
		}
	case ']', '}', ',':
		return nil, i, yerr(num, "unexpected %q in a flow collection", s[i])
	}
	return parseFlowScalar(s, i, num, false)
}

func parseFlowScalar(s string, i, num int, isKey bool) (any, int, error) {
	switch s[i] {
	case '"', '\'':
		v, n, err := parseQuoted(s, i, num)
		if err != nil {
			return nil, n, err
		}
		return v, n, nil
	case '[', '{':
		if isKey {
			return nil, i, yerr(num, "complex keys are not supported")
		}
		return parseFlow(s, i, num)
	case '&', '*', '!':
		return nil, i, yerr(num, "anchors, aliases and tags are not supported")
	}
	start := i
	for i < len(s) {
		c := s[i]
		if c == ',' || c == ']' || c == '}' || c == '\n' {
			break
		}
		if c == ':' && (i+1 == len(s) || strings.IndexByte(" \t\n,]}", s[i+1]) >= 0) {
			break
		}
		if c == '#' && i > start && (s[i-1] == ' ' || s[i-1] == '\t') {
			break
		}
		i++
	}
	text := strings.TrimSpace(s[start:i])
	if i >= len(s) && !isKey {
		return nil, i, yerr(num, errFlowEOF.Error())
	}
	return resolvePlain(text), i, nil
}

// parseQuoted parses a quoted scalar at s[i:] (single line, or within a
// flow collection's text).
func parseQuoted(s string, i, num int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	i++
	for i < len(s) {
		c := s[i]
		if q == '\'' {
			if c == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				return b.String(), i + 1, nil
			}
			b.WriteByte(c)
			i++
			continue
		}
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", i, yerr(num, "unterminated escape")
			}
			e := s[i+1]
			i += 2
			simple := map[byte]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n",
				'v': "\v", 'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '/': "/", '\\': "\\",
				'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029"}
			if r, ok := simple[e]; ok {
				b.WriteString(r)
				continue
			}
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if width == 0 || i+width > len(s) {
				return "", i, yerr(num, "invalid escape \\%c", e)
			}
			n, err := strconv.ParseUint(s[i:i+width], 16, 32)
			if err != nil {
				return "", i, yerr(num, "invalid escape \\%c%s", e, s[i:i+width])
			}
			i += width
			r := rune(n)
			// A JSON surrogate pair: \ud83d\ude00.
			if e == 'u' && r >= 0xd800 && r < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if lo, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil && lo >= 0xdc00 && lo < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (rune(lo) - 0xdc00)
					i += 6
				}
			}
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		case '\n':
			return "", i, yerr(num, "multi-line quoted scalars are not supported")
		default:
			b.WriteByte(c)
			i++
		}
	}
	if q == '"' {
		return "", i, yerr(num, "found unexpected end of stream while scanning a quoted scalar")
	}
	return "", i, yerr(num, "found unexpected end of stream while scanning a quoted scalar")
}

var yamlNumber = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolvePlain gives a plain scalar its YAML 1.2 core-schema type (what
// yaml.v3 does when decoding into an interface).
func resolvePlain(text string) any {
	switch text {
	case "", "~", "null", "Null", "NULL":
		return nil
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	if yamlNumber.MatchString(text) {
		return json.Number(text)
	}
	return text
}

// scalarText is a scalar's text, for fields that want a string.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// parseLayerText parses a layer's text: JSON when it is valid JSON,
// otherwise the YAML subset.
func parseLayerText(text string) (any, error) {
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") {
		dec := json.NewDecoder(strings.NewReader(t))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil && !dec.More() {
			return v, nil
		}
	}
	return parseYAML(text)
}

// ---------------------------------------------------------------- emitter

// yamlOrdered is a mapping emitted in the given key order.
type yamlOrdered struct {
	keys []string
	vals []any
}

func (o *yamlOrdered) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// emitYAML writes v in block style with 4-space indentation, as yaml.v3's
// Marshal does; map[string]... keys are sorted, yamlOrdered keeps its
// order; an empty top-level mapping is "{}".
func emitYAML(v any) string {
	var b bytes.Buffer
	if isEmptyCollection(v) {
		if _, ok := v.([]any); ok {
			return "[]\n"
		}
		return "{}\n"
	}
	emitNode(&b, v, 0)
	return b.String()
}

func isEmptyCollection(v any) bool {
	switch x := v.(type) {
	case *yamlOrdered:
		return len(x.keys) == 0
	case map[string]any:
		return len(x) == 0
	case map[string]string:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}

func emitNode(b *bytes.Buffer, v any, indent int) {
	pad := strings.Repeat(" ", indent)
	entry := func(k string, val any) {
		b.WriteString(pad + yamlScalar(k) + ":")
		emitValue(b, val, indent)
	}
	switch x := v.(type) {
	case *yamlOrdered:
		for i, k := range x.keys {
			entry(k, x.vals[i])
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			entry(k, x[k])
		}
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			entry(k, x[k])
		}
	case []any:
		for _, item := range x {
			b.WriteString(pad + "-")
			emitValue(b, item, indent)
		}
	case []string:
		for _, item := range x {
			b.WriteString(pad + "- " + yamlScalar(item) + "\n")
		}
	}
}

// emitValue writes what follows "key:" or "-".
func emitValue(b *bytes.Buffer, v any, indent int) {
	if isEmptyCollection(v) {
		if _, ok := v.([]any); ok {
			b.WriteString(" []\n")
		} else if _, ok := v.([]string); ok {
			b.WriteString(" []\n")
		} else {
			b.WriteString(" {}\n")
		}
		return
	}
	switch v.(type) {
	case *yamlOrdered, map[string]any, map[string]string, []any, []string:
		b.WriteString("\n")
		emitNode(b, v, indent+4)
	default:
		b.WriteString(" " + yamlScalarValue(v) + "\n")
	}
}

func yamlScalarValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		return string(x)
	case string:
		return yamlScalar(x)
	}
	return yamlScalar(fmt.Sprint(v))
}

var plainSafe = regexp.MustCompile(`^[A-Za-z0-9_./(][^\x00-\x1f\x7f"'#]*$`)

// yamlScalar writes a string plain when it reads back as the same string,
// otherwise double-quoted.
func yamlScalar(s string) string {
	plain := plainSafe.MatchString(s) && !strings.Contains(s, ": ") && !strings.Contains(s, " #") &&
		!strings.HasSuffix(s, ":") && !strings.HasSuffix(s, " ") && utf8.ValidString(s) &&
		!strings.ContainsAny(s, "{}[],&*!|>%@`")
	if plain {
		if _, isStr := resolvePlain(s).(string); isStr && !yaml11Special(s) {
			return s
		}
	}
	return strconv.Quote(s)
}

// yaml11Special: words a YAML 1.1 reader (libyaml, lyaml) would take for
// a boolean or null, quoted to be read back as strings everywhere.
func yaml11Special(s string) bool {
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", ".inf", "-.inf", ".nan":
		return true
	}
	return false
}
