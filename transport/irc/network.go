// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"fmt"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers IRC with ksecbot (cmd/ksecbot/networks.go): its
// configuration (the [irc] table, a tree's irc nicks, a user's
// irc_account; config.go), built from its [irc] section when the file has
// it.
var Network = transport.Network{
	Config: configNetwork,
	New: func(sec config.Section, env transport.Env) (transport.Transport, error) {
		cfg, ok := sec.(*Config)
		if !ok {
			return nil, fmt.Errorf("irc: section of type %T, want *irc.Config", sec)
		}
		t, err := New(cfg, Options{Logger: env.Logger, Version: env.Version, StateDir: env.StateDir})
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return t, nil
	},
}
