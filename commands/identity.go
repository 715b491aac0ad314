// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// Caller is who ksecbot thinks sent a command.
type Caller struct {
	Identity chat.Identity
	// Linked is true when a [[user]] entry (or the console) maps the
	// identity to a Bugzilla login.
	Linked bool
	Login  string          // Bugzilla login, "" when unlinked
	Roles  map[string]bool // config.Role*; tree maintainers have RoleMaintainer
	Trees  []string        // trees the caller maintains
}

// Has reports whether the caller has one of the roles.
func (c Caller) Has(roles ...string) bool {
	for _, r := range roles {
		if c.Roles[r] {
			return true
		}
	}
	return false
}

// RoleList returns the caller's roles, sorted.
func (c Caller) RoleList() []string {
	out := make([]string, 0, len(c.Roles))
	for r, ok := range c.Roles {
		if ok {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// caller resolves an authenticated identity to a linked user and roles.
// IRC nicks are never identity: only the services account counts.
func (r *Router) caller(id chat.Identity) Caller {
	c := Caller{Identity: id, Roles: map[string]bool{}}
	if id.Network == chat.NetConsole && id.Account == chat.NetConsole {
		c.Linked = r.d.ConsoleLogin != ""
		c.Login = r.d.ConsoleLogin
		c.Roles[config.RoleAdmin] = true
		return c
	}
	if id.Account == "" {
		return c
	}
	var user *config.User
	for i := range r.cfg.Users {
		u := &r.cfg.Users[i]
		switch id.Network {
		case chat.NetIRC:
			if u.IRCAccount != "" && strings.EqualFold(u.IRCAccount, id.Account) {
				user = u
			}
		case chat.NetMatrix:
			if u.Matrix != "" && u.Matrix == id.Account {
				user = u
			}
		}
		if user != nil {
			break
		}
	}
	if user == nil || user.Bugzilla == "" {
		return c
	}
	c.Linked = true
	c.Login = user.Bugzilla
	for _, role := range user.Roles {
		c.Roles[strings.ToLower(role)] = true
	}
	for _, t := range r.d.Trees.All() {
		mine := false
		for _, l := range t.Bugzilla {
			if bugzilla.SameLogin(l, user.Bugzilla) {
				mine = true
			}
		}
		if user.Matrix != "" && hasString(t.Matrix, user.Matrix) {
			mine = true
		}
		if mine {
			c.Trees = append(c.Trees, t.Name)
			c.Roles[config.RoleMaintainer] = true
		}
	}
	return c
}

// authorize returns "" when the caller may run cmd, else a polite refusal
// that says how to get access.
func (r *Router) authorize(cmd Command, c Caller) string {
	need := cmd.Roles
	if !c.Identity.Identified() {
		switch c.Identity.Network {
		case chat.NetIRC:
			return fmt.Sprintf("Sorry, you are not identified to services, so I cannot tell who you are: log in to your account (/msg NickServ IDENTIFY ...) and try %s%s again.", r.prefix, cmd.Name)
		default:
			return fmt.Sprintf("Sorry, I cannot tell who you are, so %s%s is not available to you.", r.prefix, cmd.Name)
		}
	}
	if !c.Linked {
		if c.Identity.Network == chat.NetConsole {
			return "Sorry, the console has no Bugzilla login: add a [[user]] with roles = [\"admin\"] and a bugzilla login to the configuration."
		}
		key := "irc_account"
		if c.Identity.Network == chat.NetMatrix {
			key = "matrix"
		}
		return fmt.Sprintf("Sorry, %s is not linked to a Bugzilla login, so I cannot %s%s for you: ask the ksecbot operator to add a [[user]] entry with %s = %q, your bugzilla login and a role.",
			c.Identity.Account, r.prefix, cmd.Name, key, c.Identity.Account)
	}
	if len(need) > 0 && !c.Has(need...) {
		return fmt.Sprintf("Sorry, %s%s needs the role %s (or being listed as a tree maintainer) and %s has none of them: ask the ksecbot operator to add one to your [[user]] entry.",
			r.prefix, cmd.Name, strings.Join(need, " or "), c.Login)
	}
	return ""
}
