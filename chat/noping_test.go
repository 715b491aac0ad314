// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"testing"
	"unicode"
)

const np = string(NoPing)

// TestQuiet: only whole-word occurrences of a name get NoPing, once, after
// their first letter; every other byte stays.
func TestQuiet(t *testing.T) {
	rfc1459 := func(r rune) rune {
		switch r {
		case '[':
			return '{'
		case ']':
			return '}'
		case '\\':
			return '|'
		}
		return unicode.ToLower(r)
	}
	for _, tc := range []struct {
		name  string
		names []string
		fold  func(rune) rune
		in    string
		want  string
	}{
		{"no names", nil, nil, "alice and bob", "alice and bob"},
		{"a name", []string{"alice"}, nil, "alice", "a" + np + "lice"},
		{"any case", []string{"alice"}, nil, "ALICE: Alice", "A" + np + "LICE: A" + np + "lice"},
		{"inside a word it is no name", []string{"alice"}, nil, "malice alicex xalice 2alice", "malice alicex xalice 2alice"},
		{"every occurrence", []string{"alice", "bob"}, nil, "<alice> (bob) alice's @bob alice_",
			"<a" + np + "lice> (b" + np + "ob) a" + np + "lice's @b" + np + "ob a" + np + "lice_"},
		{"atoms, versions, CVE ids and paths stay", []string{"mpagano", "e"},
			nil, "sys-kernel/gentoo-sources-6.6.60: use-after-free in nf_tables (CVE-2024-50001) /usr/src/linux, by mpagano",
			"sys-kernel/gentoo-sources-6.6.60: use-after-free in nf_tables (CVE-2024-50001) /usr/src/linux, by m" + np + "pagano"},
		{"a one-letter name", []string{"e"}, nil, "e.g. the e1000e driver, see e", "e" + np + ".g. the e1000e driver, see e" + np},
		{"a name made of an atom's part", []string{"kernel"}, nil, "sys-kernel/kernel-sources", "sys-k" + np + "ernel/k" + np + "ernel-sources"},
		{"URLs stay whole", []string{"alice", "gentoo"}, nil, "https://github.com/alice/x.git alice https://bugs.gentoo.org/1",
			"https://github.com/alice/x.git a" + np + "lice https://bugs.gentoo.org/1"},
		{"a URL ends where URLs cannot go on", []string{"alice"}, nil, `<a href="https://x.example/alice">alice</a>`,
			`<a href="https://x.example/alice">a` + np + `lice</a>`},
		{"nick characters", []string{"[bob]", "x_y", "dev-1"}, rfc1459, "([bob]) {BOB} x[bob] x_y dev-1 dev-12",
			"([" + np + "bob]) {" + np + "BOB} x[bob] x" + np + "_y d" + np + "ev-1 dev-12"},
		{"a display name of two words", []string{"Alice Smith", "smith"}, nil, "by alice smith.", "by a" + np + "lice s" + np + "mith."},
		{"accents stay on their letter", []string{"e\u0301va"}, nil, "e\u0301va", "e\u0301" + np + "va"},
		{"non-ASCII names", []string{"jürgen"}, nil, "Jürgen, jürgens", "J" + np + "ürgen, jürgens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNames(tc.fold, tc.names...)
			got := n.Quiet(tc.in)
			if got != tc.want {
				t.Fatalf("Quiet(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if strings.ReplaceAll(got, np, "") != tc.in {
				t.Errorf("Quiet(%q) changed more than adding %U: %q", tc.in, NoPing, got)
			}
			if again := n.Quiet(got); again != got {
				t.Errorf("Quiet is not idempotent: %q -> %q", got, again)
			}
		})
	}
}

// clientMatches reports whether a client that treats wordChar as word
// characters would highlight name in text: a case-insensitive occurrence
// with no word character right before or after it.
func clientMatches(text, name string, wordChar func(rune) bool) bool {
	rs, nm := []rune(strings.ToLower(text)), []rune(strings.ToLower(name))
	for i := 0; i+len(nm) <= len(rs); i++ {
		if string(rs[i:i+len(nm)]) != string(nm) {
			continue
		}
		if (i == 0 || !wordChar(rs[i-1])) && (i+len(nm) == len(rs) || !wordChar(rs[i+len(nm)])) {
			return true
		}
	}
	return false
}

