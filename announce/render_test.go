// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/trees"
)

var (
	public  = chat.Channel{Key: "irc:#gentoo-kernel", Network: "irc", Name: "#gentoo-kernel"}
	private = chat.Channel{Key: "irc:#gentoo-security", Network: "irc", Name: "#gentoo-security", Private: true}
)

// The renderer takes the policy's judgement of a bug (policy.Seen); these
// ask the renderer's own policy first, as Intent and the commands do.
func newBug(r *Renderer, b *bugzilla.Bug, ch chat.Channel) (chat.Line, bool) {
	return r.NewBug(r.Policy.See(b, ch, policy.Announce))
}

func describe(r *Renderer, b *bugzilla.Bug, ch chat.Channel) chat.Line {
	return r.Describe(r.Policy.See(b, ch, policy.Describe))
}

func remind(r *Renderer, b *bugzilla.Bug, ch chat.Channel, age time.Duration) (chat.Line, bool) {
	return r.Remind(r.Policy.See(b, ch, policy.Remind), age)
}

func change(r *Renderer, kind, old, new string, b *bugzilla.Bug, ch chat.Channel) (chat.Line, bool) {
	return r.Change(kind, old, new, r.Policy.See(b, ch, policy.ChangeWhat(kind)))
}

func seenAll(r *Renderer, bugs []bugzilla.Bug, ch chat.Channel) []policy.Seen {
	out := make([]policy.Seen, len(bugs))
	for i := range bugs {
		out[i] = r.Policy.See(&bugs[i], ch, policy.Digest)
	}
	return out
}

func digest(r *Renderer, bugs []bugzilla.Bug, ch chat.Channel) (chat.Line, bool) {
	return r.Digest(seenAll(r, bugs, ch))
}

func digestDetail(r *Renderer, bugs []bugzilla.Bug, ch chat.Channel) []chat.Line {
	return r.DigestDetail(seenAll(r, bugs, ch))
}

func testRenderer() *Renderer {
	return NewRenderer("https://bugs.gentoo.org/", trees.New([]config.Tree{
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"mpagano"}, "matrix": {"@mpagano:gentoo.org"}}, Members: map[string][]string{"matrix": {"@mpagano:gentoo.org"}}},
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Handles: map[string][]string{"irc": {"blueness", "zorry"}}},
	}), RestrictedWithhold)
}

