// SPDX-License-Identifier: GPL-3.0-or-later

package console

import (
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers the console with ksecbot (cmd/ksecbot/networks.go):
// it runs only when asked for (--console, ksecbot demo), on the terminal
// (Env.Stdin, Env.Stdout); the optional [console] table (config.go) sets
// whether it is private (default true: the operator sees restricted bugs),
// gets the kernel CVE watch's lines (cve_feed) and the login its commands
// act as.
var Network = transport.Network{
	Config: configNetwork,
	New: func(sec config.Section, env transport.Env) (transport.Transport, error) {
		private, feed := true, false
		if c, ok := sec.(*Config); ok {
			private = c.Private == nil || *c.Private
			feed = c.CVEFeed
		}
		return New(Options{In: env.Stdin, Out: env.Stdout, Private: private, CVEFeed: feed, InputEnded: env.InputEnded}), nil
	},
}
