// SPDX-License-Identifier: GPL-3.0-or-later

package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NoPing is the one invisible character a transport puts after the first
// letter of a name that a line must not highlight: U+1160 HANGUL JUNGSEONG
// FILLER. It has no width (wcwidth 0) and is a letter, so every client
// that looks for a name as a whole word sees one longer word: WeeChat
// counts alphanumerics as word characters, irssi anything but ASCII space
// and punctuation, HexChat letters, Synapse's push rules \w. "e"+NoPing+"ve"
// then matches neither "eve" nor a one-letter nick "e". A format character
// such as the zero-width joiner would be a word break for WeeChat and
// HexChat: "e" and "ve" would be whole words and ping people named so.
const NoPing = '\u1160'

// Names is a set of names that text must not contain as whole words: the
// nicks of an IRC channel's members, the display names and user names of
// a Matrix room's members, and maintainers a line does not mean to ping.
// Names compare under Fold (the network's case mapping). The zero value
// and nil hold no name. Not safe for concurrent Add.
type Names struct {
	fold    func(rune) rune
	byFirst map[rune][][]rune // folded first rune -> folded names
	n       int
}

// NewNames returns a set of names compared under fold (nil: unicode.ToLower).
func NewNames(fold func(rune) rune, names ...string) *Names {
	if fold == nil {
		fold = unicode.ToLower
	}
	n := &Names{fold: fold, byFirst: map[rune][][]rune{}}
	n.Add(names...)
	return n
}

// Add adds names; empty ones and names already there are ignored.
func (n *Names) Add(names ...string) {
	for _, s := range names {
		if s == "" {
			continue
		}
		f := make([]rune, 0, len(s))
		for _, r := range s {
			f = append(f, n.fold(r))
		}
		if n.has(f) {
			continue
		}
		n.byFirst[f[0]] = append(n.byFirst[f[0]], f)
		n.n++
	}
}

func (n *Names) has(f []rune) bool {
	for _, g := range n.byFirst[f[0]] {
		if string(g) == string(f) {
			return true
		}
	}
	return false
}

// Len returns how many names the set holds.
func (n *Names) Len() int {
	if n == nil {
		return 0
	}
	return n.n
}

// Quiet returns s with NoPing after the first letter of every whole-word
// occurrence of a name (see Break); every other byte is left as it was.
// A word is whole when the characters around it are not letters or digits
// (the narrowest word of the clients in NoPing's comment, so that any of
// them that would match, does not). URLs ("scheme://...") are left whole:
// a character inside one would break the link.
func (n *Names) Quiet(s string) string { return n.quietIn(0, s, 0) }

// quietIn is Quiet for text between the runes before and after (0: none),
// for a span of a line whose neighbours decide its word boundaries.
func (n *Names) quietIn(before rune, s string, after rune) string {
	if n.Len() == 0 || s == "" {
		return s
	}
	rs := make([]rune, 0, len(s))
	offs := make([]int, 0, len(s)+1) // byte offset of each rune: bytes are kept as they are, invalid UTF-8 too
	for i, r := range s {
		rs, offs = append(rs, r), append(offs, i)
	}
	offs = append(offs, len(s))
	skip := urlRunes(rs)
	cut := make([]bool, len(rs)+1) // NoPing goes before rune i
	cuts := 0
	for i := range rs {
		prev := before
		if i > 0 {
			prev = rs[i-1]
		}
		if skip[i] || wordRune(prev) {
			continue
		}
		for _, name := range n.byFirst[n.fold(rs[i])] {
			end := i + len(name)
			if end > len(rs) || !n.matchAt(rs, i, name) {
				continue
			}
			next := after
			if end < len(rs) {
				next = rs[end]
			}
			if wordRune(next) || skip[end-1] {
				continue
			}
			c := i + 1
			for c < end && unicode.IsMark(rs[c]) {
				c++ // after the whole first letter, accents included
			}
			if !cut[c] {
				cut[c] = true
				cuts++
			}
		}
	}
	if cuts == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + cuts*utf8.RuneLen(NoPing))
	for i := range rs {
		if cut[i] {
			b.WriteRune(NoPing)
		}
		b.WriteString(s[offs[i]:offs[i+1]])
	}
	if cut[len(rs)] {
		b.WriteRune(NoPing)
	}
	return b.String()
}

