// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/console"
	"github.com/ksecbot/ksecbot/transport/irc"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

// networks are the chat networks ksecbot can use, one line each: a new
// network is its package (a transport.Network built from package
// transport and chat) and its line here. The daemon and the demo build
// every wanted one (transport.Build), in this order.
var networks = []transport.Network{
	console.Network,
	irc.Network,
	matrix.Network,
}

// netConfigs returns the networks' parts of the configuration, which the
// configuration file is parsed for.
func netConfigs() []config.Network { return transport.Configs(networks) }
