// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// escapeWriter writes text with every control character except the
// newline and the tab (C0, DEL, C1, bidi overrides) and every byte of
// invalid UTF-8 shown as an escape (\x1b, \u009b): a hostile mail or file
// cannot drive the terminal through a message that quotes it.
type escapeWriter struct{ w io.Writer }

// Write escapes p and writes it in one call; it reports len(p) on success.
func (e escapeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, escapeControl(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// escapeControl returns s with control characters (but "\n" and "\t") and invalid
// UTF-8 escaped.
func escapeControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n', r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, r == '\u2028', r == '\u2029', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
