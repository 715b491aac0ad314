// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers IRC with ksecbot (cmd/ksecbot/networks.go): built
// from the [irc] table when it is there.
var Network = transport.Network{
	Name:       config.NetIRC,
	Table:      "irc",
	Configured: func(cfg *config.Config) bool { return cfg.IRC != nil },
	New: func(cfg *config.Config, env transport.Env) (transport.Transport, error) {
		t, err := New(cfg.IRC, Options{Logger: env.Logger, Version: env.Version})
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return t, nil
	},
}
