// SPDX-License-Identifier: GPL-3.0-or-later

package transport

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/ksecbot/ksecbot/config"
)

// Network describes one chat network to the program that wires ksecbot:
// its part of the configuration and its constructor. Each network package
// exports its Network; cmd/ksecbot lists them, one line each
// (cmd/ksecbot/networks.go), parses the configuration file for their
// Configs and builds every wanted one with Build. Adding a network is its
// package and that line.
type Network struct {
	// Config is the network's part of the configuration: its name, its
	// table and the type it decodes into, its [[tree]] and [[user]] keys.
	Config config.Network
	// New builds the network's transport from its section (nil when the
	// file has no table of an OnRequest network) and env. It gets nothing
	// else of the configuration. It does not connect.
	New func(sec config.Section, env Env) (Transport, error)
}

// Typed makes a Network's New for a network whose section has type S: it
// checks the type (a mistake in the registration is an error, not a
// panic) and never returns a typed nil in the Transport interface.
func Typed[S config.Section, T Transport](name string, build func(sec S, env Env) (T, error)) func(config.Section, Env) (Transport, error) {
	return func(sec config.Section, env Env) (Transport, error) {
		s, ok := sec.(S)
		if !ok {
			var want S
			return nil, fmt.Errorf("%s: section of type %T, want %T", name, sec, want)
		}
		t, err := build(s, env)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

// Name returns the network name its transport reports
// (Transport.Network).
func (n Network) Name() string { return n.Config.Name }

// Env is what the process gives every network's constructor besides its
// section.
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
	// InputEnded, if set, is called once Stdin has ended (Ctrl-D) and
	// what was read from it is answered: ksecbot demo ends then.
	InputEnded func()
}

// Configs returns the configuration parts of nets, for config.Parse.
func Configs(nets []Network) []config.Network {
	out := make([]config.Network, len(nets))
	for i, n := range nets {
		out[i] = n.Config
	}
	return out
}

// Wanted reports whether n is to run: asked for on the command line, or
// (for a network that is not OnRequest) its table is configured.
func (n Network) Wanted(cfg *config.Config, env Env) bool {
	if n.Config.OnRequest {
		return env.Requested[n.Name()]
	}
	return cfg.Section(n.Name()) != nil
}

// Build builds the transports of the wanted networks, in the order of
// nets, each from its own section. A constructor's error is returned with
// the network's table name.
func Build(nets []Network, cfg *config.Config, env Env) ([]Transport, error) {
	var out []Transport
	for _, n := range nets {
		if !n.Wanted(cfg, env) {
			continue
		}
		t, err := n.New(cfg.Section(n.Name()), env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Config.Table, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Tables names the tables of the networks that run when configured (not
// OnRequest), for messages: "[irc] nor [matrix]" ("[irc]" alone, "[a], [b]
// nor [c]" for more). joiner is the word before the last ("nor", "or").
func Tables(nets []Network, joiner string) string {
	return config.Tables(Configs(nets), joiner)
}
