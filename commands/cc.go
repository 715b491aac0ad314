// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/trees"
)

// cmdCC implements !cc <tree-or-login>[,...] [bug].
func (r *Router) cmdCC(ctx context.Context, req *Request) []chat.Line {
	args := req.Args
	explicit := 0
	if last := len(args) - 1; last > 0 && looksNumeric(args[last]) {
		id, bad := r.bugArg("cc", args[last])
		if bad != nil {
			return []chat.Line{bad}
		}
		explicit, args = id, args[:last]
	}
	var items []string
	for _, a := range args {
		for _, it := range strings.Split(a, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		return []chat.Line{r.argError("cc", "whom? Give tree names or Bugzilla logins")}
	}
	var logins []string
	var named []config.Tree
	for _, it := range items {
		if t, ok := r.d.Trees.Lookup(it); ok {
			if !slices.ContainsFunc(named, func(n config.Tree) bool { return n.Name == t.Name }) {
				named = append(named, t) // "!cc rpi,rpi" highlights rpi once
			}
			for _, l := range trees.Logins([]config.Tree{t}) {
				if !loginIn(l, logins) {
					logins = append(logins, l)
				}
			}
			continue
		}
		if strings.Contains(it, "@") && !strings.ContainsAny(it, " \t<>\"'") {
			if !loginIn(it, logins) {
				logins = append(logins, it)
			}
			continue
		}
		if looksNumeric(it) {
			return []chat.Line{r.argError("cc", "whom? "+quoteArg(it)+" is a bug number; name the trees or logins first")}
		}
		return []chat.Line{chat.Line{}.Text("I know no tree " + quoteArg(it) + " and it is not a Bugzilla login; " + r.prefix + "trees lists the tree names and aliases.")}
	}
	if len(logins) == 0 {
		return []chat.Line{chat.Line{}.Text("Those trees list no Bugzilla logins; see " + r.prefix + "trees.")}
	}
	wr := policy.WriteRequest{Command: policy.WriteCC, Add: logins}
	// (an outside login is refused before any read)
	id, b, unlock, msg := r.prepareWrite(ctx, req, wr, explicit)
	if msg != nil {
		return []chat.Line{msg}
	}
	defer unlock()
	// Whether the channel may see the bug in full decides every reply
	// from here: for a restricted bug in a public channel no reply names a
	// login or tree (who is or was CC'd tells which trees it concerns) or
	// highlights anyone.
	_, full := r.see(b, req.In.Channel).Full()
	var add []string
	for _, l := range logins {
		if !loginIn(l, b.CC) {
			add = append(add, l)
		}
	}
	if len(add) == 0 {
		r.audit(ctx, req, id, "no-op: already in CC", "")
		if !full {
			return []chat.Line{chat.Line{}.Text("Already in CC of restricted ").Bold(fmt.Sprintf("bug %d", id)).Text("; nothing changed.")}
		}
		return []chat.Line{chat.Line{}.Text("Already in CC of ").Bold(fmt.Sprintf("bug %d", id)).Text(": ").QuoteCode(r.logins(req.In, logins)).Text("; nothing changed.")}
	}
	res, err := r.d.Bugzilla.Update(ctx, id, bugzilla.Update{CCAdd: add})
	if err != nil {
		r.audit(ctx, req, id, "error: "+err.Error(), errCode(err))
		if !full {
			return []chat.Line{r.bugzillaError(err, id, nil)}
		}
		return []chat.Line{r.bugzillaError(err, id, []string{r.logins(req.In, add)})}
	}
	r.audit(ctx, req, id, "ok", "")
	r.refresh(ctx, b, res)
	added := ""
	if ch, ok := res.Changes["cc"]; ok {
		added = ch.Added
	}
	switch {
	case added == "" && !full:
		return []chat.Line{chat.Line{}.Text("Bugzilla already had them in CC of restricted ").Bold(fmt.Sprintf("bug %d", id)).Text("; nothing changed.")}
	case added == "":
		return []chat.Line{chat.Line{}.Text("Bugzilla already had ").QuoteCode(r.logins(req.In, add)).Text(" in CC of ").Bold(fmt.Sprintf("bug %d", id)).Text("; nothing changed.")}
	case !full:
		return []chat.Line{chat.Line{}.Text("CC'd on restricted ").Bold(fmt.Sprintf("bug %d", id)).Text(", details withheld ").Link("", r.d.Render.BugURL(id))}
	}
	l := chat.Line{}.Text("CC'd on ").Bold(fmt.Sprintf("bug %d", id)).Text(": ").QuoteCode(r.logins(req.In, strings.Split(added, ", "))).Text(" ").Link("", r.d.Render.BugURL(id))
	for i, t := range named {
		if i == 0 {
			l = l.Text(" | ")
		} else {
			l = l.Text("; ")
		}
		l = l.Mention(trees.Highlight(t))
	}
	return []chat.Line{l}
}

// loginIn reports whether login is in list, by policy.SameAddress: the
// comparison for deciding whom to CC (a login without a domain, or at
// another domain, is another person).
func loginIn(login string, list []string) bool {
	return slices.ContainsFunc(list, func(l string) bool { return policy.SameAddress(l, login) })
}
