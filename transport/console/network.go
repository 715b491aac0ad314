// SPDX-License-Identifier: GPL-3.0-or-later

package console

import (
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers the console with ksecbot (cmd/ksecbot/networks.go):
// it runs only when asked for (--console, ksecbot demo), on the terminal
// (Env.Stdin, Env.Stdout); the optional [console] table sets whether it
// is private (default true: the operator sees restricted bugs) and gets
// the kernel CVE watch's lines (cve_feed).
var Network = transport.Network{
	Name:       chat.NetConsole,
	Table:      "console",
	OnRequest:  true,
	Configured: func(cfg *config.Config) bool { return cfg.Console != nil },
	New: func(cfg *config.Config, env transport.Env) (transport.Transport, error) {
		private := cfg.Console == nil || cfg.Console.Private == nil || *cfg.Console.Private
		feed := cfg.Console != nil && cfg.Console.CVEFeed
		return New(Options{In: env.Stdin, Out: env.Stdout, Private: private, CVEFeed: feed}), nil
	},
}
