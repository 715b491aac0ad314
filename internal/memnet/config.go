// SPDX-License-Identifier: GPL-3.0-or-later

package memnet

import (
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// Config is the [memnet] table: the channels the bot is in.
type Config struct {
	Channels []Channel `toml:"channel"`
}

// Channel is one [[memnet.channel]].
type Channel struct {
	Name    string `toml:"name"`
	Private bool   `toml:"private"` // may show restricted bugs in full
}

// configNetwork is memnet's part of the configuration, registered the way
// a real network registers its own: its table, its key in [[tree]] (the
// maintainers' memnet handles, highlighted) and in [[user]] (the account
// the network vouches for, linking a person to a Bugzilla login).
var configNetwork = config.Network{
	Name:    Name,
	Table:   Name,
	Section: func() config.Section { return new(Config) },
	Tree:    &config.TreeKey{Key: Name, Holds: "memnet handles of these maintainers", Check: checkName},
	User:    &config.UserKey{Key: Name + "_account", Check: checkName},
}

// checkName is the check of a memnet handle or account.
func checkName(s string) string {
	if strings.ContainsAny(s, " ,") {
		return "must not contain spaces or commas"
	}
	return ""
}

// Defaults implements config.Section: nothing has a default.
func (c *Config) Defaults(*config.Defaults) {}

// Check implements config.Section: every channel has a name starting
// with #, listed once.
func (c *Config) Check(ch *config.Checker) {
	if len(c.Channels) == 0 {
		ch.Add("", "needs at least one [[%s.channel]]", Name)
	}
	seen := map[string]bool{}
	for i, cc := range c.Channels {
		key := config.Nth("channel", i, "name")
		switch {
		case !strings.HasPrefix(cc.Name, "#") || len(cc.Name) < 2:
			ch.Add(key, "%q must start with # (e.g. \"#sec\")", cc.Name)
		case seen[cc.Name]:
			ch.Add(key, "%q is listed twice", cc.Name)
		}
		seen[cc.Name] = true
	}
}

// channels returns the configured channels.
func (c *Config) channels() []chat.Channel {
	out := make([]chat.Channel, len(c.Channels))
	for i, cc := range c.Channels {
		out[i] = chat.Channel{Name: cc.Name, Private: cc.Private}
	}
	return out
}
