// SPDX-License-Identifier: GPL-3.0-or-later

package console

import (
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// Config is the optional [console] table, for --console and the demo.
type Config struct {
	Private *bool `toml:"private"` // default true: the operator sees restricted bugs
	// Bugzilla is the operator's Bugzilla login, used by !claim typed on
	// the console (the console operator is an admin).
	Bugzilla string `toml:"bugzilla"`
	// CVEFeed: the kernel CVE watch prints its lines on the console too.
	CVEFeed bool `toml:"cve_feed"`
}

// configNetwork is the console's part of the configuration: the [console]
// table only (the terminal has no accounts and no handles).
var configNetwork = config.Network{
	Name:      chat.NetConsole,
	Table:     "console",
	OnRequest: true,
	Section:   func() config.Section { return new(Config) },
}

// Defaults implements config.Section.
func (c *Config) Defaults(*config.Defaults) {
	if c.Private == nil {
		yes := true
		c.Private = &yes
	}
}

// Check implements config.Section: any value is valid.
func (c *Config) Check(*config.Checker) {}

// OperatorLogin implements config.Operator: the login the console's
// commands act as ("" for the default, the first admin [[user]]).
func (c *Config) OperatorLogin() string { return c.Bugzilla }
