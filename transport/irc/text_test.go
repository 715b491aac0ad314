// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
)

func TestRender(t *testing.T) {
	h := chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"alice", "bob"}}}
	tests := []struct {
		name       string
		line       chat.Line
		formatting bool
		want       string
	}{
		{"mention and bold", chat.Line{}.Bold("bug 123").Text(" summary\r\nQUIT x ").Mention(h), true,
			"\x02bug 123\x02 summary QUIT x hardened: alice bob"},
		{"no formatting", chat.Line{}.Bold("bug 123").Text(" s"), false, "bug 123 s"},
		{"untrusted bold stripped", chat.Line{}.Bold("\x02x\x03"), true, "\x02x\x02"},
		{"link uses URL", chat.Line{}.Text("see ").Link("here", "https://bugs.gentoo.org/1"), true, "see https://bugs.gentoo.org/1"},
		{"mention without nicks uses tree", chat.Line{}.Mention(chat.Highlight{Tree: "dist-kernels"}), true, "dist-kernels"},
		{"critical in red", chat.Line{}.Text("(").Severity("critical").Text(")"), true, "(\x0304critical\x03)"},
		{"normal uncoloured", chat.Line{}.Text("(").Severity("normal").Text(")"), true, "(normal)"},
		{"severity without formatting", chat.Line{}.Severity("major"), false, "major"},
		{"hostile severity cleaned", chat.Line{}.Severity("major\x0304\r\nQUIT"), true, "major QUIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Render(tc.line, tc.formatting, nil); got != tc.want {
				t.Fatalf("Render = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	long := strings.Repeat("word ", 100) // 500 bytes
	tests := []struct {
		name     string
		in       string
		budget   int
		maxLines int
		want     []string
	}{
		{"fits", "hello world", 20, 4, []string{"hello world"}},
		{"word boundary", "aaaa bbbb cccc", 12, 4, []string{"aaaa bbbb", "cccc"}},
		{"hard cut of a long word", "abcdefghijklmnop", 10, 4, []string{"abcdefgh", "ijklmnop"}},
		{"cap with ellipsis", long, 30, 2, []string{"word word word word word", "word word word word word…"}},
		{"bold across break reopens", "\x02aaaa bbbb cccc\x02", 12, 4, []string{"\x02aaaa bbbb\x02", "\x02cccc\x02"}},
		{"empty", "", 10, 4, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Wrap(tc.in, tc.budget, tc.maxLines)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("Wrap = %q, want %q", got, tc.want)
			}
			for _, l := range got {
				if len(l) > tc.budget {
					t.Errorf("line %q is %d bytes, budget %d", l, len(l), tc.budget)
				}
			}
		})
	}
}

func TestWrapMultibyteCutsOnRuneBoundary(t *testing.T) {
	s := strings.Repeat("ü€😀", 60) // 540 bytes, no spaces
	budget := TextBudget("ksecbot", "PRIVMSG", "#gentoo-kernel")
	got := Wrap(s, budget, MaxWrapLines)
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2", len(got))
	}
	if strings.Join(got, "") != s {
		t.Fatalf("text lost or changed when wrapping")
	}
	for _, l := range got {
		if !utf8.ValidString(l) || len(l) > budget {
			t.Fatalf("bad line: valid=%v len=%d budget=%d", utf8.ValidString(l), len(l), budget)
		}
	}
}

func TestTextBudgetFitsLine(t *testing.T) {
	nick, target := "ksecbot", "#gentoo-kernel"
	b := TextBudget(nick, "PRIVMSG", target)
	text := strings.Repeat("x", b)
	// worst case prefix: 10-byte user, 63-byte host
	line := ":" + nick + "!" + strings.Repeat("u", 10) + "@" + strings.Repeat("h", 63) + " PRIVMSG " + target + " :" + text + "\r\n"
	if len(line) > maxLineBytes {
		t.Fatalf("relayed line is %d bytes, over %d", len(line), maxLineBytes)
	}
	if b < 350 {
		t.Fatalf("budget %d is needlessly small", b)
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ cm, in, want string }{
		{CaseRFC1459, "Nick[a]\\~", "nick{a}|^"},
		{CaseStrictRFC1459, "Nick[a]\\~", "nick{a}|~"},
		{"rfc1459-strict", "Nick[a]\\~", "nick{a}|~"},
		{CaseASCII, "Nick[a]\\~", "nick[a]\\~"},
		{"", "#Gentoo-Kernel", "#gentoo-kernel"},
	}
	for _, tc := range tests {
		if got := Fold(tc.cm, tc.in); got != tc.want {
			t.Errorf("Fold(%q, %q) = %q, want %q", tc.cm, tc.in, got, tc.want)
		}
	}
}

// FuzzRenderWrap checks the safety promise: whatever the untrusted text, each
// produced line is valid UTF-8, has no CR/LF/NUL/\x01, fits the budget and
// parses back as exactly one PRIVMSG with that text.
func FuzzRenderWrap(f *testing.F) {
	for _, s := range []string{"x\r\nQUIT :bye", "\x01DCC SEND\x01", strings.Repeat("ä", 300), "\x02\x0304,05c\xff\xfe", ""} {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, s string, budget int) {
		if budget < 16 || budget > 450 {
			budget = 16 + (budget%400+400)%400
		}
		lines := Wrap(Render(chat.Line{}.Bold("bug 1").Text(" "+s).Mention(chat.Highlight{Tree: s}), true, chat.NewNames(runeFolder(CaseRFC1459), s, "bug")), budget, MaxWrapLines)
		if len(lines) > MaxWrapLines {
			t.Fatalf("%d lines over the cap", len(lines))
		}
		for _, l := range lines {
			if !utf8.ValidString(l) || len(l) > budget || strings.ContainsAny(l, "\r\n\x00\x01") {
				t.Fatalf("unsafe line %q (budget %d)", l, budget)
			}
			msg := ircmsg.MakeMessage(nil, "", "PRIVMSG", "#c", l)
			raw, err := msg.LineBytesStrict(true, 512)
			if err != nil {
				t.Fatalf("line %q does not serialise: %v", l, err)
			}
			m, err := ircmsg.ParseLine(string(raw))
			if err != nil || m.Command != "PRIVMSG" || len(m.Params) != 2 || m.Params[1] != l {
				t.Fatalf("line %q round-trips as %#v (%v)", l, m, err)
			}
		}
	})
}
