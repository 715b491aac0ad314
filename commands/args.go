// SPDX-License-Identifier: GPL-3.0-or-later

// Replies to arguments a command cannot use: each names the argument and
// what is wrong with it, then the command's usage.

package commands

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/ksecbot/ksecbot/chat"
)

// bugNumber parses a bug number written as "123" or "#123". When s is none
// it returns the reason, for "'s' is not a bug number<reason>".
func bugNumber(s string) (id int, problem string) {
	d := strings.TrimPrefix(s, "#")
	if d == "" {
		return 0, ""
	}
	for _, c := range d {
		switch {
		case c >= '0' && c <= '9':
		case unicode.IsDigit(c):
			return 0, ": write it with the digits 0-9"
		default:
			return 0, ""
		}
	}
	if len(d) > 9 {
		return 0, ": it has more than 9 digits"
	}
	n, err := strconv.Atoi(d)
	if err != nil {
		return 0, ""
	}
	if n == 0 {
		return 0, ": bug numbers start at 1"
	}
	return n, ""
}

// bugArg is bugNumber for command name: ok, or the reply naming the
// argument and what is wrong with it.
func (r *Router) bugArg(name, s string) (int, chat.Line) {
	id, problem := bugNumber(s)
	if id > 0 {
		return id, nil
	}
	return 0, r.argError(name, quoteArg(s)+" is not a bug number"+problem)
}

// looksNumeric reports whether s is meant as a bug number: "#..." or
// digits of any script.
func looksNumeric(s string) bool {
	if strings.HasPrefix(s, "#") {
		return true
	}
	for _, c := range s {
		if !unicode.IsDigit(c) {
			return false
		}
	}
	return s != ""
}

// argError is the reply to a command with an argument it cannot use: what
// is wrong, then the command's usage.
func (r *Router) argError(name, problem string) chat.Line {
	l := chat.Line{}.Text(upperFirst(problem) + "; usage: ")
	if i, ok := r.byName[name]; ok {
		return l.Code(r.prefix + r.cmds[i].Usage).Text(".")
	}
	return l.Code(r.prefix + name).Text(".")
}

// unknownTree is the reply to a tree name ksecbot does not know.
func (r *Router) unknownTree(s string) chat.Line {
	return chat.Line{}.Text("I know no tree " + quoteArg(s) + "; " + r.prefix + "trees lists the names and aliases.")
}

// quoteArg quotes an argument a person typed, cleaned and cut short, for
// a reply.
func quoteArg(s string) string { return "'" + chat.Clean(s, 40) + "'" }
