// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanStripsFormatting(t *testing.T) {
	for in, want := range map[string]string{
		"\x0304red\x03 plain":           "red plain",
		"\x0304,01red on black\x0f end": "red on black end",
		"\x02bold\x02 \x1ditalic\x1d":   "bold italic",
		"\x03,05comma stays":            ",05comma stays",
		"\x04ff0000hex":                 "hex",
		"100\x0312345":                  "100345",
		"a\r\nQUIT :x":                  "a QUIT :x",
		"nul\x00byte":                   "nul byte",
		"\x01ACTION waves\x01":          "ACTION waves",
	} {
		if got := Clean(in, 100); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCleanChat(f *testing.F) {
	f.Add("\x0304,01x\xff\r\n", 20)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 4 || max > 600 {
			return
		}
		got := Clean(s, max)
		if len(got) > max || !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x00\x01\x02\x03\x04\x0f\x16\x1d\x1f") {
			t.Fatalf("Clean(%q, %d) = %q", s, max, got)
		}
	})
}
