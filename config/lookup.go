// SPDX-License-Identifier: GPL-3.0-or-later

package config

import "strings"

// Tree returns the tree whose name or one of whose aliases is name, compared
// case-insensitively. The pointer refers into c.Trees.
func (c *Config) Tree(name string) (*Tree, bool) {
	for i := range c.Trees {
		t := &c.Trees[i]
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	for i := range c.Trees {
		t := &c.Trees[i]
		for _, a := range t.Aliases {
			if strings.EqualFold(a, name) {
				return t, true
			}
		}
	}
	return nil, false
}

// User returns the [[user]] linked to account as authenticated on network
// (see User.Is). An empty account matches nobody.
func (c *Config) User(network, account string) (*User, bool) {
	for i := range c.Users {
		if c.Users[i].Is(network, account) {
			return &c.Users[i], true
		}
	}
	return nil, false
}

// HasRole reports whether the user has role; admin implies every role.
func (u *User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role || r == RoleAdmin {
			return true
		}
	}
	return false
}
