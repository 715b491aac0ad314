// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/trees"
)

// maxTreeLine is the byte budget of one !trees line.
const maxTreeLine = 380

// cleanShort cleans a short untrusted value (a login, a product name).
func cleanShort(s string) string { return announce.Clean(s, 80) }

// shortDuration renders a duration as "15m", "2h" or "90s".
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// lookupBug reads a bug from the mirror, else from Bugzilla, for a reply
// in ch. A reply in a channel that is not private shows no mirror copy
// older than the reconcile interval: such a copy is read again first
// (freshFor).
func (r *Router) lookupBug(ctx context.Context, id int, ch chat.Channel) (*bugzilla.Bug, error) {
	if r.d.Store != nil {
		b, ok, err := r.d.Store.Bug(ctx, id)
		if err != nil {
			r.log.Warn("failed to read mirror", "bug", id, "err", err)
		} else if ok {
			return r.freshFor(ctx, b, ch), nil
		}
	}
	if r.d.Bugzilla == nil {
		return nil, bugzilla.ErrNotFound
	}
	return r.d.Bugzilla.Bug(ctx, id)
}

// cmdBug implements !bug <id>.
func (r *Router) cmdBug(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) == 0 {
		return []chat.Line{r.argError("bug", "which bug? Give its number")}
	}
	if len(req.Args) > 1 {
		return []chat.Line{r.argError("bug", "one bug at a time, not "+strconv.Itoa(len(req.Args)))}
	}
	id, bad := r.bugArg("bug", req.Args[0])
	if bad != nil {
		return []chat.Line{bad}
	}
	b, err := r.lookupBug(ctx, id, req.In.Channel)
	if err != nil {
		if errors.Is(err, bugzilla.ErrNotFound) && r.d.Bugzilla == nil {
			return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d is not in ksecbot's mirror. ", id)).Link("", r.d.Render.BugURL(id))}
		}
		return []chat.Line{r.bugzillaError(err, id, nil)}
	}
	return []chat.Line{r.describe(b, req.In.Channel)}
}

// describe is the !bug and preview line of a bug for a channel: for a bug
// outside the watches only its link (ksecbot reads with its own key and
// must not show other products' bugs); else the description through the
// policy (restricted bugs withheld in public channels, logins without
// domain there).
func (r *Router) describe(b *bugzilla.Bug, ch chat.Channel) chat.Line {
	if !r.watched(b) {
		return chat.Line{}.Bold(fmt.Sprintf("Bug %d", b.ID)).Text(": ").Link("", r.d.Render.BugURL(b.ID))
	}
	return r.d.Render.Describe(r.see(b, ch))
}

// see is the policy's judgement of a bug asked about in a channel (a
// description: !bug, previews, !pending lines, command replies). Details
// of the bug come only from its Full.
func (r *Router) see(b *bugzilla.Bug, ch chat.Channel) policy.Seen {
	return r.d.Render.Policy.See(b, ch, policy.Describe)
}

// cmdTrees implements !trees: entries packed into a few lines.
func (r *Router) cmdTrees(ctx context.Context, req *Request) []chat.Line {
	all := r.d.Trees.All()
	if len(all) == 0 {
		return []chat.Line{chat.Line{}.Text("No kernel trees are configured; the operator can add [[tree]] entries.")}
	}
	var entries []string
	for _, t := range all {
		e := t.Name
		if len(t.Aliases) > 0 {
			e += " (" + strings.Join(t.Aliases, ", ") + ")"
		}
		if logins := trees.Logins([]config.Tree{t}); len(logins) > 0 {
			e += " <" + r.logins(req.In, logins) + ">"
		}
		if t.Unsupported {
			e += " [no security support]"
		}
		entries = append(entries, e)
	}
	head := fmt.Sprintf("%d trees: ", len(all))
	var lines []chat.Line
	cur := head
	for _, e := range entries {
		if len(cur)+len(e)+2 > maxTreeLine && cur != head && cur != "" {
			lines = append(lines, chat.Line{}.Text(strings.TrimSuffix(cur, "; ")))
			cur = ""
		}
		cur += e + "; "
	}
	lines = append(lines, chat.Line{}.Text(strings.TrimSuffix(cur, "; ")+" — use a name or alias with "+r.prefix+"cc and "+r.prefix+"pending."))
	return lines
}

