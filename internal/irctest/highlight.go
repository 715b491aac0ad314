// SPDX-License-Identifier: GPL-3.0-or-later

package irctest

import (
	"strings"
	"unicode"
)

// Word characters of the IRC clients that highlight a nick found as a
// whole word in a line: what each counts as part of a word around it.
var clientWords = map[string]func(rune) bool{
	// weechat.look.word_chars_highlight, default "!\u00A0,-,_,|,alnum"
	// (alnum: iswalnum, letters and digits)
	"WeeChat": func(r rune) bool {
		return r != '\u00A0' && (r == '-' || r == '_' || r == '|' || unicode.IsLetter(r) || unicode.IsDigit(r))
	},
	// irssi (stristr_full): a word ends at an ASCII space or punctuation
	// character; every byte of a non-ASCII character is part of a word
	"irssi": func(r rune) bool { return r >= 128 || unicode.IsLetter(r) || unicode.IsDigit(r) },
	// HexChat: letters, digits and the RFC 1459 nick characters
	"HexChat": func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-[]\\`^{}_|", r)
	},
}

// Highlighter returns the name of a client (WeeChat, irssi, HexChat) that
// would highlight nick in text, a line as received, or "" when none
// would: a case-insensitive occurrence of nick with no word character of
// that client right before or after it.
func Highlighter(text, nick string) string {
	rs, nm := []rune(strings.ToLower(text)), []rune(strings.ToLower(nick))
	for _, client := range []string{"WeeChat", "irssi", "HexChat"} {
		word := clientWords[client]
		for i := 0; len(nm) > 0 && i+len(nm) <= len(rs); i++ {
			if string(rs[i:i+len(nm)]) != string(nm) {
				continue
			}
			if (i == 0 || !word(rs[i-1])) && (i+len(nm) == len(rs) || !word(rs[i+len(nm)])) {
				return client
			}
		}
	}
	return ""
}
