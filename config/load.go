// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// maxFileSize bounds the configuration file that Load reads.
const maxFileSize = 4 << 20

// Load reads the file at path, decodes it, applies defaults, validates it
// and reads the secrets it names (see LoadSecrets). When the file is bad the
// error is a *Problems that lists every problem found, each with its key and
// line; secret values never appear in it.
func Load(path string, nets ...Network) (*Config, error) {
	c, err := ParseFile(path, nets...)
	if err != nil {
		return nil, err
	}
	if err := c.LoadSecrets(); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseFile reads the file at path and calls Parse; it reads no secret.
// Every relative path in it becomes relative to the folder of path, not
// to the working directory (resolvePaths).
func ParseFile(path string, nets ...Network) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, &Problems{Path: path, List: []Problem{{Msg: err.Error()}}}
	}
	c, err := Parse(data, path, nets...)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c.resolvePaths(dir)
	return c, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read config: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config file is larger than %d bytes", maxFileSize)
	}
	return data, nil
}

// Parse decodes a TOML document, applies the defaults and validates the
// result. It reads no file and no environment variable, so it is safe on any
// input; path only names the document in problems. When data is bad the
// error is a *Problems holding every problem found: syntax errors, unknown
// keys, wrong types and invalid values, each with its key and line.
//
// nets are the chat networks the file may configure (cmd/ksecbot's
// network list): each network's table is decoded into its own section
// type, and its [[tree]] and [[user]] keys into Tree.Handles and
// User.Accounts. A table or key of a network not in nets is unknown.
func Parse(data []byte, path string, nets ...Network) (*Config, error) {
	ps := &Problems{Path: path}
	c, _ := parse(data, path, nets, ps)
	if err := ps.errOrNil(); err != nil {
		return nil, err
	}
	return c, nil
}

// parse is Parse that adds its problems to ps and returns the
// configuration as far as it was decoded (nil when the document could not
// be decoded far enough to be validated), with the keys that have a
// problem, so that Validate can go on checking the rest.
func parse(data []byte, path string, nets []Network, ps *Problems) (*Config, map[string]bool) {
	sc, err := newSchema(nets)
	if err != nil {
		ps.List = append(ps.List, Problem{Msg: "the program's network list: " + err.Error()})
		return nil, nil
	}
	idx, err := scanDoc(data)
	if err != nil {
		ps.List = append(ps.List, syntaxProblem(data))
		return nil, nil
	}
	c, bad, ok := sc.decode(data, idx, ps)
	if !ok {
		return nil, bad
	}
	c.Metadata = &Metadata{Path: path, index: idx}
	c.applyDefaults(idx)
	v := &validator{idx: idx, skip: bad}
	v.config(c)
	ps.List = append(ps.List, v.problems...)
	for _, p := range v.problems {
		bad[p.Key] = true
	}
	return c, bad
}

// syntaxProblem reports the syntax error that go-toml finds in data.
func syntaxProblem(data []byte) Problem {
	var m map[string]any
	err := toml.Unmarshal(data, &m)
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return Problem{Key: strings.Join(de.Key(), "."), Line: line, Msg: "syntax error: " + cleanMsg(de.Error())}
	}
	if err != nil {
		return Problem{Msg: "syntax error: " + cleanMsg(err.Error())}
	}
	return Problem{Msg: "syntax error"}
}