// cmdWhoami implements !whoami.
func (r *Router) cmdWhoami(ctx context.Context, req *Request) []chat.Line {
	c := req.Caller
	id := c.Identity
	if id.Operator {
		if c.Login == "" {
			return []chat.Line{chat.Line{}.Text("You are the console operator (admin), with no Bugzilla login: write commands need a [[user]] with the admin role.")}
		}
		return []chat.Line{chat.Line{}.Text("You are the console operator (admin), acting as Bugzilla login ").Code(c.Login).
			Text("; you may use every command.")}
	}
	if !id.Identified() {
		how := "identify yourself"
		if id.HowToIdentify != "" {
			how = id.HowToIdentify
		}
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("You are %s, but not identified, so I only answer read commands; %s to claim or CC bugs.", cleanShort(id.Nick), how))}
	}
	kind := id.AccountKind()
	if !c.Linked {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("You are %s %s, not linked to a Bugzilla login, so you may use read commands only; ask the operator for a [[user]] entry to claim or CC bugs.", kind, cleanShort(id.Account)))}
	}
	l := chat.Line{}.Text(fmt.Sprintf("You are %s %s, linked to Bugzilla login ", kind, cleanShort(id.Account))).Code(r.login(req.In, c.Login))
	roles := c.RoleList()
	if len(roles) == 0 {
		l = l.Text("; roles: none")
	} else {
		l = l.Text("; roles: " + strings.Join(roles, ", "))
	}
	if len(c.Trees) > 0 {
		l = l.Text("; maintainer of " + strings.Join(c.Trees, ", "))
	}
	var may []string
	for _, cmd := range r.cmds {
		switch {
		case cmd.Write:
			if r.writes.Write(policy.WriteRequest{Command: policy.WriteCommand(cmd.Name), Actor: c.actor()}).Allowed {
				may = append(may, r.prefix+cmd.Name)
			}
		case len(cmd.Roles) > 0 && c.Has(cmd.Roles...):
			may = append(may, r.prefix+cmd.Name)
		}
	}
	if r.writes.Write(policy.WriteRequest{Command: policy.WriteClaim, Force: true, Actor: c.actor()}).Allowed {
		may = append(may, r.prefix+"claim --force")
	}
	if len(may) > 0 {
		l = l.Text(". You may use " + strings.Join(may, ", ") + " and every read command")
		if c.actor().Security() {
			l = l.Text(", on restricted bugs too, and " + r.prefix + "cc any login.")
		} else {
			l = l.Text("; on restricted bugs only the security team may write, and " + r.prefix + "cc takes tree names and linked users' logins.")
		}
	} else {
		l = l.Text(". You may use read commands only; ask the operator for a role to claim or CC bugs.")
	}
	return []chat.Line{l}
}

// cmdHelp implements !help [command].
func (r *Router) cmdHelp(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) == 0 {
		return []chat.Line{chat.Line{}.Text("Commands: " + r.commandList() + ". Say " + r.prefix + "help <command> for details. Mention \"bug 123456\" for a preview.")}
	}
	name := strings.ToLower(strings.TrimPrefix(req.Args[0], r.prefix))
	i, ok := r.byName[name]
	if !ok {
		return []chat.Line{chat.Line{}.Text("No command ").Code(cleanShort(r.prefix + name)).Text("; commands: " + r.commandList() + ".")}
	}
	c := r.cmds[i]
	l := r.usageLine(c.Name)
	if len(c.Aliases) > 0 {
		l = l.Text(" Also: " + r.prefix + strings.Join(c.Aliases, ", "+r.prefix) + ".")
	}
	if len(c.Roles) > 0 {
		l = l.Text(" Needs a linked Bugzilla login and the role " + strings.Join(c.Roles, " or ") + ".")
	}
	return []chat.Line{l}
}
