// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The README command table and the man page command list are generated
// from the command registry, like !help: `go test ./commands -run
// TestCommandDocs -update` rewrites the parts of README.md and
// contrib/man/ksecbot.1 between these markers, and the test without
// -update fails when they differ from the registry.
const (
	MarkdownBegin = "<!-- commands:begin (generated from the command registry: go test ./commands -run TestCommandDocs -update) -->"
	MarkdownEnd   = "<!-- commands:end -->"
	ManBegin      = `.\" commands:begin (generated from the command registry: go test ./commands -run TestCommandDocs -update)`
	ManEnd        = `.\" commands:end`
)

// Who says who may run a command: "anyone", or the roles it needs.
func (c Command) Who() string {
	if len(c.Roles) == 0 {
		return "anyone"
	}
	return "linked " + strings.Join(c.Roles, ", ")
}

// MarkdownTable renders the commands as the README's Markdown table.
func MarkdownTable(cmds []Command, prefix string) string {
	var b strings.Builder
	b.WriteString("| command | who | what |\n|---|---|---|\n")
	for _, c := range cmds {
		usage := "`" + mdCell(prefix+c.Usage) + "`"
		for _, a := range c.Aliases {
			usage += ", `" + mdCell(prefix+a) + "`"
		}
		b.WriteString("| " + usage + " | " + mdCell(c.Who()) + " | " + mdCell(sentences(c)) + " |\n")
	}
	return b.String()
}

// ManList renders the commands as the man page's .TP list.
func ManList(cmds []Command, prefix string) string {
	var b strings.Builder
	for _, c := range cmds {
		name, args, _ := strings.Cut(c.Usage, " ")
		b.WriteString(".TP\n")
		if args == "" {
			b.WriteString(".B " + roffQuote(prefix+name) + "\n")
		} else {
			args = strings.NewReplacer("<", "", ">", "").Replace(args)
			b.WriteString(".BI " + roffQuote(prefix+name+" ") + " " + roffQuote(args) + "\n")
		}
		text := upperFirst(sentences(c))
		if len(c.Aliases) > 0 {
			text += " Also " + prefix + strings.Join(c.Aliases, ", "+prefix) + "."
		}
		if len(c.Roles) > 0 {
			text += " Needs a linked Bugzilla login and the role " + strings.Join(c.Roles, " or ") + "."
		}
		b.WriteString(roffText(text) + "\n")
	}
	return b.String()
}

// sentences is the Help and More of a command.
func sentences(c Command) string {
	if c.More == "" {
		return c.Help
	}
	return c.Help + " " + c.More
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// roffEscape escapes text for roff: backslashes and hyphens (which roff
// would otherwise render as typographic hyphens).
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffQuote is a roff macro argument.
func roffQuote(s string) string { return `"` + strings.ReplaceAll(roffEscape(s), `"`, `\(dq`) + `"` }

// roffText is a roff text line: a leading '.' or '\” would be a request.
func roffText(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
