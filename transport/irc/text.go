// SPDX-License-Identifier: GPL-3.0-or-later

package irc

// This file holds the protocol-free text handling of the IRC transport:
// rendering chat lines (untrusted text through chat.Sanitize, the one
// sanitiser of every transport), wrapping to the IRC line budget and
// nick/channel casemapping. Everything here is pure.

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
)

// fmtBold is the IRC bold toggle; chat.Sanitize strips it and the other
// formatting codes from untrusted text.
const fmtBold = '\x02'

// maxLineBytes is the IRC line limit including CR LF.
const maxLineBytes = 512

// prefixReserve is what the server adds in front of a relayed message
// besides our nick: "!" + user (up to 10, with "~") + "@" + host (assumed at
// most 63 bytes) + ":" + " ".
const prefixReserve = 1 + 1 + 10 + 1 + 63 + 1

// TextBudget returns how many bytes of message text fit in one line sent as
// "<command> <target> :<text>" by nick, after the server prefixed it with
// ":nick!user@host ".
func TextBudget(nick, command, target string) int {
	n := maxLineBytes - 2 - prefixReserve - len(nick) - len(command) - 1 - len(target) - 2
	if n < 16 {
		n = 16
	}
	return n
}

// Render turns a chat line into one IRC text (before wrapping). Untrusted
// text is sanitised; bold spans get \x02 when formatting is on; mentions
// become the tree's IRC nicks. Only mentions highlight: in every other
// span, and in the tree labels of mentions, a whole word that is in quiet
// (the channel's members and the maintainers the line does not mention,
// see Transport.quietFor) gets chat.NoPing after its first letter
// (chat.Line.Quieted); every other byte is sent as it is. A nick already
// mentioned earlier in the line is written with chat.NoPing too, so each
// person is pinged at most once per line.
func Render(l chat.Line, formatting bool, quiet *chat.Names) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, sp := range l.Sanitized().Quieted(Name, quiet) {
		s := sp.Text
		switch sp.Kind {
		case chat.SpanMention:
			s = mentionText(sp.Highlight, seen)
		case chat.SpanLink:
			if sp.URL != "" {
				s = sp.URL
			}
		}
		if sp.Kind == chat.SpanBold && formatting && s != "" {
			b.WriteByte(fmtBold)
			b.WriteString(s)
			b.WriteByte(fmtBold)
			continue
		}
		if c := severityColour(sp); c != "" && formatting && s != "" {
			b.WriteString("\x03" + c + s + "\x03")
			continue
		}
		b.WriteString(s)
	}
	return tidySpaces(b.String())
}

// tidySpaces collapses double spaces that joining spans may create and
// trims the ends, leaving our own \x02 codes alone.
func tidySpaces(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return strings.TrimSpace(s)
}

// ellipsis marks text cut because a message had more lines than allowed.
const ellipsis = "…"

// Wrap splits s into lines of at most budget bytes, at spaces where
// possible and on a UTF-8 boundary otherwise. Bold spans that cross a line
// break are closed and reopened so every line renders on its own. At most
// maxLines lines are returned; if text was left over, the last line ends
// with "…". Wrap(s) of an empty s returns nil.
func Wrap(s string, budget, maxLines int) []string {
	if s == "" {
		return nil
	}
	if maxLines < 1 {
		maxLines = 1
	}
	// room to close and reopen bold; at least 8, so that
	// ircmsg.TruncateUTF8Safe always has room for a whole rune
	inner := max(budget-2, 8)
	var out []string
	bold := false
	for s != "" {
		if len(out) == maxLines-1 && len(s) > inner {
			// last allowed line: cut and mark
			s = strings.TrimRight(ircmsg.TruncateUTF8Safe(s, inner-len(ellipsis)), " ") + ellipsis
		}
		piece := s
		if len(piece) > inner {
			cut := ircmsg.TruncateUTF8Safe(s, inner)
			if i := strings.LastIndexByte(cut, ' '); i > inner/2 {
				cut = cut[:i]
			}
			piece = cut
		}
		s = strings.TrimLeft(s[len(piece):], " ")
		line := piece
		if bold {
			line = string(fmtBold) + line
		}
		if strings.Count(piece, string(fmtBold))%2 == 1 {
			bold = !bold
		}
		if bold && s != "" {
			line += string(fmtBold)
		}
		out = append(out, strings.TrimRight(line, " "))
		if len(out) == maxLines {
			break
		}
	}
	return out
}

// Casemapping names from ISUPPORT CASEMAPPING.
const (
	CaseASCII         = "ascii"
	CaseRFC1459       = "rfc1459"
	CaseStrictRFC1459 = "strict-rfc1459"
)

// Fold returns the casemapped form of a nick or channel name, for
// comparisons and map keys. Unknown casemappings fold like rfc1459.
func Fold(casemapping, s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = foldByte(casemapping, c)
	}
	return string(b)
}

// foldByte folds one byte as Fold does.
func foldByte(casemapping string, c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + 32
	case casemapping == CaseASCII:
	case c == '[' || c == ']' || c == '\\':
		return c + 32 // { } |
	case c == '~' && casemapping != CaseStrictRFC1459 && casemapping != "rfc1459-strict":
		return '^'
	}
	return c
}

// runeFolder returns how nicks compare in text under a casemapping: as
// Fold for ASCII, and for other letters as clients compare them
// (lower case), so that no spelling a client would match is missed.
func runeFolder(casemapping string) func(rune) rune {
	return func(r rune) rune {
		if r < utf8.RuneSelf {
			return rune(foldByte(casemapping, byte(r)))
		}
		return unicode.ToLower(r)
	}
}

// severityColour is the mIRC colour for a severity span: red for blocker
// and critical, orange for major, grey for minor and trivial, none else.
func severityColour(sp chat.Span) string {
	if sp.Kind != chat.SpanSeverity {
		return ""
	}
	switch strings.ToLower(strings.TrimSpace(sp.Text)) {
	case "blocker", "critical":
		return "04"
	case "major":
		return "07"
	case "minor", "trivial":
		return "14"
	}
	return ""
}

// mentionText renders a highlight as chat.MentionText does for IRC, but
// writes nicks already in seen (folded) with chat.NoPing (chat.Break) and
// adds the others.
func mentionText(h *chat.Highlight, seen map[string]bool) string {
	if h == nil {
		return ""
	}
	listed := h.Handles[Name]
	nicks := make([]string, 0, len(listed))
	for _, n := range listed {
		f := Fold(CaseRFC1459, n)
		if seen[f] {
			n = chat.Break(n)
		}
		seen[f] = true
		nicks = append(nicks, n)
	}
	return chat.MentionText(&chat.Highlight{Tree: h.Tree, Handles: map[string][]string{Name: nicks}}, Name)
}
