// SPDX-License-Identifier: GPL-3.0-or-later

package policy

// Roles: what a [[user]] entry's roles (config.Role*) let its chat
// identities do is read here only: by the write rules (Write), by the
// commands' role checks and !whoami (Actor.Has, Actor.RoleList), and to
// find the console operator's login (HasRole).

import (
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/config"
)

// HasRole reports whether roles (as a [[user]] entry lists them) include
// role, compared without case and surrounding space.
func HasRole(roles []string, role string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return roleKey(r) == roleKey(role) })
}

func roleKey(r string) string { return strings.ToLower(strings.TrimSpace(r)) }

// Actor is a chat user as the rules see them: the one place their roles
// are read (the write rules, the commands' role checks, !whoami).
type Actor struct {
	// Login is the Bugzilla login the caller is linked to ("" when not
	// identified or not linked).
	Login string
	// Roles are the roles of the caller's [[user]] entry (config.Role*),
	// with admin added for a network's own admins ([irc] admins) and the
	// console operator.
	Roles []string
	// TreeMaintainer is true when the caller's login (exactly) or a chat
	// identity is listed in a [[tree]]; see MaintainedTrees.
	TreeMaintainer bool
}

// has reports whether the actor's [[user]] entry has one of the roles.
func (a Actor) has(roles ...string) bool {
	for _, want := range roles {
		if HasRole(a.Roles, want) {
			return true
		}
	}
	return false
}

// Has reports whether the actor has one of the roles: by its [[user]]
// entry, or maintainer by being listed in a tree. A command's Roles are
// checked with it.
func (a Actor) Has(roles ...string) bool {
	return a.has(roles...) || a.TreeMaintainer && slices.ContainsFunc(roles, func(r string) bool { return roleKey(r) == config.RoleMaintainer })
}

// RoleList returns the actor's roles, lower case, sorted, each once, a
// tree maintainer's maintainer included: what !whoami says.
func (a Actor) RoleList() []string {
	var out []string
	for _, r := range a.Roles {
		if k := roleKey(r); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if a.TreeMaintainer && !slices.Contains(out, config.RoleMaintainer) {
		out = append(out, config.RoleMaintainer)
	}
	slices.Sort(out)
	return out
}

// Security reports whether the actor has the security or the admin role:
// the roles that may act on restricted bugs.
func (a Actor) Security() bool { return a.has(config.RoleSecurity, config.RoleAdmin) }

// Maintainer reports whether the actor may act on public bugs: a security
// or admin role, a maintainer role, or being listed in a tree.
func (a Actor) Maintainer() bool {
	return a.Security() || a.has(config.RoleMaintainer) || a.TreeMaintainer
}
