// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"strconv"
	"strings"
)

// Parse splits a chat line into a command name (lower-case, without the
// prefix) and its arguments. ok is false when the line is not a command:
// no prefix, or no valid name right after it.
func Parse(prefix, text string) (name string, args []string, ok bool) {
	if prefix == "" {
		return "", nil, false
	}
	text = strings.TrimSpace(text)
	rest, found := strings.CutPrefix(text, prefix)
	if !found {
		return "", nil, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || !strings.HasPrefix(rest, fields[0]) {
		return "", nil, false // "! foo" is not a command
	}
	name = strings.ToLower(fields[0])
	if !validName(name) {
		return "", nil, false
	}
	return name, fields[1:], true
}

// validName reports whether s looks like a command name: a letter, then
// letters, digits, '-' or '_', at most 32 bytes.
func validName(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// firstBug returns the first argument that is a bug number, or 0.
func firstBug(args []string) int {
	for _, a := range args {
		if id, ok := parseBugID(a); ok {
			return id
		}
	}
	return 0
}

// parseBugID parses a positive bug number written as "123" or "#123".
func parseBugID(s string) (int, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