func TestNewBugHighlights(t *testing.T) {
	r := testRenderer()
	b := bugzilla.Bug{ID: 123456, Summary: "sys-kernel/hardened-sources: UAF in net/sched", Whiteboard: "A2 [upstream]", Alias: []string{"CVE-2026-1234"}, Severity: "major"}
	l, ok := newBug(r, &b, public)
	if !ok {
		t.Fatal("not announced")
	}
	got := l.Plain("irc")
	for _, want := range []string{"bug 123456", "[A2]", "CVE-2026-1234", "UAF in net/sched", "hardened: blueness zorry", "show_bug.cgi?id=123456"} {
		if !strings.Contains(got, want) {
			t.Errorf("announcement %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "mpagano") {
		t.Errorf("announcement %q highlights a tree the bug does not name", got)
	}
	// A bug naming no tree highlights every tree.
	b2 := bugzilla.Bug{ID: 2, Summary: "Linux kernel: overflow in io_uring"}
	l2, _ := newBug(r, &b2, public)
	if got := l2.Plain("irc"); !strings.Contains(got, "mpagano") || !strings.Contains(got, "blueness") {
		t.Errorf("announcement %q does not highlight all trees", got)
	}
	if got := l2.Plain("matrix"); !strings.Contains(got, "@mpagano:gentoo.org") {
		t.Errorf("matrix rendering %q lacks the Matrix ID", got)
	}
}

func TestRestrictedNeverLeaks(t *testing.T) {
	r := testRenderer()
	b := bugzilla.Bug{ID: 3, Summary: "sys-kernel/hardened-sources embargoed: secret details", Whiteboard: "A1 [embargoed]", Groups: []string{"security"}, Alias: []string{"CVE-2026-9999"}}
	for name, l := range map[string]chat.Line{
		"new":      must(newBug(r, &b, public)),
		"describe": describe(r, &b, public),
		"remind":   must(remind(r, &b, public, time.Hour)),
		"digest":   must(digest(r, []bugzilla.Bug{b}, public)),
		"change":   must(change(r, "resolved", "", "FIXED", &b, public)),
	} {
		got := l.Plain("irc")
		// No detail, no tree, no highlight: a public line about a
		// restricted bug must not say which tree the embargo concerns.
		for _, secret := range []string{"secret", "embargoed", "A1", "CVE-2026-9999", "hardened", "blueness", "zorry", "mpagano", "gentoo-sources"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s: public line %q leaks %q", name, got, secret)
			}
		}
	}
	if l, ok := change(r, "whiteboard", "A1", "A0", &b, public); ok {
		t.Errorf("grade change of a restricted bug announced publicly: %q", l.Plain("irc"))
	}
	full, _ := newBug(r, &b, private)
	if got := full.Plain("irc"); !strings.Contains(got, "secret details") || !strings.Contains(got, "hardened: blueness zorry") || strings.Contains(got, "mpagano") {
		t.Errorf("private channel does not get the details and the hardened highlights: %q", got)
	}
	r = NewRenderer(r.URL, r.Policy.Trees, RestrictedSkip)
	if _, ok := newBug(r, &b, public); ok {
		t.Error(`restricted = "skip" still announces publicly`)
	}
}

func must(l chat.Line, ok bool) chat.Line {
	if !ok {
		return chat.Line{}
	}
	return l
}

func TestCleanHostileText(t *testing.T) {
	long := strings.Repeat("ü", 5000) // 10 kB
	tests := []struct{ name, in string }{
		{"crlf quit", "x\r\nQUIT :bye\r\nPRIVMSG #x :pwned"},
		{"nul", "a\x00b"},
		{"ctcp", "\x01DCC SEND x\x01"},
		{"colours", "\x0304red\x0f \x02bold\x02 \x1ditalic \x16rev"},
		{"html", "<script>alert(1)</script>"},
		{"invalid utf8", "a\xff\xfeb\xc3"},
		{"10 kB", long},
		{"unicode separators", "a\u2028b\u2029c\u200bd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Clean(tc.in, maxSummary)
			if !utf8.ValidString(got) {
				t.Errorf("Clean(%q) = %q is not valid UTF-8", tc.in, got)
			}
			if len(got) > maxSummary {
				t.Errorf("Clean: %d bytes > %d", len(got), maxSummary)
			}
			for _, r := range got {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
					t.Errorf("Clean(%q) = %q keeps control %U", tc.in, got, r)
				}
			}
		})
	}
	if got := Clean("a  \n\n b", 100); got != "a b" {
		t.Errorf("whitespace not collapsed: %q", got)
	}
	if got := Clean(long, 11); got != "üüüü…" {
		t.Errorf("cut = %q", got)
	}
}

func TestGrade(t *testing.T) {
	for in, want := range map[string]string{
		"A2 [upstream]": "A2", "B3": "B3", "~4 [noglsa]": "~4", "C1? [ebuild]": "C1",
		"": "", "[linux <6.6.60]": "", "A9": "", "Ab": "", "A2x": "",
	} {
		if got := Grade(in); got != want {
			t.Errorf("Grade(%q) = %q, want %q", in, got, want)
		}
	}
	if !Urgent("A0 [upstream]") || !Urgent("A2") || Urgent("A3") || Urgent("B1") {
		t.Error("Urgent wrong")
	}
}

func FuzzClean(f *testing.F) {
	f.Add("x\r\nQUIT", 50)
	f.Add("\xff\xfe", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 4 || max > 1000 {
			return
		}
		got := Clean(s, max)
		if len(got) > max || !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x00\x01") {
			t.Fatalf("Clean(%q, %d) = %q", s, max, got)
		}
	})
}

