// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
)

// mineCommand is the !mine entry of the command table.
func (r *Router) mineCommand() Command {
	return Command{Name: "mine", Usage: "mine", Help: "the open bugs assigned to your linked Bugzilla login: id, age, severity, summary.",
		More: "From the local mirror. Unlinked callers are told how to get linked.", Run: r.cmdMine}
}

// cmdMine implements !mine, from the mirror only.
func (r *Router) cmdMine(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) > 0 {
		return []chat.Line{r.argError("mine", quoteArg(req.Args[0])+" is not needed: "+r.prefix+"mine takes no argument and lists the bugs assigned to you")}
	}
	c := req.Caller
	id := c.Identity
	switch {
	case id.Operator && !c.Linked:
		return []chat.Line{chat.Line{}.Text("The console has no Bugzilla login, so no bugs are yours: add a [[user]] with roles = [\"admin\"] and a bugzilla login to the configuration.")}
	case !id.Identified():
		how := "identify yourself"
		if id.HowToIdentify != "" {
			how = id.HowToIdentify
		}
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("You are not identified, so I cannot tell whose bugs to list: %s and try %smine again.", how, r.prefix))}
	case !c.Linked:
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("%s %s is not linked to a Bugzilla login, so I cannot tell which bugs are yours: ask the ksecbot operator to add a [[user]] entry with %s = %q and your bugzilla login.",
			upperFirst(id.AccountKind()), cleanShort(id.Account), r.cfg.AccountKey(id.Network), id.Account))}
	}
	if r.d.Store == nil {
		return []chat.Line{chat.Line{}.Text("The bug mirror is not available; try again later.")}
	}
	f, search := r.openInWatches()
	// An anonymous watcher mirrors logins without their domain.
	f.AssignedTo = loginVariants(c.Login)
	loginSearch(search, 1, "assigned_to", true, c.Login, policy.Private(req.In.Channel))
	bugs, total, err := r.d.Store.Bugs(ctx, f)
	if err != nil {
		r.log.Error("failed to list the caller's bugs", "err", err)
		return []chat.Line{chat.Line{}.Text("Could not read the bug mirror; try again later.")}
	}
	if total == 0 || len(bugs) == 0 {
		return []chat.Line{chat.Line{}.Text("No open kernel security bugs are assigned to you (").QuoteCode(r.login(req.In, c.Login)).Text(").")}
	}
	return r.andMore(r.bugLines(bugs, req.In.Channel), total, search, "")
}
