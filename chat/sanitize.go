// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircfmt"
	"github.com/ergochat/irc-go/ircmsg"
)

// Sanitize makes untrusted text (from Bugzilla or from a chat network) safe
// for one line of any chat network. It is the one sanitiser every transport
// and the renderers use:
//
//   - invalid UTF-8 becomes U+FFFD;
//   - IRC formatting (bold, italics, underline, reverse, reset, monospace,
//     strike) is removed, and colour codes with their parameters
//     ("\x0304,01", "\x04ff0000"), so "\x0304red" becomes "red";
//   - white space (space, tab, CR, LF, NEL, no-break space, U+2028/U+2029)
//     becomes one space; runs collapse and the ends are trimmed;
//   - every other control character (NUL, \x01 of CTCP, DEL, C1) is
//     dropped, as are the invisible characters that reorder or hide text:
//     every bidi control (U+061C, U+200E/U+200F, U+202A..U+202E,
//     U+2066..U+2069; see bidiControl) and the byte order mark U+FEFF. A
//     control byte is not a word break: "a\x00b" becomes "ab".
//
// Other format characters (zero-width joiner and non-joiner) are kept: they
// join emoji and shape scripts that need them.
func Sanitize(s string) string {
	s = stripFormatting(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case dropped(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// dropped reports whether Sanitize drops r: control characters other than
// white space, bidi controls and the byte order mark.
func dropped(r rune) bool {
	return unicode.IsControl(r) || bidiControl(r) || r == '\uFEFF'
}

// bidiControl reports whether r is one of Unicode's bidi controls
// (Bidi_Control): the Arabic letter mark U+061C, the left-to-right and
// right-to-left marks U+200E/U+200F, the embeddings and overrides
// U+202A..U+202E and the isolates U+2066..U+2069. They are invisible and
// reorder the text around them, so a summary could show one thing and
// say another.
func bidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// Clean is Sanitize cut to at most max bytes on a rune boundary, with "…"
// when cut.
func Clean(s string, max int) string {
	s = Sanitize(s)
	if len(s) <= max {
		return s
	}
	// ircmsg.TruncateUTF8Safe needs room for a whole rune (with less it
	// can slice before the start); a shorter max leaves only "…" anyway.
	out := ""
	if max >= utf8.UTFMax {
		out = strings.TrimRight(ircmsg.TruncateUTF8Safe(s, max), " ")
	}
	// make room for the ellipsis
	for len(out)+len("…") > max && len(out) > 0 {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out + "…"
}

// stripFormatting removes IRC formatting (bold, italics, underline,
// reverse, reset, monospace, strike) and colour codes with their
// parameters ("\x0304,01", "\x04ff0000"), so "\x0304red" becomes "red".
// irc-go's ircfmt.Strip knows every code but the hex colour \x04, so the
// text between hex colours goes through it.
func stripFormatting(s string) string {
	if !strings.ContainsAny(s, "\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, 0x04)
		if i < 0 {
			b.WriteString(ircfmt.Strip(s))
			return b.String()
		}
		b.WriteString(ircfmt.Strip(s[:i]))
		s = s[i+1:]
		s = s[colourParams(s, isHex, 6):]
	}
}

// colourParams returns the length of a colour code's "fg[,bg]" parameters
// at the start of s: up to n characters matching ok, optionally followed by
// a comma and up to n more.
func colourParams(s string, ok func(byte) bool, n int) int {
	run := func(from int) int {
		j := from
		for j < len(s) && j-from < n && ok(s[j]) {
			j++
		}
		return j
	}
	fg := run(0)
	if fg == 0 {
		return 0
	}
	if fg < len(s) && s[fg] == ',' {
		if bg := run(fg + 1); bg > fg+1 {
			return bg
		}
	}
	return fg
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }

// SanitizeSpan is Sanitize for one span of a line: it keeps one leading
// and one trailing space when the text had white space there, so that
// "id" + " summary" stays readable once the spans are joined.
func SanitizeSpan(s string) string {
	out := Sanitize(s)
	if out == "" {
		if s != "" && strings.TrimSpace(s) == "" {
			return " "
		}
		return ""
	}
	if r, _ := utf8.DecodeRuneInString(s); unicode.IsSpace(r) {
		out = " " + out
	}
	if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
		out += " "
	}
	return out
}

// Sanitized returns a copy of l with the text and URL of every span
// through SanitizeSpan, and the tree and handles of every mention through
// Sanitize: what a transport renders.
func (l Line) Sanitized() Line {
	out := make(Line, len(l))
	for i, sp := range l {
		sp.Text = SanitizeSpan(sp.Text)
		sp.URL = Sanitize(sp.URL)
		if sp.Highlight != nil {
			h := Highlight{Tree: Sanitize(sp.Highlight.Tree), Handles: make(map[string][]string, len(sp.Highlight.Handles))}
			for net, ids := range sp.Highlight.Handles {
				clean := make([]string, 0, len(ids))
				for _, id := range ids {
					if id = Sanitize(id); id != "" {
						clean = append(clean, id)
					}
				}
				h.Handles[net] = clean
			}
			sp.Highlight = &h
		}
		out[i] = sp
	}
	return out
}