// decode decodes data strictly into a Config. go-toml stops at the first
// type error, so each key-value that fails is recorded, blanked out (its
// lines kept) and the document decoded again, until only unknown keys or
// nothing is left. Durations are checked first, here, because go-toml
// reports some of their errors without a position. decode returns the keys
// that had problems (a key-value blanked out counts as a whole), and false
// when the document could not be decoded far enough to be validated.
func (sc *schema) decode(data []byte, idx *docIndex, ps *Problems) (*Config, map[string]bool, bool) {
	doc := bytes.Clone(data)
	bad := map[string]bool{}
	blank := func(offset int) bool {
		top, ok := idx.topAt(offset)
		if !ok {
			return false
		}
		bad[top.key] = true
		for i := top.start; i < top.end && i < len(doc); i++ {
			if doc[i] != '\n' && doc[i] != '\r' {
				doc[i] = ' '
			}
		}
		return true
	}
	durationType := reflect.TypeFor[Duration]()
	for _, e := range idx.entries {
		if !e.value || sc.typeAt(e.key) != durationType {
			continue
		}
		msg := ""
		if e.kind != unstable.String {
			msg = fmt.Sprintf(`expected a duration string such as "90s", got a TOML %s`, strings.ToLower(e.kind.String()))
		} else if _, err := ParseDuration(e.text); err != nil {
			msg = err.Error()
		}
		if msg != "" {
			ps.List = append(ps.List, Problem{Key: e.key, Line: idx.line(e.start), Msg: msg})
			bad[e.key] = true
			blank(e.start)
		}
	}
	for range len(idx.entries) + 1 {
		v := reflect.New(sc.root)
		dec := toml.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		err := dec.Decode(v.Interface())
		c := sc.config(v)
		if err == nil {
			return c, bad, true
		}
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			for i := range strict.Errors {
				e := &strict.Errors[i]
				p := idx.problem(e)
				if strings.Contains(e.Error(), "missing table") {
					p.Msg = "unknown table"
				} else {
					p.Msg = "unknown key"
				}
				p.Msg += sc.suggest(p.Key)
				bad[p.Key] = true
				ps.List = append(ps.List, p)
			}
			return c, bad, true
		}
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			ps.List = append(ps.List, Problem{Msg: cleanMsg(err.Error())})
			return c, bad, false
		}
		p := idx.problem(de)
		p.Msg = friendlyMsg(de.Error())
		bad[p.Key] = true
		ps.List = append(ps.List, p)
		// A table header cannot be removed without moving the keys below
		// it to another table: stop there.
		if !blank(idx.offset(de.Position())) {
			return c, bad, false
		}
	}
	return sc.config(reflect.New(sc.root)), bad, false
}

// typeAt returns the Go type that a key decodes into, or nil.
func (sc *schema) typeAt(key string) reflect.Type {
	t := sc.root
	for part := range strings.SplitSeq(key, ".") {
		name, _, _ := strings.Cut(part, "[")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, name)
			if !ok {
				return nil
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
		for range strings.Count(part, "[") {
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
		}
	}
	return t
}

// problem turns a go-toml error into a Problem with our key naming.
func (idx *docIndex) problem(de *toml.DecodeError) Problem {
	line, col := de.Position()
	p := Problem{Key: strings.Join(de.Key(), "."), Line: line}
	if e, ok := idx.at(idx.offset(line, col)); ok {
		p.Key = e.key
	}
	return p
}

func cleanMsg(s string) string { return strings.TrimPrefix(s, "toml: ") }

var mismatchRE = regexp.MustCompile(`^cannot decode TOML (\w+) into .*? of type (.+)$`)

// friendlyMsg rewrites go-toml's type mismatch messages for operators.
func friendlyMsg(s string) string {
	s = cleanMsg(s)
	m := mismatchRE.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	got := m[1]
	want := "a " + m[2]
	switch t := m[2]; {
	case t == "string":
		want = "a string"
	case t == "bool" || t == "*bool":
		want = "a boolean (true or false)"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		want = "an integer"
	case t == "[]string":
		want = "an array of strings"
	case t == "config.Duration":
		want = `a duration string such as "90s"`
	case strings.HasPrefix(t, "[]"):
		want = "an array of tables ([[...]])"
	case strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "struct") || strings.Contains(t, "."):
		// A shared table (config.Store) or a network's section
		// (*irc.Config).
		want = "a table"
	}
	return fmt.Sprintf("expected %s, got a TOML %s", want, got)
}

// suggest proposes a known key close to an unknown one.
func (sc *schema) suggest(key string) string {
	parent, name := "", key
	if cut := strings.LastIndex(key, "."); cut >= 0 {
		parent, name = key[:cut], key[cut+1:]
	}
	name, _, _ = strings.Cut(name, "[")
	best, bestD := "", 3
	for _, k := range sc.knownKeys(parent) {
		if d := editDistance(name, k); d < bestD && 2*d < len(name) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// knownKeys lists the keys that the table at parent accepts.
func (sc *schema) knownKeys(parent string) []string {
	t := sc.root
	if parent != "" {
		for part := range strings.SplitSeq(parent, ".") {
			if i := strings.IndexByte(part, '['); i >= 0 {
				part = part[:i]
			}
			f, ok := fieldByTag(t, part)
			if !ok {
				return nil
			}
			t = f.Type
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
				t = t.Elem()
			}
			if t.Kind() != reflect.Struct {
				return nil
			}
		}
	}
	var keys []string
	for f := range t.Fields() {
		if tag := tomlName(f); tag != "" {
			keys = append(keys, tag)
		}
	}
	return keys
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if tomlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tomlName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
