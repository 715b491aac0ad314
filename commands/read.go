// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// maxTreeLine is the byte budget of one !trees line.
const maxTreeLine = 380

// builtins is the command table, in help order.
func (r *Router) builtins() []Command {
	return []Command{
		{Name: "bug", Usage: "bug <id>", Help: "one line about a bug: summary, severity, status, assignee and link.",
			More: "Also answered, rate-limited, for \"bug 123456\" and show_bug links in a channel with previews.", Run: r.cmdBug},
		{Name: "pending", Usage: "pending [tree]", Help: "open bugs nobody has claimed yet, or with a tree, the ones that tree is not CC'd on.",
			More: "From the local mirror.", Run: r.cmdPending},
		{Name: "claim", Usage: "claim [--force] [bug]", Help: "assign a bug to your Bugzilla login; without a number, the bug you reply to or the last one announced here.",
			More:  "On Matrix a reply names the bug; \"here\" means in this channel within [commands] claim_window (15 min). --force (security, admin) takes a bug someone else has claimed. Restricted bugs: security and admin only.",
			Roles: writeRoles, Write: true, Run: r.cmdClaim},
		{Name: "unclaim", Usage: "unclaim <bug>", Help: "give a bug back to the component default assignee.",
			More: "Restricted bugs: security and admin only.", Roles: writeRoles, Write: true, Run: r.cmdUnclaim},
		{Name: "cc", Usage: "cc <tree-or-login>[,...] [bug]", Help: "add the trees' Bugzilla logins (or the logins) to a bug's CC and highlight the trees' maintainers.",
			More:  "Maintainers may add tree names, tree logins and [[user]] logins; security and admin any login. Restricted bugs: security and admin only.",
			Roles: writeRoles, Write: true, Run: r.cmdCC},
		r.cveCommand(),
		{Name: "trees", Usage: "trees", Help: "the kernel trees ksecbot knows, with aliases and Bugzilla logins.", Run: r.cmdTrees},
		{Name: "whoami", Usage: "whoami", Help: "who ksecbot thinks you are and what you may do.", Run: r.cmdWhoami},
		{Name: "help", Aliases: []string{"commands"}, Usage: "help [command]", Help: "the list of commands, or the usage of one.", Run: r.cmdHelp},
		r.snoozeCommand(),
		r.statsCommand(),
	}
}

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

// lookupBug reads a bug from the mirror, else from Bugzilla.
func (r *Router) lookupBug(ctx context.Context, id int) (*bugzilla.Bug, error) {
	if r.d.Store != nil {
		b, ok, err := r.d.Store.Bug(ctx, id)
		if err != nil {
			r.log.Warn("failed to read mirror", "bug", id, "err", err)
		} else if ok {
			return b, nil
		}
	}
	if r.d.Bugzilla == nil {
		return nil, bugzilla.ErrNotFound
	}
	return r.d.Bugzilla.Bug(ctx, id)
}

// cmdBug implements !bug <id>.
func (r *Router) cmdBug(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) != 1 {
		return []chat.Line{r.usageLine("bug")}
	}
	id, ok := parseBugID(req.Args[0])
	if !ok {
		return []chat.Line{r.usageLine("bug")}
	}
	b, err := r.lookupBug(ctx, id)
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
	return r.d.Render.Describe(b, ch)
}

// pendingCap is how many bug lines !pending shows in a channel: the
// configured cap where lines are costly (chat.Channel.Terse), more where
// one message holds many lines.
func (r *Router) pendingCap(ch chat.Channel) int {
	if ch.Terse {
		return r.pendCap
	}
	return max(r.pendCap, richPendingLines)
}

// loginVariants returns the logins plus their local parts, for matching
// mirrored values that anonymous Bugzilla shortened.
func loginVariants(logins ...string) []string {
	var out []string
	for _, l := range logins {
		if l == "" {
			continue
		}
		if !hasString(out, l) {
			out = append(out, l)
		}
		if local, _, ok := strings.Cut(l, "@"); ok && local != "" && !hasString(out, local) {
			out = append(out, local)
		}
	}
	return out
}

