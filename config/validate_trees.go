// SPDX-License-Identifier: GPL-3.0-or-later

// Checks of the [[tree]] and [[user]] tables.

package config

import (
	"fmt"
	"regexp"
	"strings"
)

func (v *validator) trees(trees []Tree) {
	type owner struct {
		tree int
		key  string
	}
	names := map[string]owner{}
	claim := func(name, key string, tree int) {
		fold := strings.ToLower(name)
		if prev, ok := names[fold]; ok {
			if prev.tree == tree {
				v.add(key, "%q is listed twice in this tree", name)
			} else {
				v.add(key, "%q is already used by %s", name, prev.key)
			}
			return
		}
		names[fold] = owner{tree, key}
	}
	for t, tr := range trees {
		key := nth("tree", t, "name")
		if strings.TrimSpace(tr.Name) == "" {
			v.add(key, "is required (e.g. \"gentoo-sources\")")
		} else if strings.ContainsAny(tr.Name, " ,") {
			v.add(key, "%q must not contain spaces or commas", tr.Name)
		} else {
			claim(tr.Name, key, t)
		}
	}
	for t, tr := range trees {
		for k, a := range tr.Aliases {
			key := fmt.Sprintf("tree[%d].aliases[%d]", t+1, k+1)
			if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " ,") {
				v.add(key, "%q must be non-empty, without spaces or commas", a)
				continue
			}
			claim(a, key, t)
		}
		for k, p := range tr.Packages {
			if !packageRE.MatchString(p) {
				v.add(fmt.Sprintf("tree[%d].packages[%d]", t+1, k+1), "%q is not a package name like sys-kernel/gentoo-sources", p)
			}
		}
		for k, b := range tr.Bugzilla {
			if strings.TrimSpace(b) == "" || strings.ContainsAny(b, " ,") {
				v.add(fmt.Sprintf("tree[%d].bugzilla[%d]", t+1, k+1), "must be one Bugzilla login; got %q", b)
			}
		}
		for k, n := range tr.IRC {
			if !validNick(n) {
				v.add(fmt.Sprintf("tree[%d].irc[%d]", t+1, k+1), "%q is not a valid IRC nick", n)
			}
		}
		for k, m := range tr.Matrix {
			if !mxidRE.MatchString(m) {
				v.add(fmt.Sprintf("tree[%d].matrix[%d]", t+1, k+1), "%q is not a Matrix user ID like @name:server", m)
			}
		}
		if tr.AutoCC && len(tr.Bugzilla) == 0 {
			v.add(nth("tree", t, "auto_cc"), "needs at least one login in bugzilla")
		}
		for pv, up := range tr.UpstreamVersions {
			key := nth("tree", t, "upstream_versions")
			switch {
			case !ebuildVersionRE.MatchString(pv):
				v.add(key, "%q is not an ebuild version without revision, like \"6.12_p5\"", pv)
			case !kernelVersionRE.MatchString(up):
				v.add(key, "%q = %q: the value must be an upstream kernel release, like \"6.12.10\"", pv, up)
			}
		}
	}
}

var (
	// ebuildVersionRE is a Gentoo package version without its -rN.
	ebuildVersionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|p)[0-9]*)*$`)
	// kernelVersionRE is an upstream kernel release: 6.12, 6.12.10,
	// 2.6.39.2, 7.1-rc2.
	kernelVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+){0,2}(-rc[0-9]+)?$`)
)

func (v *validator) users(users []User) {
	irc := map[string]int{}
	mx := map[string]int{}
	for u, us := range users {
		if strings.TrimSpace(us.Bugzilla) == "" {
			v.add(nth("user", u, "bugzilla"), "is required: the Bugzilla login that this person's commands act as")
		}
		if us.IRCAccount == "" && us.Matrix == "" {
			v.add(nth("user", u, "irc_account"), "set irc_account or matrix (or both): the chat identity of %q", us.Bugzilla)
		}
		if us.IRCAccount != "" {
			fold := strings.ToLower(us.IRCAccount)
			if prev, dup := irc[fold]; dup {
				v.add(nth("user", u, "irc_account"), "%q is already linked by user[%d]", us.IRCAccount, prev+1)
			} else {
				irc[fold] = u
			}
		}
		if us.Matrix != "" {
			if !mxidRE.MatchString(us.Matrix) {
				v.add(nth("user", u, "matrix"), "%q is not a Matrix user ID like @name:server", us.Matrix)
			} else if prev, dup := mx[us.Matrix]; dup {
				v.add(nth("user", u, "matrix"), "%q is already linked by user[%d]", us.Matrix, prev+1)
			} else {
				mx[us.Matrix] = u
			}
		}
		for r, role := range us.Roles {
			switch role {
			case RoleSecurity, RoleMaintainer, RoleAdmin:
			default:
				v.add(fmt.Sprintf("user[%d].roles[%d]", u+1, r+1), "must be security, maintainer or admin; got %q", role)
			}
		}
	}
}
