// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// TestErrorReplies: every command's reply to arguments it cannot use names
// the argument and what is wrong with it, then the usage with the
// configured prefix; nothing is written to Bugzilla.
func TestErrorReplies(t *testing.T) {
	tests := []struct {
		text string
		want string // the whole reply
	}{
		{"!bug", "Which bug? Give its number; usage: !bug <id>."},
		{"!bug ３", "'３' is not a bug number: write it with the digits 0-9; usage: !bug <id>."},
		{"!bug 0", "'0' is not a bug number: bug numbers start at 1; usage: !bug <id>."},
		{"!bug #000", "'#000' is not a bug number: bug numbers start at 1; usage: !bug <id>."},
		{"!bug abc", "'abc' is not a bug number; usage: !bug <id>."},
		{"!bug -5", "'-5' is not a bug number; usage: !bug <id>."},
		{"!bug 1234567890", "'1234567890' is not a bug number: it has more than 9 digits; usage: !bug <id>."},
		{"!bug 1 2", "One bug at a time, not 2; usage: !bug <id>."},
		{"!claim abc", "'abc' is not a bug number; usage: !claim [--force] [bug]."},
		{"!claim ３", "'３' is not a bug number: write it with the digits 0-9; usage: !claim [--force] [bug]."},
		{"!claim 0", "'0' is not a bug number: bug numbers start at 1; usage: !claim [--force] [bug]."},
		{"!claim --frce 5", "There is no option '--frce' (only --force); usage: !claim [--force] [bug]."},
		{"!claim 5 6", "One bug at a time; usage: !claim [--force] [bug]."},
		{"!unclaim", "Which bug? Give its number; usage: !unclaim <bug>."},
		{"!unclaim abc", "'abc' is not a bug number; usage: !unclaim <bug>."},
		{"!unclaim 5 6", "One bug at a time; usage: !unclaim <bug>."},
		{"!cc", "Whom? Give tree names or Bugzilla logins; usage: !cc <tree-or-login>[,...] [bug]."},
		{"!cc hardened 0", "'0' is not a bug number: bug numbers start at 1; usage: !cc <tree-or-login>[,...] [bug]."},
		{"!cc hardened #x", "'#x' is not a bug number; usage: !cc <tree-or-login>[,...] [bug]."},
		{"!cc 12345", "Whom? '12345' is a bug number; name the trees or logins first; usage: !cc <tree-or-login>[,...] [bug]."},
		{"!cc hardened,nosuch 5", "I know no tree 'nosuch' and it is not a Bugzilla login; !trees lists the tree names and aliases."},
		{"!pending nosuch", "I know no tree 'nosuch'; !trees lists the names and aliases."},
		{"!pending hardened mips", "Give one tree at most, not 2 words; usage: !pending [tree]."},
		{"!mine all", "'all' is not needed: !mine takes no argument and lists the bugs assigned to you; usage: !mine."},
		{"!snooze", "Which bug, and for how long? E.g. !snooze 123456 2h; usage: !snooze <bug> <duration>."},
		{"!snooze 5", "For how long? Give a duration after the bug, e.g. 2h or 3d; usage: !snooze <bug> <duration>."},
		{"!snooze abc 2h", "'abc' is not a bug number; usage: !snooze <bug> <duration>."},
		{"!snooze 0 2h", "'0' is not a bug number: bug numbers start at 1; usage: !snooze <bug> <duration>."},
		{"!snooze 5 forever", "'forever' is not a duration between 1m and 30d (e.g. 2h or 3d); usage: !snooze <bug> <duration>."},
		{"!snooze 5 90d", "'90d' is not a duration between 1m and 30d (e.g. 2h or 3d); usage: !snooze <bug> <duration>."},
		{"!snooze 5 2h x", "One bug and one duration, not 3 words; usage: !snooze <bug> <duration>."},
		{"!stats abc", "'abc' is not a number of days from 1 to 3650; usage: !stats [days]."},
		{"!stats 0", "'0' is not a number of days from 1 to 3650; usage: !stats [days]."},
		{"!stats 7 8", "Give at most one number of days; usage: !stats [days]."},
		{"!cve", "Give one CVE id or bug number; usage: !cve <CVE-id|bug>."},
		{"!help frob", "No command !frob; commands: !bug !pending !mine !claim !unclaim !cc !cve !exposure !trees !whoami !help !snooze !stats."},
	}
	e := newEnv(t, "key-ksecbot")
	e.bug(kernelBug("sys-kernel/hardened-sources: flaw"))
	e.clk.Advance(time.Minute)
	for _, tc := range tests {
		puts := e.puts()
		// alice has the security role: every refusal here is about the
		// arguments, not her rights.
		got := text(e.say(idAlice, chPrivate, tc.text))
		if got != tc.want {
			t.Errorf("%s\n got: %q\nwant: %q", tc.text, got, tc.want)
		}
		if n := e.puts() - puts; n != 0 {
			t.Errorf("%s: %d PUT requests", tc.text, n)
		}
	}

	// !cve with kernel CVE data: a malformed id gets "no record", as an id
	// the CNA has not published; other words are neither.
	c := cveEnv(t)
	for _, tc := range []struct{ text, want string }{
		{"!cve CVE-2099-1", "CVE-2099-1: no record in the kernel CNA's vulns repository; a CVE id reads CVE-YYYY-NNNN: a 4-digit year, then 4 to 7 digits."},
		{"!cve CVE-2099-0001", "CVE-2099-0001: no record in the kernel CNA's vulns repository (not a kernel CVE, or not published yet)."},
		{"!cve abc", "'abc' is neither a CVE id nor a bug number; usage: !cve <CVE-id|bug>."},
		{"!cve ３", "'３' is not a bug number: write it with the digits 0-9; usage: !cve <CVE-id|bug>."},
		{"!cve 0", "'0' is not a bug number: bug numbers start at 1; usage: !cve <CVE-id|bug>."},
	} {
		if got := text(c.say(idCarol, chPublic, tc.text)); got != tc.want {
			t.Errorf("%s\n got: %q\nwant: %q", tc.text, got, tc.want)
		}
	}
}