// cmdPending implements !pending [tree], from the mirror only.
func (r *Router) cmdPending(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) > 1 {
		return []chat.Line{r.usageLine("pending")}
	}
	if r.d.Store == nil {
		return []chat.Line{chat.Line{}.Text("The bug mirror is not available; try again later.")}
	}
	// Only the first lines are shown: the mirror need not decode the rest
	// (total still counts them all).
	f := store.BugFilter{OpenOnly: true, Limit: richPendingLines}
	// The same query as a Bugzilla search, for "and N more".
	search := url.Values{"query_format": {"advanced"}, "resolution": {"---"}}
	for _, w := range r.watches() {
		f.Products = append(f.Products, w.Product)
		f.Components = append(f.Components, w.Component)
		search.Add("product", w.Product)
		search.Add("component", w.Component)
	}
	what := "unclaimed"
	if len(req.Args) == 1 {
		t, ok := r.d.Trees.Lookup(req.Args[0])
		if !ok {
			return []chat.Line{chat.Line{}.Text("I know no tree ").Code(cleanShort(req.Args[0])).Text("; see " + r.prefix + "trees.")}
		}
		if len(t.Bugzilla) == 0 {
			return []chat.Line{chat.Line{}.Text("Tree " + t.Name + " lists no Bugzilla login, so I cannot tell which bugs it is CC'd on.")}
		}
		f.NotCC = loginVariants(t.Bugzilla...)
		what = "without " + t.Name + " in CC"
		for i, l := range t.Bugzilla {
			n := strconv.Itoa(i + 1)
			search.Set("f"+n, "cc")
			search.Set("o"+n, "notequals")
			search.Set("v"+n, l)
		}
	} else {
		var defs []string
		for _, w := range r.watches() {
			defs = append(defs, r.defaultAssignee(ctx, w.Product, w.Component))
		}
		f.AssignedTo = loginVariants(defs...)
		search.Set("j_top", "OR")
		for i, d := range defs {
			n := strconv.Itoa(i + 1)
			search.Set("f"+n, "assigned_to")
			search.Set("o"+n, "equals")
			search.Set("v"+n, d)
		}
		if len(f.AssignedTo) == 0 {
			return []chat.Line{chat.Line{}.Text("I do not know the component's default assignee yet, so I cannot tell what is unclaimed; the operator can set bugzilla.default_assignee.")}
		}
	}
	bugs, total, err := r.d.Store.Bugs(ctx, f)
	if err != nil {
		r.log.Error("failed to list pending bugs", "err", err)
		return []chat.Line{chat.Line{}.Text("Could not read the bug mirror; try again later.")}
	}
	if total == 0 || len(bugs) == 0 {
		return []chat.Line{chat.Line{}.Text("No open kernel security bugs " + what + ".")}
	}
	limit := r.pendingCap(req.In.Channel)
	now := r.now()
	var lines []chat.Line
	for i := range bugs {
		if i == limit {
			break
		}
		l := r.pendingLine(&bugs[i], req.In.Channel, now)
		if len(req.Args) == 1 {
			l = r.cveMarker(l, &bugs[i], req.In.Channel, req.Args[0])
		}
		lines = append(lines, l)
	}
	if total > len(lines) {
		lines = append(lines, chat.Line{}.Text(fmt.Sprintf("and %d more: ", total-len(lines))).Link("", r.d.Render.SearchURL(search)))
	}
	return lines
}

// pendingLine is one !pending line: id, age, severity, summary.
func (r *Router) pendingLine(b *bugzilla.Bug, ch chat.Channel, now time.Time) chat.Line {
	age := announce.Age(now.Sub(b.CreationTime))
	l := chat.Line{}.Bold(fmt.Sprintf("Bug %d", b.ID))
	if !announce.Visible(b, ch) {
		return l.Text(" (" + age + "): restricted, details withheld")
	}
	l = l.Text(" (" + age)
	if b.Severity != "" {
		l = l.Text(", " + announce.Clean(b.Severity, 40))
	}
	if g := announce.Grade(b.Whiteboard); g != "" {
		l = l.Text(", " + g)
	}
	return l.Text("): ").Quote(announce.Clean(b.Summary, 160))
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
	if id.Network == chat.NetConsole && id.Account == chat.NetConsole {
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

// previewsFor answers bug mentions ("bug 123456", show_bug URLs) in a
// channel with previews enabled, at most once per bug and channel per
// preview interval.
func (r *Router) previewsFor(ctx context.Context, in chat.Incoming, ids []int) []chat.Outgoing {
	var out []chat.Outgoing
	for _, id := range ids {
		if !r.previewDue(in.Channel.Key, id) {
			continue
		}
		b, err := r.lookupBug(ctx, id)
		if err != nil {
			r.log.Debug("no preview", "bug", id, "err", err)
			continue
		}
		o := r.reply(in, r.describe(b, in.Channel))
		o.Kind = chat.KindPreview
		o.Key = strings.Replace(o.Key, "reply/", "preview/", 1) + "/" + strconv.Itoa(id)
		o.BugIDs = []int{id}
		out = append(out, o)
	}
	return out
}

// previewIDs returns the bugs a message mentions that get a preview in
// its channel (at most maxPreviews), before the per-bug interval.
func (r *Router) previewIDs(in chat.Incoming) []int {
	if !in.Channel.Previews {
		return nil
	}
	var ids []int
	add := func(m [][]string) {
		for _, g := range m {
			if id, ok := parseBugID(g[1]); ok && !containsInt(ids, id) && len(ids) < maxPreviews {
				ids = append(ids, id)
			}
		}
	}
	add(r.bugRe.FindAllStringSubmatch(in.Text, -1))
	if r.urlRe != nil {
		add(r.urlRe.FindAllStringSubmatch(in.Text, -1))
	}
	return ids
}

// previewDue records and reports whether a bug may be previewed in a
// channel now.
func (r *Router) previewDue(channel string, id int) bool {
	now := r.now()
	key := channel + "\x00" + strconv.Itoa(id)
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	if last, ok := r.mem.previews[key]; ok && now.Sub(last) < r.prevGap {
		return false
	}
	if len(r.mem.previews) > 10000 {
		for k, t := range r.mem.previews {
			if now.Sub(t) >= r.prevGap {
				delete(r.mem.previews, k)
			}
		}
	}
	r.mem.previews[key] = now
	return true
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
