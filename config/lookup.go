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

// User returns the [[user]] linked to account as authenticated on network:
// the user's key of that network, compared as the network says (services
// accounts without case). An empty account and "*" (services' "not
// logged in") are nobody.
func (c *Config) User(network, account string) (*User, bool) {
	if account == "" || account == "*" {
		return nil, false
	}
	fold := c.fold(network)
	want := fold(account)
	for i := range c.Users {
		if a, ok := c.Users[i].Accounts[network]; ok && a != "" && fold(a) == want {
			return &c.Users[i], true
		}
	}
	return nil, false
}
