// SPDX-License-Identifier: GPL-3.0-or-later

package trees

import (
	"reflect"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
)

func testRegistry() *Registry {
	return New([]config.Tree{
		{Name: "gentoo-sources", Aliases: []string{"gentoo-kernel", "dist-kernel"},
			Packages: []string{"sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel", "sys-kernel/gentoo-kernel-bin"},
			Bugzilla: []string{"kernel@gentoo.org"}, Handles: map[string][]string{"irc": {"mpagano"}}},
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"},
			Bugzilla: []string{"hardened@gentoo.org", "kernel@gentoo.org"}, Handles: map[string][]string{"irc": {"blueness"}}},
		{Name: "raspberrypi", Packages: []string{"sys-kernel/raspberrypi-sources"}, Bugzilla: []string{"arm@gentoo.org"}},
		{Name: "mips", Packages: []string{"sys-kernel/mips-sources"}, Bugzilla: []string{"mips@gentoo.org"}},
	})
}

func TestMatch(t *testing.T) {
	r := testRegistry()
	tests := []struct {
		name      string
		bug       bugzilla.Bug
		want      []string
		wantNamed bool
	}{
		{"package atom in summary", bugzilla.Bug{Summary: "sys-kernel/hardened-sources: use-after-free in net/sched"}, []string{"hardened"}, true},
		{"versioned atom with operator", bugzilla.Bug{Summary: "<sys-kernel/gentoo-kernel-bin-6.6.62: CVE-2026-1"}, []string{"gentoo-sources"}, true},
		{"slot", bugzilla.Bug{Summary: "=sys-kernel/mips-sources-6.1.2:6.1 overflow"}, []string{"mips"}, true},
		{"tree name in whiteboard", bugzilla.Bug{Summary: "overflow", Whiteboard: "A2 [upstream] hardened"}, []string{"hardened"}, true},
		{"alias", bugzilla.Bug{Summary: "dist-kernel: leak"}, []string{"gentoo-sources"}, true},
		{"bare package name", bugzilla.Bug{Summary: "raspberrypi-sources, gentoo-sources: both"}, []string{"gentoo-sources", "raspberrypi"}, true},
		{"keyword", bugzilla.Bug{Summary: "x", Keywords: []string{"MIPS-SOURCES"}}, []string{"mips"}, true},
		{"case insensitive", bugzilla.Bug{Summary: "Sys-Kernel/Hardened-Sources: bad"}, []string{"hardened"}, true},
		{"no tree named: all", bugzilla.Bug{Summary: "Linux kernel: use-after-free in io_uring", Whiteboard: "A2 [linux <6.6.60]"}, []string{"gentoo-sources", "hardened", "raspberrypi", "mips"}, false},
		{"substring is not a name", bugzilla.Bug{Summary: "unhardened-sourcesx thing"}, []string{"gentoo-sources", "hardened", "raspberrypi", "mips"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, named := r.Match(&tc.bug)
			if !reflect.DeepEqual(Names(got), tc.want) || named != tc.wantNamed {
				t.Errorf("Match(%q) = %v named=%v, want %v named=%v", tc.bug.Summary, Names(got), named, tc.want, tc.wantNamed)
			}
		})
	}
}

// TestConcerns: a bug concerns the trees Match gives it: those it names,
// or every supported tree when it names none; an unsupported tree only
// when named.
func TestConcerns(t *testing.T) {
	r := New(append(testRegistry().All(), config.Tree{Name: "pf", Packages: []string{"sys-kernel/pf-sources"}, Unsupported: true}))
	for _, tc := range []struct {
		summary, tree string
		want          bool
	}{
		{"sys-kernel/hardened-sources: flaw", "hardened", true},
		{"sys-kernel/hardened-sources: flaw", "gentoo-sources", false},
		{"Linux kernel: flaw", "hardened", true},
		{"Linux kernel: flaw", "pf", false},
		{"sys-kernel/pf-sources: flaw", "pf", true},
		{"sys-kernel/pf-sources: flaw", "hardened", false},
		{"Linux kernel: flaw", "nosuch", false},
	} {
		if got := r.Concerns(&bugzilla.Bug{Summary: tc.summary}, tc.tree); got != tc.want {
			t.Errorf("Concerns(%q, %s) = %v, want %v", tc.summary, tc.tree, got, tc.want)
		}
	}
}

func TestLookupAndLogins(t *testing.T) {
	r := testRegistry()
	for _, name := range []string{"hardened", "HARDENED", "sys-kernel/hardened-sources", "hardened-sources"} {
		if tr, ok := r.Lookup(name); !ok || tr.Name != "hardened" {
			t.Errorf("Lookup(%q) = %v, %v", name, tr.Name, ok)
		}
	}
	if _, ok := r.Lookup("nonexistent"); ok {
		t.Error("Lookup(nonexistent) found a tree")
	}
	got := Logins(r.All())
	want := []string{"kernel@gentoo.org", "hardened@gentoo.org", "arm@gentoo.org", "mips@gentoo.org"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Logins = %v, want %v", got, want)
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"<=sys-kernel/gentoo-sources-6.6.60:6.6", "A2 [upstream]", "\x00\xff-1", "a/b/c-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range Tokens(s) {
			if tok == "" {
				t.Fatalf("empty token from %q", s)
			}
		}
	})
}

// An unsupported tree is highlighted only when a bug names it, never for a
// bug that names no tree.
func TestMatchUnsupported(t *testing.T) {
	r := New([]config.Tree{
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"mpagano"}}},
		{Name: "rpi", Aliases: []string{"raspberrypi"}, Packages: []string{"sys-kernel/raspberrypi-sources"}, Handles: map[string][]string{"irc": {"rpinick"}}, Unsupported: true},
		{Name: "vanilla", Packages: []string{"sys-kernel/vanilla-sources"}},
	})
	for _, tc := range []struct {
		summary   string
		want      []string
		wantNamed bool
	}{
		{"Linux kernel: use-after-free in io_uring", []string{"gentoo-sources", "vanilla"}, false},
		{"sys-kernel/raspberrypi-sources: overflow", []string{"rpi"}, true},
		{"raspberrypi, gentoo-sources: both", []string{"gentoo-sources", "rpi"}, true},
	} {
		got, named := r.Match(&bugzilla.Bug{Summary: tc.summary})
		if !reflect.DeepEqual(Names(got), tc.want) || named != tc.wantNamed {
			t.Errorf("Match(%q) = %v named=%v, want %v named=%v", tc.summary, Names(got), named, tc.want, tc.wantNamed)
		}
	}
}