// A burst of any size renders as one digest line whose link fits an IRC
// line, and a bounded list for Matrix (events are limited to 65 kB).
func TestDigestOfAHugeBurstStaysSmall(t *testing.T) {
	r := testRenderer()
	var bugs []bugzilla.Bug
	for i := 0; i < 300; i++ {
		bugs = append(bugs, bugzilla.Bug{ID: 100000 + i, Summary: strings.Repeat("long summary ", 30)})
	}
	l, ok := digest(r, bugs, public)
	if !ok {
		t.Fatal("no digest")
	}
	for _, s := range l {
		if s.Kind == chat.SpanLink && len(s.URL) > 400 {
			t.Errorf("digest link of %d bytes cannot fit an IRC line", len(s.URL))
		}
	}
	text := l.Plain("irc")
	if !strings.Contains(text, "300 new kernel security bugs") || !strings.Contains(text, "+288 more") {
		t.Errorf("digest = %q", text)
	}
	detail := digestDetail(r, bugs, public)
	if len(detail) != maxDetail+1 || !strings.Contains(detail[maxDetail].Plain("irc"), "and 275 more") {
		t.Errorf("detail has %d lines, last %q", len(detail), detail[len(detail)-1].Plain("irc"))
	}
}

// TestCVEAliasNotRepeated checks that a CVE id that is both the bug's
// alias and part of its summary is printed once, and an alias the summary
// does not name is still shown.
func TestCVEAliasNotRepeated(t *testing.T) {
	r := testRenderer()
	b := bugzilla.Bug{ID: 7, Summary: "Linux kernel: use-after-free in nf_tables (CVE-2026-1234)", Alias: []string{"CVE-2026-1234"}}
	l, _ := newBug(r, &b, private)
	if got := l.Plain("irc"); strings.Count(got, "CVE-2026-1234") != 1 {
		t.Errorf("announcement %q names the CVE %d times, want once", got, strings.Count(got, "CVE-2026-1234"))
	}
	b.Summary = "Linux kernel: use-after-free in nf_tables"
	l, _ = newBug(r, &b, private)
	if got := l.Plain("irc"); strings.Count(got, "CVE-2026-1234") != 1 {
		t.Errorf("announcement %q names the alias %d times, want once", got, strings.Count(got, "CVE-2026-1234"))
	}
}

// TestRendererPolicy: a renderer decides with the one policy it was built
// with (NewRenderer, once per configuration), and a renderer without one
// fails closed: restricted bugs withheld everywhere but private channels,
// no highlights.
func TestRendererPolicy(t *testing.T) {
	r := testRenderer()
	p := r.Policy
	if p == nil || p.Restricted != RestrictedWithhold || p.Trees == nil {
		t.Fatalf("NewRenderer policy = %+v", p)
	}
	b := &bugzilla.Bug{ID: 5, Summary: "sys-kernel/hardened-sources: SECRET", Groups: []string{"security"}}
	skip := NewRenderer(r.URL, p.Trees, RestrictedSkip)
	if _, ok := newBug(skip, b, public); ok {
		t.Error(`restricted = "skip" renderer announces a restricted bug publicly`)
	}
	if l := must(newBug(r, b, private)); !strings.Contains(l.Plain("irc"), "hardened: blueness zorry") {
		t.Errorf("private line without the policy's highlights: %q", l.Plain("irc"))
	}
	bare := &Renderer{URL: r.URL}
	if got := must(newBug(bare, b, public)).Plain("irc"); strings.Contains(got, "SECRET") || !strings.Contains(got, "details withheld") {
		t.Errorf("renderer without a policy, public channel: %q", got)
	}
	if got := must(newBug(bare, &bugzilla.Bug{ID: 6, Summary: "sys-kernel/hardened-sources: public"}, public)).Plain("irc"); strings.Contains(got, "blueness") {
		t.Errorf("renderer without a policy highlights: %q", got)
	}
}
