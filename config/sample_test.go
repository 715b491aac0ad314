// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// structKeys lists every key that a Config decodes, as dotted paths
// ("irc.channel.name"; arrays of tables are not numbered). A map-valued
// field (announce.remind_grade) is one key: its own keys are data.
func structKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	for f := range t.Fields() {
		name := tomlName(f)
		if name == "" {
			continue
		}
		key := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() {
			structKeys(ft, key+".", out)
			continue
		}
		out[key] = true
	}
}

// sampleKeys lists every key that config.sample.toml shows, set or
// commented out ("# api_key_env = ..."), as dotted paths.
func sampleKeys(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	// Uncomment the keys and tables shown commented out, so that they
	// count as documented.
	commented := regexp.MustCompile(`(?m)^# ?((?:[a-z_]+ = .*)|(?:\[\[?[a-z_.]+\]\]?))$`)
	doc := commented.ReplaceAll(data, []byte("$1"))
	var m map[string]any
	if err := toml.Unmarshal(doc, &m); err != nil {
		t.Fatalf("config.sample.toml with its commented keys uncommented does not parse: %v", err)
	}
	out := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if mt := sampleTypeAt(strings.TrimSuffix(prefix, ".")); mt != nil && mt.Kind() == reflect.Map {
				out[strings.TrimSuffix(prefix, ".")] = true
				return
			}
			for k, e := range v {
				walk(prefix+k+".", e)
			}
		case []map[string]any:
			for _, e := range v {
				walk(prefix, e)
			}
		case []any:
			tables := false
			for _, e := range v {
				if mm, ok := e.(map[string]any); ok {
					tables = true
					walk(prefix, mm)
				}
			}
			if !tables {
				out[strings.TrimSuffix(prefix, ".")] = true
			}
		default:
			out[strings.TrimSuffix(prefix, ".")] = true
		}
	}
	walk("", m)
	return out
}

// TestSampleMatchesStructs compares config.sample.toml with the Config
// structs key by key: every key ksecbot reads is documented in the sample
// (set, or commented out with its default), and every key of the sample is
// one ksecbot reads.
func TestSampleMatchesStructs(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	structKeys(reflect.TypeFor[Config](), "", read)
	shown := sampleKeys(t, data)
	var notShown, notRead []string
	for k := range read {
		if !shown[k] {
			notShown = append(notShown, k)
		}
	}
	for k := range shown {
		if !read[k] {
			notRead = append(notRead, k)
		}
	}
	sort.Strings(notShown)
	sort.Strings(notRead)
	for _, k := range notShown {
		t.Errorf("%s is read by ksecbot (a field of config.Config) but config.sample.toml does not show it", k)
	}
	for _, k := range notRead {
		t.Errorf("config.sample.toml shows %s, which no field of config.Config reads", k)
	}
	// The walk itself must see the keys, or the test proves nothing.
	for _, k := range []string{"bugzilla.url", "irc.channel.key_file", "irc.flood.burst", "announce.remind_grade", "tree.unsupported", "console.private"} {
		if !read[k] || !shown[k] {
			t.Errorf("the walk missed %s (struct %t, sample %t)", k, read[k], shown[k])
		}
	}
	if len(read) < 80 {
		t.Errorf("only %d keys found in the structs", len(read))
	}
}

// sampleTypeAt is typeAt for a key as the sample's walk writes it, with
// its arrays of tables not numbered: "tree.upstream_versions" is the type
// of "tree[1].upstream_versions".
func sampleTypeAt(key string) reflect.Type {
	parts := strings.Split(key, ".")
	for i := range parts {
		if t := typeAt(strings.Join(parts[:i+1], ".")); t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			parts[i] += "[1]"
		}
	}
	return typeAt(strings.Join(parts, "."))
}
