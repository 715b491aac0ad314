// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"testing"
	"unicode"
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
		"nul\x00byte":                   "nulbyte",
		"\x01ACTION waves\x01":          "ACTION waves",
	} {
		if got := Clean(in, 100); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSanitize is the one sanitiser's documented behaviour (the IRC
// transport, the Matrix and console transports and the renderers all use
// it).
func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "kernel: fix UAF in io_uring", "kernel: fix UAF in io_uring"},
		{"crlf injection", "x\r\nQUIT :bye", "x QUIT :bye"},
		{"nul and ctcp", "a\x00b\x01DCC SEND x\x01", "abDCC SEND x"},
		{"formatting", "\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f", "bold red italic"},
		{"hex colour", "\x04ff0000,00ff00x", "x"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"tabs and runs of spaces", " a\t\tb   c ", "a b c"},
		{"bidi override", "abc\u202Edef", "abcdef"},
		{"bidi isolate and mark", "a\u2067b\u200Fc", "abc"},
		{"arabic letter mark", "CVE\u061C-2024-1", "CVE-2024-1"},
		{"every bidi control", "a\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069b", "ab"},
		{"byte order mark", "\uFEFFx", "x"},
		{"c1 next line is a space", "a\u0085b", "a b"},
		{"c1 control dropped", "a\u009bb", "ab"},
		{"line separators", "a\u2028b\u2029c", "a b c"},
		{"zero-width joiner kept", "ali\u200dce", "ali\u200dce"},
		{"colour without digits", "\x03,x", ",x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sanitize(tc.in); got != tc.want {
				t.Fatalf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("\x0304,01x\xff\r\n\u202e\x00 a  b ")
	f.Add("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\t\x00\x01\x02\x03\x04\x0f\x16\x1d\x1f\ufeff") ||
			strings.Contains(got, "  ") || strings.TrimSpace(got) != got {
			t.Fatalf("Sanitize(%q) = %q", s, got)
		}
		for _, r := range got {
			if unicode.Is(unicode.Bidi_Control, r) || unicode.IsControl(r) {
				t.Fatalf("Sanitize(%q) = %q keeps %U", s, got, r)
			}
		}
		if again := Sanitize(got); again != got {
			t.Fatalf("Sanitize is not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
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
