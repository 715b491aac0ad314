// SPDX-License-Identifier: GPL-3.0-or-later

package transport

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ksecbot/ksecbot/config"
)

// Network describes one chat network to the program that wires ksecbot:
// its name, the configuration table it is built from and its constructor.
// Each network package exports its Network; cmd/ksecbot lists them, one
// line each (cmd/ksecbot/networks.go), and builds every configured one
// with Build. Adding a network is its package and that line.
type Network struct {
	// Name is the network name its transport reports (Transport.Network).
	Name string
	// Table is the configuration table the network is built from, as
	// written in the file ("irc" for [irc]).
	Table string
	// OnRequest marks a network that runs only when asked for on the
	// command line (Env.Requested; the console's --console), its table
	// being optional settings; the others run when their table is there.
	OnRequest bool
	// Configured reports whether cfg has the network's table.
	Configured func(cfg *config.Config) bool
	// New builds the network's transport from cfg. It does not connect.
	New func(cfg *config.Config, env Env) (Transport, error)
}

// Env is what the process gives every network's constructor besides the
// configuration.
type Env struct {
	Logger  *slog.Logger
	Version string // ksecbot's version (CTCP VERSION, device names)
	// StateDir is where a network keeps files of its own (beside the
	// store) unless its table says otherwise.
	StateDir string
	// Stdin and Stdout are the terminal (the console network).
	Stdin  io.Reader
	Stdout io.Writer
	// Requested names the OnRequest networks asked for on the command
	// line (--console: chat.NetConsole).
	Requested map[string]bool
}

// Wanted reports whether n is to run: asked for on the command line, or
// (for a network that is not OnRequest) its table is configured.
func (n Network) Wanted(cfg *config.Config, env Env) bool {
	if n.OnRequest {
		return env.Requested[n.Name]
	}
	return n.Configured != nil && n.Configured(cfg)
}

// Build builds the transports of the wanted networks, in the order of
// nets. A constructor's error is returned with the network's table name.
func Build(nets []Network, cfg *config.Config, env Env) ([]Transport, error) {
	var out []Transport
	for _, n := range nets {
		if !n.Wanted(cfg, env) {
			continue
		}
		t, err := n.New(cfg, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Table, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Tables names the tables of the networks that run when configured (not
// OnRequest), for messages: "[irc] nor [matrix]" ("[irc]" alone, "[a], [b]
// nor [c]" for more). joiner is the word before the last ("nor", "or").
func Tables(nets []Network, joiner string) string {
	var ts []string
	for _, n := range nets {
		if !n.OnRequest {
			ts = append(ts, "["+n.Table+"]")
		}
	}
	switch len(ts) {
	case 0:
		return ""
	case 1:
		return ts[0]
	}
	return strings.Join(ts[:len(ts)-1], ", ") + " " + joiner + " " + ts[len(ts)-1]
}
