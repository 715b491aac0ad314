// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
)

// Caller is who ksecbot thinks sent a command.
type Caller struct {
	Identity chat.Identity
	// Linked is true when a [[user]] entry (or the console) maps the
	// identity to a Bugzilla login.
	Linked bool
	Login  string   // Bugzilla login, "" when unlinked
	Trees  []string // trees the caller maintains
	// roles are the roles of the [[user]] entry as configured, with
	// admin for a network's admins and the console operator.
	roles []string
}

// who is the caller as package policy reads roles (policy.Actor).
func (c Caller) who() policy.Actor {
	return policy.Actor{Login: c.Login, Roles: c.roles, TreeMaintainer: len(c.Trees) > 0}
}

// Has reports whether the caller has one of the roles (policy.Actor.Has:
// a tree maintainer is a maintainer).
func (c Caller) Has(roles ...string) bool { return c.who().Has(roles...) }

// RoleList returns the caller's roles, sorted (policy.Actor.RoleList).
func (c Caller) RoleList() []string { return c.who().RoleList() }

// caller resolves an authenticated identity to a linked user and roles.
// IRC nicks are never identity: only the services account counts.
func (r *Router) caller(id chat.Identity) Caller {
	c := Caller{Identity: id}
	if id.Operator {
		c.Login = r.cfg.OperatorLogin(id.Network)
		if c.Login == "" {
			c.Login = r.d.OperatorLogin
		}
		c.Linked = c.Login != ""
		c.roles = []string{config.RoleAdmin}
		return c
	}
	if id.Account == "" {
		return c
	}
	user, ok := r.cfg.User(id.Network, id.Account)
	if !ok || user.Bugzilla == "" {
		return c
	}
	c.Linked = true
	c.Login = user.Bugzilla
	c.roles = user.Roles
	if r.cfg.Admin(id.Network, id.Account) {
		// A network's own admins ([irc] admins) have the admin role there.
		c.roles = append(slices.Clone(user.Roles), config.RoleAdmin)
	}
	// Tree membership: the exact login (never the same local part at
	// another domain) or a linked chat identity the tree lists. It makes
	// a maintainer for public bugs only; the write policy decides what
	// that allows.
	c.Trees = r.writes.MaintainedTrees(user.Bugzilla, user.Accounts)
	return c
}

// actor is the caller as the write policy sees it.
func (c Caller) actor() policy.Actor {
	if !c.Linked {
		return policy.Actor{}
	}
	return c.who()
}

// authorize returns "" when the caller may run cmd, else a polite refusal
// that says how to get access.
func (r *Router) authorize(cmd Command, c Caller) string {
	need := cmd.Roles
	if !c.Identity.Identified() {
		if how := c.Identity.HowToIdentify; how != "" {
			return fmt.Sprintf("Sorry, you are not identified, so I cannot tell who you are: %s and try %s%s again.", how, r.prefix, cmd.Name)
		}
		return fmt.Sprintf("Sorry, I cannot tell who you are, so %s%s is not available to you.", r.prefix, cmd.Name)
	}
	if !c.Linked {
		if c.Identity.Operator {
			return "Sorry, the console has no Bugzilla login: add a [[user]] with roles = [\"admin\"] and a bugzilla login to the configuration."
		}
		return fmt.Sprintf("Sorry, %s is not linked to a Bugzilla login, so I cannot %s%s for you: ask the ksecbot operator to add a [[user]] entry with %s = %q, your bugzilla login and a role.",
			c.Identity.Account, r.prefix, cmd.Name, r.cfg.AccountKey(c.Identity.Network), c.Identity.Account)
	}
	if cmd.Write {
		// Bugzilla writes: the write policy decides, here before the bug
		// is read (as if it were public), and again once it is known.
		d := r.writes.Write(policy.WriteRequest{Command: policy.WriteCommand(cmd.Name), Actor: c.actor()})
		if !d.Allowed {
			return r.refusal(cmd.Name, c, d, 0, "", chat.Channel{}) // names no login
		}
		return ""
	}
	if len(need) > 0 && !c.Has(need...) {
		return fmt.Sprintf("Sorry, %s%s needs the role %s (or being listed as a tree maintainer) and %s has none of them: ask the ksecbot operator to add one to your [[user]] entry.",
			r.prefix, cmd.Name, strings.Join(need, " or "), c.Login)
	}
	return ""
}

// refusal words a write policy refusal for the caller. id is the bug (0
// when not known yet), assignee its assignee for RefuseNotAssignee, private
// whether the channel may show e-mail addresses.
func (r *Router) refusal(name string, c Caller, d policy.WriteDecision, id int, assignee string, ch chat.Channel) string {
	bug := "that bug"
	if id > 0 {
		bug = fmt.Sprintf("bug %d", id)
	}
	switch d.Reason {
	case policy.RefuseNotLinked:
		return fmt.Sprintf("Sorry, I cannot %s%s for you: you are not linked to a Bugzilla login.", r.prefix, name)
	case policy.RefuseRestricted:
		return fmt.Sprintf("Sorry, %s is restricted: only the security team (security or admin role) may %s%s it through ksecbot, and nothing was changed. Ask them in the private channel.",
			bug, r.prefix, name)
	case policy.RefuseForce:
		return "Sorry, " + r.prefix + "claim --force needs the security or admin role; ask the current assignee to " + r.prefix + "unclaim it."
	case policy.RefuseNotAssignee:
		return fmt.Sprintf("%s is assigned to %s, not you; only they or the security team can unclaim it.",
			strings.ToUpper(bug[:1])+bug[1:], cleanShort(policy.ShowLogin(assignee, ch)))
	case policy.RefuseOutsideLogin:
		shown := make([]string, len(d.Refused))
		for i, l := range d.Refused {
			shown[i] = cleanShort(policy.ShowLogin(l, ch))
		}
		return fmt.Sprintf("Sorry, maintainers may %scc only tree names, the trees' logins and linked users' logins (see %strees); %s is none of them, so nothing was changed. Ask the security team to CC anyone else.",
			r.prefix, r.prefix, strings.Join(shown, ", "))
	}
	return fmt.Sprintf("Sorry, %s%s needs the role security, admin or maintainer (or being listed as a tree maintainer) and %s has none of them: ask the ksecbot operator to add one to your [[user]] entry.",
		r.prefix, name, c.Login)
}
