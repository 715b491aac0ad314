// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers Matrix with ksecbot (cmd/ksecbot/networks.go): its
// configuration (the [matrix] table, a tree's matrix IDs, a user's
// matrix ID; config.go), built from its [matrix] section when the file
// has it. Its state files go to Env.StateDir (beside the store) unless
// matrix.state_path says otherwise.
var Network = transport.Network{
	Config: configNetwork,
	New: transport.Typed("matrix", func(cfg *Config, env transport.Env) (*Transport, error) {
		return New(cfg, Options{Logger: env.Logger, StateDir: env.StateDir, Version: env.Version})
	}),
}