func (n *Names) matchAt(rs []rune, i int, name []rune) bool {
	for j, r := range name {
		if n.fold(rs[i+j]) != r {
			return false
		}
	}
	return true
}

// Break puts NoPing after the first letter of name: what Quiet does to
// each occurrence of a name, for a handle written on purpose but not to
// ping (a nick already highlighted earlier in the line).
func Break(name string) string {
	if name == "" {
		return name
	}
	_, size := utf8.DecodeRuneInString(name)
	for size < len(name) {
		r, n := utf8.DecodeRuneInString(name[size:])
		if !unicode.IsMark(r) {
			break
		}
		size += n
	}
	return name[:size] + string(NoPing) + name[size:]
}

// wordRune reports whether r continues a word for name matching: letters
// (NoPing included) and digits. 0 is "no rune": a boundary.
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// urlRunes marks the runes of s that belong to a URL: a scheme of letters,
// digits, "+", "-" and "." starting with a letter, "://", and everything up
// to the next space or character that cannot be in a URL (RFC 3986: <>"
// {}|\^`).
func urlRunes(rs []rune) []bool {
	skip := make([]bool, len(rs)+1)
	for i := 0; i+2 < len(rs); i++ {
		if rs[i] != ':' || rs[i+1] != '/' || rs[i+2] != '/' {
			continue
		}
		start := i
		for start > 0 && schemeRune(rs[start-1]) {
			start--
		}
		for start < i && !isASCIILetter(rs[start]) {
			start++
		}
		if start == i {
			continue // "://" without a scheme
		}
		end := i + 3
		for end < len(rs) && !unicode.IsSpace(rs[end]) && !strings.ContainsRune("<>\"{}|\\^`", rs[end]) {
			end++
		}
		for j := start; j < end; j++ {
			skip[j] = true
		}
		i = end - 1
	}
	return skip
}

func schemeRune(r rune) bool {
	return isASCIILetter(r) || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// Quieted returns a copy of l in which names cannot highlight anyone:
// the text of every span through names.Quiet, the neighbouring spans (as
// rendered for network) deciding word boundaries at its ends, and the tree
// label of every mention too ("hardened: hmaint" must not ping a member
// named hardened). The handles of mentions, the people the line means to
// ping, and links are left alone. Sanitise first: Quiet decides words on
// the text as it will be sent.
func (l Line) Quieted(network string, names *Names) Line {
	if names.Len() == 0 {
		return l
	}
	texts := make([]string, len(l))
	for i, s := range l {
		texts[i] = Line{s}.Plain(network)
	}
	lastOf := func(i int) rune {
		for ; i >= 0; i-- {
			if r, _ := utf8.DecodeLastRuneInString(texts[i]); texts[i] != "" {
				return r
			}
		}
		return 0
	}
	firstOf := func(i int) rune {
		for ; i < len(texts); i++ {
			if r, _ := utf8.DecodeRuneInString(texts[i]); texts[i] != "" {
				return r
			}
		}
		return 0
	}
	out := make(Line, len(l))
	for i, s := range l {
		switch s.Kind {
		case SpanLink:
		case SpanMention:
			if s.Highlight != nil && s.Highlight.Tree != "" {
				h := *s.Highlight
				after := firstOf(i + 1)
				if len(h.Handles[network]) > 0 {
					after = ':'
				}
				h.Tree = names.quietIn(lastOf(i-1), h.Tree, after)
				s.Highlight = &h
			}
		default:
			s.Text = names.quietIn(lastOf(i-1), s.Text, firstOf(i+1))
		}
		out[i] = s
	}
	return out
}