// TestUsageUsesPrefix: usage lines carry the configured prefix, for every
// command.
func TestUsageUsesPrefix(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	e.cfg.Commands.Prefix = "ksec:"
	e.r = New(Deps{Config: e.cfg, Store: e.st, Bugzilla: e.bz, Now: e.clk.Now, Logger: e.r.log, RateBurst: 1000, RateEvery: time.Millisecond})
	for text, want := range map[string]string{
		"ksec:stats x":        "usage: ksec:stats [days].",
		"ksec:snooze x 2h":    "usage: ksec:snooze <bug> <duration>.",
		"ksec:snooze":         "E.g. ksec:snooze 123456 2h",
		"ksec:bug x":          "usage: ksec:bug <id>.",
		"ksec:claim x":        "usage: ksec:claim [--force] [bug].",
		"ksec:pending a b":    "usage: ksec:pending [tree].",
		"ksec:mine x":         "ksec:mine takes no argument",
		"ksec:pending nosuch": "ksec:trees lists",
		"ksec:help snooze":    "e.g. ksec:snooze 123456 2h",
	} {
		got := strings.Join(e.r.Handle(e.ctx, chat.Incoming{Channel: chPrivate, Target: chPrivate.Name, Sender: idAlice, Text: text})[0].Plain("irc"), "\n")
		if !strings.Contains(got, want) || strings.Contains(got, "!") {
			t.Errorf("%s = %q, want %q and no '!'", text, got, want)
		}
	}
}

// TestBugNumber: what counts as a bug number, and what is said of the
// rest.
func TestBugNumber(t *testing.T) {
	for _, tc := range []struct {
		in      string
		id      int
		problem string
	}{
		{"123", 123, ""}, {"#123", 123, ""}, {"000123", 123, ""}, {"999999999", 999999999, ""},
		{"", 0, ""}, {"#", 0, ""}, {"abc", 0, ""}, {"12a", 0, ""}, {"-1", 0, ""}, {"+1", 0, ""}, {"1.5", 0, ""},
		{"0", 0, ": bug numbers start at 1"}, {"#0", 0, ": bug numbers start at 1"},
		{"1234567890", 0, ": it has more than 9 digits"},
		{"３", 0, ": write it with the digits 0-9"}, {"١٢٣", 0, ": write it with the digits 0-9"}, {"1３", 0, ": write it with the digits 0-9"},
	} {
		id, problem := bugNumber(tc.in)
		if id != tc.id || problem != tc.problem {
			t.Errorf("bugNumber(%q) = %d, %q; want %d, %q", tc.in, id, problem, tc.id, tc.problem)
		}
	}
}

// FuzzBugNumber: a bug number is accepted only as 1 to 9 ASCII digits
// (after an optional '#') that are not all zero, and then it is their
// value; anything else gets id 0.
func FuzzBugNumber(f *testing.F) {
	for _, s := range []string{"123", "#123", "0", "#", "３", "1234567890", "-1", "+1", "0x10", "١٢٣", "\x00", "#999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, problem := bugNumber(s)
		if id == 0 {
			return
		}
		d := strings.TrimPrefix(s, "#")
		if problem != "" || id < 1 || id > 999999999 || len(d) > 9 || strings.TrimLeft(d, "0") != strconv.Itoa(id) {
			t.Fatalf("bugNumber(%q) = %d, %q", s, id, problem)
		}
	})
}
