// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"testing"
)

func TestDehighlight(t *testing.T) {
	z := "\u200d"
	for _, tc := range []struct{ in, want string }{
		{"alice", "a" + z + "l" + z + "i" + z + "c" + z + "e"},
		{"a", "a"},
		{"6.6.60 in 2024", "6.6.60 i" + z + "n 2024"},
		{"CVE-2024-12345 cve-2025-0001", "CVE-2024-12345 cve-2025-0001"},
		{"sys/x-1", "s" + z + "y" + z + "s/x" + z + "-" + z + "1"},
		{"[b]|", "[" + z + "b" + z + "]" + z + "|"},
		{"6ab", "6" + z + "a" + z + "b"},
		{"ça va", "ç" + z + "a v" + z + "a"},
	} {
		if got := Dehighlight(tc.in); got != tc.want {
			t.Errorf("Dehighlight(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := strings.ReplaceAll(Dehighlight(tc.in), "\u200d", ""); got != tc.in {
			t.Errorf("Dehighlight(%q) changed more than joiners: %q", tc.in, got)
		}
	}
}

func TestPlainQuiet(t *testing.T) {
	l := Line{}.Text("New bug: ").Quote("alice").Text(" | ").Mention(Highlight{Tree: "t", Handles: map[string][]string{"matrix": []string{"@bob:x"}}})
	if got, want := l.PlainQuiet("matrix"), "New bug: a\u200dl\u200di\u200dc\u200de | t: @bob:x"; got != want {
		t.Errorf("PlainQuiet = %q, want %q", got, want)
	}
	if got := l.Plain("matrix"); got != "New bug: alice | t: @bob:x" {
		t.Errorf("Plain = %q", got)
	}
}
