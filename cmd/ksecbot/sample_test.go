// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport/irc"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

// The sample configuration documents the keys of every registered network,
// so its checks live here, where the network list is.

const samplePath = "../../config.sample.toml"

// sampleKeys lists every key that config.sample.toml shows, set or
// commented out ("# api_key_env = ..."), as dotted paths; leaf says which
// keys are values (a table whose keys are data, like
// announce.remind_grade, is one).
func sampleKeys(t *testing.T, data []byte, leaf map[string]bool) map[string]bool {
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
		key := strings.TrimSuffix(prefix, ".")
		switch v := v.(type) {
		case map[string]any:
			if leaf[key] {
				out[key] = true
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
				out[key] = true
			}
		default:
			out[key] = true
		}
	}
	walk("", m)
	return out
}

// TestSampleShowsEveryKey compares config.sample.toml with what ksecbot
// reads, key by key: every key of the shared tables and of every
// registered network's table, [[tree]] and [[user]] keys is documented in
// the sample (set, or commented out with its default), and every key of
// the sample is one ksecbot reads.
func TestSampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := config.Keys(netConfigs()...)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, k := range keys {
		read[k] = true
	}
	shown := sampleKeys(t, data, read)
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
		t.Errorf("%s is read by ksecbot but config.sample.toml does not show it", k)
	}
	for _, k := range notRead {
		t.Errorf("config.sample.toml shows %s, which ksecbot does not read", k)
	}
	// The walk itself must see the keys, or the test proves nothing.
	for _, k := range []string{"bugzilla.url", "irc.channel.key_file", "irc.flood.burst", "matrix.room.id", "announce.remind_grade", "tree.unsupported", "tree.irc", "user.irc_account", "user.matrix", "console.private"} {
		if !read[k] || !shown[k] {
			t.Errorf("the walk missed %s (read %t, sample %t)", k, read[k], shown[k])
		}
	}
	if len(read) < 80 {
		t.Errorf("only %d keys found", len(read))
	}
}

// TestSampleParses: config.sample.toml is valid, without warnings, for
// the network list; it shows both networks, Gentoo's kernel trees and
// how users link.
func TestSampleParses(t *testing.T) {
	c, err := config.ParseFile(samplePath, netConfigs()...)
	if err != nil {
		t.Fatalf("config.sample.toml: %v", err)
	}
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("config.sample.toml has warnings: %+v", ws)
	}
	var names []string
	for _, tr := range c.Trees {
		names = append(names, tr.Name)
		for _, p := range tr.Packages {
			if !strings.HasPrefix(p, "sys-kernel/") {
				t.Errorf("tree %s: package %q is not a kernel package", tr.Name, p)
			}
		}
	}
	// Gentoo's kernel trees as of today: the distribution kernels, vanilla,
	// hardened, arch-specific -sources and rt.
	for _, want := range []string{"gentoo-sources", "vanilla", "hardened", "mips-sources", "raspberrypi-sources", "rt-sources"} {
		if _, ok := c.Tree(want); !ok {
			t.Errorf("sample has no tree %q; trees: %v", want, names)
		}
	}
	for name, pkg := range map[string]string{
		"gentoo-kernel":       "sys-kernel/gentoo-kernel",
		"gentoo-kernel-bin":   "sys-kernel/gentoo-kernel-bin",
		"gentoo-sources":      "sys-kernel/gentoo-sources",
		"vanilla-sources":     "sys-kernel/vanilla-sources",
		"vanilla-kernel":      "sys-kernel/vanilla-kernel",
		"mips-sources":        "sys-kernel/mips-sources",
		"raspberrypi-sources": "sys-kernel/raspberrypi-sources",
		"rt-sources":          "sys-kernel/rt-sources",
	} {
		tr, ok := c.Tree(name)
		if !ok || !slices.Contains(tr.Packages, pkg) {
			t.Errorf("Tree(%q) = %+v, %v; want a tree with package %s", name, tr, ok, pkg)
		}
	}
	for _, retired := range []string{"sys-kernel/hardened-sources", "sys-kernel/xen-sources", "sys-kernel/tuxonice-sources"} {
		for _, tr := range c.Trees {
			if slices.Contains(tr.Packages, retired) {
				t.Errorf("tree %s lists %s, which Gentoo no longer has", tr.Name, retired)
			}
		}
	}
	ic, _ := c.Section(irc.Name).(*irc.Config)
	mc, _ := c.Section(matrix.Name).(*matrix.Config)
	if ic == nil || mc == nil || len(ic.Channels) != 2 || len(mc.Rooms) != 1 {
		t.Errorf("sample should show both networks with 2 channels and 1 room")
	}
	if c.Bugzilla.APIKeyFile != "/etc/ksecbot/bugzilla.key" || c.Bugzilla.APIKey != "" {
		t.Errorf("Parse must not read secrets: api_key_file %q, key set %v", c.Bugzilla.APIKeyFile, c.Bugzilla.APIKey != "")
	}
	users := []struct{ network, account, want string }{
		{irc.Name, "alice", "alice@gentoo.org"},
		{irc.Name, "ALICE", "alice@gentoo.org"}, // services accounts compare without case
		{matrix.Name, "@alice:matrix.org", "alice@gentoo.org"},
		{matrix.Name, "@Alice:matrix.org", ""}, // Matrix IDs exactly
		{irc.Name, "kernelnick", "kernelnick@gentoo.org"},
		{irc.Name, "*", ""},
		{irc.Name, "mallory", ""},
	}
	for _, tc := range users {
		got := ""
		if u, ok := c.User(tc.network, tc.account); ok {
			got = u.Bugzilla
		}
		if got != tc.want {
			t.Errorf("User(%q, %q) = %q, want %q", tc.network, tc.account, got, tc.want)
		}
	}
}
