// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"slices"
	"strings"
)

// A chat network's package owns its part of the configuration: the type of
// its TOML table, that table's defaults and checks, and its keys in
// [[tree]] and [[user]]. It describes them in a Network, which the program
// hands to Parse (cmd/ksecbot/networks.go lists one per network). This
// package keeps the shared tables and the problem list and names no
// network: the core asks "on this network", keyed by network name.

// Network is what a chat network registers about its configuration.
type Network struct {
	// Name is the network name its transport reports; handles, accounts
	// and sections are keyed by it.
	Name string
	// Table is its TOML table ("irc" for [irc]); "" when it has none.
	Table string
	// OnRequest marks a network that runs only when asked for on the
	// command line (the console): its table holds settings and does not
	// make it run.
	OnRequest bool
	// Section returns a new, empty section to decode Table into: a
	// pointer to a struct whose fields carry toml tags. Its keys are
	// checked like every other (unknown keys and wrong types are
	// problems with their line).
	Section func() Section
	// Tree is the network's key in [[tree]], the tree's maintainers
	// there; nil for none.
	Tree *TreeKey
	// User is the network's key in [[user]], the account linking a
	// person there to a Bugzilla login; nil for none.
	User *UserKey
}

// TreeKey is a network's key in [[tree]]: a list of handles to highlight.
type TreeKey struct {
	Key   string // the TOML key ("irc")
	Holds string // what to fill in, for people ("IRC nicks of these maintainers")
	// Check returns what is wrong with a handle ("is not a valid IRC
	// nick"), or "" when it is valid. nil accepts any non-empty handle.
	Check func(handle string) string
	// Identity marks handles that are accounts the network vouches for
	// (Matrix IDs): they make their owner a maintainer of the tree
	// (Tree.Member). Display names (IRC nicks) are never identity.
	Identity bool
}

// UserKey is a network's key in [[user]]: the account that links a person
// on that network to a Bugzilla login.
type UserKey struct {
	Key string // the TOML key ("irc_account")
	// Check returns what is wrong with an account, or "" when valid.
	Check func(account string) string
	// Fold returns the form in which two accounts are the same (services
	// accounts compare without case); nil compares exactly.
	Fold func(account string) string
}

// Section is a network's decoded table.
type Section interface {
	// Defaults fills in the keys the table does not set.
	Defaults(d *Defaults)
	// Check reports every invalid value of the table through ch.
	Check(ch *Checker)
}

// SecretHolder is a Section that names secrets: LoadSecrets reads them
// (and ParseFile makes their files relative to the configuration's
// folder); they are never printed.
type SecretHolder interface {
	Secrets() []SecretRef
}

// PathHolder is a Section that names other files (TLS certificates, a
// state database): ParseFile makes them relative to the configuration's
// folder.
type PathHolder interface {
	Paths() []PathRef
}

// Linter is a Section with warnings: valid values that are probably not
// meant (check-config prints them, the daemon logs them).
type Linter interface {
	Lint(ch *Checker)
}

// AdminList is a Section whose network has admins of its own: accounts
// given the admin role for commands on that network.
type AdminList interface {
	Admin(account string) bool
}

// Operator is a Section naming the Bugzilla login its network's operator
// acts as (the console's bugzilla key).
type Operator interface {
	OperatorLogin() string
}

// SecretRef is a secret of a section, read from a file (the key
// <Key>_file) or an environment variable (<Key>_env).
type SecretRef struct {
	Key  string  // base key in the table: "sasl_password", "channel[2].key"
	File *string // the value of <Key>_file; nil when there is no such key
	Env  string  // the value of <Key>_env; "" for none
	Into *Secret // where LoadSecrets puts it
}

// PathRef is a file of a section that is not read by LoadSecrets. A
// Private one (a TLS private key) must be private to its owner, like a
// secret file. The daemon refuses to start when it cannot use one
// (Validate): a file it reads must exist and be readable; where it
// Writes one, the file need not exist, but its folder must be writable.
type PathRef struct {
	Key     string // key in the table: "tls_key_file"
	Path    *string
	Private bool
	// Writes marks a file the network creates or writes (a state
	// database, a key written on the first start).
	Writes bool
}

// Network returns the registration of the network name.
func (c *Config) Network(name string) (Network, bool) {
	for _, n := range c.Networks {
		if n.Name == name {
			return n, true
		}
	}
	return Network{}, false
}

// Section returns the decoded table of the network name, or nil when the
// file does not have it.
func (c *Config) Section(name string) Section {
	return c.Sections[name]
}

// Configured returns the names of the networks whose table the file has,
// in the order of c.Networks.
func (c *Config) Configured() []string {
	var out []string
	for _, n := range c.Networks {
		if c.Sections[n.Name] != nil {
			out = append(out, n.Name)
		}
	}
	return out
}

// Tables names the tables of nets that make a network run (not
// OnRequest), for messages: "[irc] nor [matrix]" ("[irc]" alone, "[a],
// [b] nor [c]" for more). joiner is the word before the last ("nor",
// "or").
func Tables(nets []Network, joiner string) string {
	var ts []string
	for _, n := range nets {
		if n.Table != "" && !n.OnRequest {
			ts = append(ts, "["+n.Table+"]")
		}
	}
	return join(ts, joiner)
}

// join lists items as "a, b or c".
func join(items []string, joiner string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + joiner + " " + items[len(items)-1]
}

// fold returns the form in which accounts of network compare.
func (c *Config) fold(network string) func(string) string {
	if n, ok := c.Network(network); ok && n.User != nil && n.User.Fold != nil {
		return n.User.Fold
	}
	return func(s string) string { return s }
}

// Member reports whether account, as authenticated on network, is listed
// among the tree's maintainers as an identity (a network's Identity
// handles, compared exactly; never a display name such as an IRC nick).
func (t Tree) Member(network, account string) bool {
	return account != "" && slices.Contains(t.Members[network], account)
}

// Admin reports whether account, as authenticated on network, is one of
// that network's own admins (its section's AdminList: [irc] admins).
func (c *Config) Admin(network, account string) bool {
	a, ok := c.Sections[network].(AdminList)
	return ok && account != "" && a.Admin(account)
}

// OperatorLogin returns the Bugzilla login that network's operator acts as
// (its section's Operator), or "".
func (c *Config) OperatorLogin(network string) string {
	if o, ok := c.Sections[network].(Operator); ok {
		return o.OperatorLogin()
	}
	return ""
}

// AccountKey returns the [[user]] key that links an account on network
// ("irc_account"), or "" for a network without one.
func (c *Config) AccountKey(network string) string {
	if n, ok := c.Network(network); ok && n.User != nil {
		return n.User.Key
	}
	return ""
}

// TreeKeys returns the networks that have a [[tree]] key, in order, for
// tools that write [[tree]] entries (treegen).
func TreeKeys(nets []Network) []Network {
	var out []Network
	for _, n := range nets {
		if n.Tree != nil {
			out = append(out, n)
		}
	}
	return out
}

// KeepSections replaces c's network sections with old's: a network's table
// takes effect at a restart (its transport was built from it). The
// channel lists that transports reload live are theirs to keep.
func (c *Config) KeepSections(old *Config) {
	c.Sections = old.Sections
}
