// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers IRC with ksecbot (cmd/ksecbot/networks.go): its
// configuration (the [irc] table, a tree's irc nicks, a user's
// irc_account; config.go), built from its [irc] section when the file has
// it.
var Network = transport.Network{
	Config: configNetwork,
	New: transport.Typed("irc", func(cfg *Config, env transport.Env) (*Transport, error) {
		return New(cfg, Options{Logger: env.Logger, Version: env.Version, StateDir: env.StateDir})
	}),
}
