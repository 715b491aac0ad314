// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"net"
	"strings"
	"time"
)

// The tests of this package use two networks registered the way a network
// package registers its own (cmd/ksecbot lists the real ones): "chat", with
// a [chat] table of every kind of key, a [[tree]] key of display names and
// a [[user]] key compared without case; and "room", with no table, whose
// [[tree]] handles are identities and whose [[user]] accounts compare
// exactly.

// chatSection is the [chat] table.
type chatSection struct {
	Server       string        `toml:"server"`
	Nick         string        `toml:"nick"`
	TLS          bool          `toml:"tls"`
	Timeout      Duration      `toml:"timeout"` // default 30s
	PasswordFile string        `toml:"password_file"`
	PasswordEnv  string        `toml:"password_env"`
	CertFile     string        `toml:"cert_file"`
	KeyFile      string        `toml:"key_file"` // private
	Channels     []chatChannel `toml:"channel"`
	Limits       chatLimits    `toml:"limits"`
	Admins       []string      `toml:"admins"`
	Operator     string        `toml:"operator"`

	Password Secret `toml:"-"`
}

type chatChannel struct {
	Name    string `toml:"name"`
	Private bool   `toml:"private"`
	KeyFile string `toml:"key_file"`

	Key Secret `toml:"-"`
}

type chatLimits struct {
	Burst    int      `toml:"burst"`    // default 4
	Interval Duration `toml:"interval"` // default 2s
}

func (c *chatSection) Defaults(d *Defaults) {
	d.Duration("timeout", &c.Timeout, 30*time.Second)
	if !d.Has("limits.burst") {
		c.Limits.Burst = 4
	}
	d.Duration("limits.interval", &c.Limits.Interval, 2*time.Second)
	if c.Operator == "" {
		c.Operator = strings.TrimSuffix(d.StorePath, ".db") + "-operator"
	}
}

func (c *chatSection) Check(ch *Checker) {
	if c.Server == "" {
		ch.Add("server", "is required")
	} else {
		ch.HostPort("server", c.Server, false)
	}
	if c.Nick == "" {
		ch.Add("nick", "is required")
	}
	ch.SecretSource("password", c.PasswordFile, c.PasswordEnv)
	ch.Positive("timeout", c.Timeout)
	if c.Limits.Burst < 1 {
		ch.Add("limits.burst", "must be at least 1; got %d", c.Limits.Burst)
	}
	for i, cc := range c.Channels {
		if !strings.HasPrefix(cc.Name, "#") {
			ch.Add(Nth("channel", i, "name"), "%q must start with #", cc.Name)
		}
	}
}

func (c *chatSection) Lint(ch *Checker) {
	if _, port, err := net.SplitHostPort(c.Server); err == nil && port == "6697" && !c.TLS {
		ch.Add("server", "port 6697 without tls")
	}
}

func (c *chatSection) Secrets() []SecretRef {
	refs := []SecretRef{{Key: "password", File: &c.PasswordFile, Env: c.PasswordEnv, Into: &c.Password}}
	for i := range c.Channels {
		refs = append(refs, SecretRef{Key: Nth("channel", i, "key"), File: &c.Channels[i].KeyFile, Into: &c.Channels[i].Key})
	}
	return refs
}

func (c *chatSection) Paths() []PathRef {
	return []PathRef{{Key: "cert_file", Path: &c.CertFile}, {Key: "key_file", Path: &c.KeyFile, Private: true}}
}

func (c *chatSection) Admin(account string) bool {
	for _, a := range c.Admins {
		if strings.EqualFold(a, account) {
			return true
		}
	}
	return false
}

func (c *chatSection) OperatorLogin() string { return c.Operator }

var testNets = []Network{
	{
		Name:    "chat",
		Table:   "chat",
		Section: func() Section { return new(chatSection) },
		Tree: &TreeKey{Key: "chat", Holds: "chat nicks", Check: func(h string) string {
			if strings.ContainsAny(h, " @") {
				return "is not a chat nick"
			}
			return ""
		}},
		User: &UserKey{Key: "chat_account", Fold: strings.ToLower},
	},
	{
		Name: "room",
		Tree: &TreeKey{Key: "room", Identity: true, Check: func(h string) string {
			if !strings.HasPrefix(h, "@") {
				return "is not a room ID"
			}
			return ""
		}},
		User: &UserKey{Key: "room", Check: func(h string) string {
			if !strings.HasPrefix(h, "@") {
				return "is not a room ID"
			}
			return ""
		}},
	},
}

// chat returns the [chat] section of c.
func chat(c *Config) *chatSection {
	s, _ := c.Section("chat").(*chatSection)
	return s
}
