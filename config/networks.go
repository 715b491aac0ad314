// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"slices"
	"strings"
)

// The configuration file keeps its documented per-network keys: the [irc]
// and [matrix] tables, a tree's irc and matrix lists, a user's irc_account
// and matrix. This file is the one place that maps them to network names,
// so that the core asks "on this network" and never names a network.

// Network names of the networks this file has tables for: what their
// transports report from Network and put in channel keys and identities.
const (
	NetIRC    = "irc"
	NetMatrix = "matrix"
)

// Handles returns the tree's maintainers to highlight, keyed by network
// name: the irc nicks and the matrix user IDs.
func (t Tree) Handles() map[string][]string {
	h := make(map[string][]string, 2)
	if len(t.IRC) > 0 {
		h[NetIRC] = t.IRC
	}
	if len(t.Matrix) > 0 {
		h[NetMatrix] = t.Matrix
	}
	return h
}

// Member reports whether account, as authenticated on network, is listed
// among the tree's maintainers. Only entries that are identities count: a
// Matrix user ID is one; an IRC nick is a display handle, never identity,
// so no IRC account is a member through the irc list.
func (t Tree) Member(network, account string) bool {
	return account != "" && network == NetMatrix && slices.Contains(t.Matrix, account)
}

// Accounts returns the user's linked chat accounts keyed by network name:
// the irc_account and the matrix user ID, where set.
func (u User) Accounts() map[string]string {
	a := make(map[string]string, 2)
	if u.IRCAccount != "" {
		a[NetIRC] = u.IRCAccount
	}
	if u.Matrix != "" {
		a[NetMatrix] = u.Matrix
	}
	return a
}

// Is reports whether the entry links account, as authenticated on network:
// the irc_account on IRC (services accounts compare without case; "*"
// is services' "not logged in"), the matrix user ID on Matrix (exactly).
// An empty account is nobody.
func (u User) Is(network, account string) bool {
	if account == "" || account == "*" {
		return false
	}
	switch network {
	case NetIRC:
		return strings.EqualFold(u.IRCAccount, account)
	case NetMatrix:
		return u.Matrix == account
	}
	return false
}

// AccountKey returns the [[user]] key that links an account on network
// ("irc_account", "matrix"), or "" for a network without one.
func AccountKey(network string) string {
	switch network {
	case NetIRC:
		return "irc_account"
	case NetMatrix:
		return "matrix"
	}
	return ""
}

// Admin reports whether account, as authenticated on network, is listed in
// that network's admins ([irc] admins: services accounts, without case).
func (c *Config) Admin(network, account string) bool {
	if account == "" || network != NetIRC || c.IRC == nil {
		return false
	}
	for _, a := range c.IRC.Admins {
		if strings.EqualFold(a, account) {
			return true
		}
	}
	return false
}

// NetworkTables returns the names of the networks whose table is present
// ([irc], [matrix]), in that order.
func (c *Config) NetworkTables() []string {
	var out []string
	if c.IRC != nil {
		out = append(out, NetIRC)
	}
	if c.Matrix != nil {
		out = append(out, NetMatrix)
	}
	return out
}

// KeepNetworkTables replaces c's network tables with old's, which only a
// restart applies, except for the channel (room) lists of the networks
// named in live: their transports took the new lists without
// reconnecting.
func (c *Config) KeepNetworkTables(old *Config, live []string) {
	irc, mx := old.IRC, old.Matrix
	if slices.Contains(live, NetIRC) && irc != nil && c.IRC != nil {
		cp := *irc
		cp.Channels = c.IRC.Channels
		irc = &cp
	}
	if slices.Contains(live, NetMatrix) && mx != nil && c.Matrix != nil {
		cp := *mx
		cp.Rooms = c.Matrix.Rooms
		mx = &cp
	}
	c.IRC, c.Matrix = irc, mx
}

// HandleKey is one per-network highlight key of a [[tree]].
type HandleKey struct {
	Network string // the network whose handles it holds
	Key     string // the TOML key
	Holds   string // what to fill in, for people
}

// TreeHandleKeys lists a [[tree]]'s per-network highlight keys in the
// documented order, for tools that write [[tree]] entries (treegen).
var TreeHandleKeys = []HandleKey{
	{Network: NetIRC, Key: "irc", Holds: "IRC nicks of these maintainers"},
	{Network: NetMatrix, Key: "matrix", Holds: "Matrix IDs (@name:server) of these maintainers"},
}

// SetHandles sets the tree's handles on network, the inverse of Handles.
func (t *Tree) SetHandles(network string, handles []string) {
	switch network {
	case NetIRC:
		t.IRC = handles
	case NetMatrix:
		t.Matrix = handles
	}
}
