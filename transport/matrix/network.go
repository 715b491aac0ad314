// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers Matrix with ksecbot (cmd/ksecbot/networks.go): built
// from the [matrix] table when it is there; its state files go to
// Env.StateDir (beside the store) unless matrix.state_path says otherwise.
var Network = transport.Network{
	Name:       config.NetMatrix,
	Table:      "matrix",
	Configured: func(cfg *config.Config) bool { return cfg.Matrix != nil },
	New: func(cfg *config.Config, env transport.Env) (transport.Transport, error) {
		t, err := New(cfg.Matrix, Options{Logger: env.Logger, StateDir: env.StateDir, Version: env.Version})
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return t, nil
	},
}
