// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"fmt"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Network registers Matrix with ksecbot (cmd/ksecbot/networks.go): its
// configuration (the [matrix] table, a tree's matrix IDs, a user's
// matrix ID; config.go), built from its [matrix] section when the file
// has it. Its state files go to Env.StateDir (beside the store) unless
// matrix.state_path says otherwise.
var Network = transport.Network{
	Config: configNetwork,
	New: func(sec config.Section, env transport.Env) (transport.Transport, error) {
		cfg, ok := sec.(*Config)
		if !ok {
			return nil, fmt.Errorf("matrix: section of type %T, want *matrix.Config", sec)
		}
		t, err := New(cfg, Options{Logger: env.Logger, StateDir: env.StateDir, Version: env.Version})
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return t, nil
	},
}