// Word characters as the clients named in NoPing's comment see them.
var clients = map[string]func(rune) bool{
	// weechat.look.word_chars_highlight "!\u00A0,-,_,|,alnum"
	"WeeChat": func(r rune) bool {
		return r != '\u00A0' && (r == '-' || r == '_' || r == '|' || unicode.IsLetter(r) || unicode.IsDigit(r))
	},
	// irssi: a boundary is an ASCII space or punctuation character
	"irssi": func(r rune) bool {
		return r >= 128 || !(unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r))
	},
	// HexChat: letters, digits and RFC 1459 nick characters
	"HexChat": func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-[]\\`^{}_|", r)
	},
}

// TestQuietNoClientMatches: a hostile summary full of nicks matches none
// of them as a whole word afterwards in WeeChat, irssi or HexChat, the
// one-letter nick and the names that are parts of others included.
func TestQuietNoClientMatches(t *testing.T) {
	nicks := []string{"alice", "mpagano", "blueness", "x_y", "[bob]", "dev-1", "Kernel", "sys", "ab", "_y", "lice", "carol", "e", "a", "ve", "eve"}
	hostile := "alice: mpagano,blueness! x_y [bob] dev-1 sys-kernel/kernel-sources ab@example.org <alice> (mpagano) alice's MPAGANO [bob]|x_y xcarol _carol 1carol eve e a ve"
	out := NewNames(nil, nicks...).Quiet(hostile)
	for client, word := range clients {
		for _, n := range nicks {
			if clientMatches(out, n, word) {
				t.Errorf("%s would highlight %q in %q", client, n, out)
			}
		}
	}
	if strings.ReplaceAll(out, np, "") != hostile {
		t.Errorf("the text reads differently: %q", out)
	}
}

// TestQuietedLine: every span of a line is quieted with its neighbours as
// context, tree labels too; mention handles and links are not.
func TestQuietedLine(t *testing.T) {
	names := NewNames(nil, "hardened", "alice", "hmaint", "gentoo")
	l := Line{}.Text("New bug ").Bold("1").Text(": ").Quote("alice").Text("x | ").
		Mention(Highlight{Tree: "hardened", Handles: map[string][]string{"irc": {"hmaint"}}}).Text(" ").
		Link("", "https://bugs.gentoo.org/1")
	got := l.Quieted("irc", names).Plain("irc")
	want := "New bug 1: alicex | h" + np + "ardened: hmaint https://bugs.gentoo.org/1"
	if got != want {
		t.Errorf("Quieted = %q, want %q", got, want)
	}
	if got := (Line{}.Quote("alice")).Quieted("irc", names).Plain("irc"); got != "a"+np+"lice" {
		t.Errorf("a span alone: %q", got)
	}
	if got := l.Quieted("irc", nil).Plain("irc"); got != l.Plain("irc") {
		t.Errorf("no names changed the line: %q", got)
	}
}

func TestBreak(t *testing.T) {
	for in, want := range map[string]string{"": "", "e": "e" + np, "mpagano": "m" + np + "pagano", "e\u0301va": "e\u0301" + np + "va"} {
		if got := Break(in); got != want {
			t.Errorf("Break(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzQuiet: Quiet only ever adds NoPing, leaves no name a whole word
// (outside URLs) and is idempotent.
func FuzzQuiet(f *testing.F) {
	f.Add("alice: e.g. sys-kernel/gentoo-sources e", "alice", "e")
	f.Add("[bob]x [bob] éva éva", "[bob]", "éva")
	f.Fuzz(func(t *testing.T, s, a, b string) {
		if strings.Contains(s, "://") {
			return
		}
		n := NewNames(nil, a, b)
		got := n.Quiet(s)
		if strings.ReplaceAll(got, np, "") != strings.ReplaceAll(s, np, "") {
			t.Fatalf("Quiet(%q) = %q changed more than %U", s, got, NoPing)
		}
		for _, name := range []string{a, b} {
			if name == "" || strings.ContainsRune(name, NoPing) || strings.ToLower(name) != strings.Map(unicode.ToLower, name) {
				continue
			}
			word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
			if clientMatches(got, name, word) {
				t.Fatalf("Quiet(%q) = %q: %q is still a whole word", s, got, name)
			}
		}
		if again := n.Quiet(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}
