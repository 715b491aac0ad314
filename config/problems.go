// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration file.
//
// Key is the dotted TOML key ("irc.nick"); entries of arrays of tables are
// numbered from 1 in the order they appear, as a reader counts them
// ("irc.channel[2].name" is the name in the second [[irc.channel]]). Line is
// 1-based, or 0 when the problem has no place in the file (a key that is
// absent from a table that is absent too).
type Problem struct {
	Key  string
	Line int
	Msg  string
}

// Problems is every problem found in one file. It is the error type of
// Parse, Load and LoadSecrets.
type Problems struct {
	Path string
	List []Problem
}

// At renders the problem as "path:line: key: msg", as check-config and
// the daemon print it.
func (p Problem) At(path string) string { return p.format(path) }

// format renders one problem as "path:line: key: msg".
func (p Problem) format(path string) string {
	var b strings.Builder
	b.WriteString(path)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error returns "line N: key: msg"; Problems.Error prefixes the path instead.
func (p Problem) Error() string {
	s := p.Msg
	if p.Key != "" {
		s = p.Key + ": " + s
	}
	if p.Line > 0 {
		s = fmt.Sprintf("line %d: %s", p.Line, s)
	}
	return s
}

// Error returns every problem, one per line, each as "path:line: key: msg".
func (ps *Problems) Error() string {
	lines := make([]string, len(ps.List))
	for i, p := range ps.List {
		lines[i] = p.format(ps.Path)
	}
	return strings.Join(lines, "\n")
}

// errOrNil returns ps as an error when it holds problems, sorted by line.
func (ps *Problems) errOrNil() error {
	if len(ps.List) == 0 {
		return nil
	}
	sort.SliceStable(ps.List, func(i, j int) bool { return ps.List[i].Line < ps.List[j].Line })
	return ps
}
