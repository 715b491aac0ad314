// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"unicode"
)

// zwj is the ZERO WIDTH JOINER that Dehighlight puts inside words: it is
// invisible, but a name with it inside no longer matches as a word.
const zwj = '\u200d'

// Dehighlight makes text unable to highlight anyone: inside every
// nick-like word it puts a zero-width joiner between each two characters
// (not between two digits), so the text looks the same but no IRC nick or
// Matrix user name of two or more characters matches a whole word, or
// even a substring, whatever a client or homeserver takes for word
// boundaries. A joiner after only the first character would not do:
// clients that end words at the joiner would still find "alice" in
// "x\u200dalice". Numbers and CVE ids are left whole (no nick starts with a
// digit); a name of one character can still match.
func Dehighlight(s string) string {
	if s == "" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 3)
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !isNickRune(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isNickRune(rs[j]) {
			j++
		}
		writeDehighlighted(&b, rs[i:j])
		i = j
	}
	return b.String()
}

// isNickRune reports whether r may appear in an IRC nick (RFC 2812 plus
// the letters and digits of UTF-8 nicks).
func isNickRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-[]\\`^_{|}", r)
}

// writeDehighlighted writes one nick-like word with a joiner between each
// two runes that are not both digits.
func writeDehighlighted(b *strings.Builder, w []rune) {
	cve := isCVE(w)
	for k, r := range w {
		b.WriteRune(r)
		if k+1 < len(w) && !cve && !(unicode.IsDigit(r) && unicode.IsDigit(w[k+1])) {
			b.WriteRune(zwj)
		}
	}
}

// isCVE reports whether w is a CVE id ("CVE-2024-12345").
func isCVE(w []rune) bool {
	s := strings.ToUpper(string(w))
	rest, ok := strings.CutPrefix(s, "CVE-")
	if !ok {
		return false
	}
	year, num, ok := strings.Cut(rest, "-")
	if !ok || len(year) != 4 || len(num) < 4 {
		return false
	}
	for _, c := range year + num {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PlainQuiet renders the line like Plain, but with quoted (Bugzilla) spans
// de-highlighted (see Dehighlight): for the text a homeserver or client
// matches names against, such as a Matrix event's body.
func (l Line) PlainQuiet(network string) string {
	q := make(Line, len(l))
	for i, s := range l {
		if s.Quoted {
			s.Text = Dehighlight(s.Text)
		}
		q[i] = s
	}
	return q.Plain(network)
}
