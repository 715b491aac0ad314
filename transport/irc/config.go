// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/config"
)

// Name is the network name of IRC channels and identities.
const Name = "irc"

// Defaults of the [irc] keys that have one (see config.sample.toml).
const (
	DefaultRealName   = "ksecbot kernel security bot"
	DefaultSASLMech   = "PLAIN"
	DefaultFloodBurst = 4
	DefaultFloodEvery = 2 * time.Second
)

// Config is the [irc] table. Its keys are a contract: only ever added,
// never renamed.
type Config struct {
	Server           string          `toml:"server"` // host:port
	TLS              bool            `toml:"tls"`
	TLSCAFile        string          `toml:"tls_ca_file"`   // custom CA bundle
	TLSCertFile      string          `toml:"tls_cert_file"` // client certificate (SASL EXTERNAL)
	TLSKeyFile       string          `toml:"tls_key_file"`
	TLSInsecure      bool            `toml:"tls_insecure_skip_verify"` // tests only
	Nick             string          `toml:"nick"`
	User             string          `toml:"user"`
	RealName         string          `toml:"realname"`
	SASLUser         string          `toml:"sasl_user"`
	SASLPasswordFile string          `toml:"sasl_password_file"`
	SASLPasswordEnv  string          `toml:"sasl_password_env"`
	SASLMech         string          `toml:"sasl_mech"` // PLAIN (default) or EXTERNAL
	NickServ         bool            `toml:"nickserv"`  // fall back to NickServ IDENTIFY; default false
	Channels         []Channel       `toml:"channel"`
	Flood            Flood           `toml:"flood"`
	Formatting       *bool           `toml:"formatting"`    // bold ids, severity colours; default true
	ReconnectMax     config.Duration `toml:"reconnect_max"` // backoff cap; default 1m
	Admins           []string        `toml:"admins"`        // services accounts with the admin role on IRC

	SASLPassword config.Secret `toml:"-"`
}

// Channel is one [[irc.channel]].
type Channel struct {
	Name     string `toml:"name"`
	Private  bool   `toml:"private"`
	Key      string `toml:"key"`
	KeyFile  string `toml:"key_file"`
	Notice   bool   `toml:"notice"`
	Previews *bool  `toml:"previews"` // default true
	CVEFeed  bool   `toml:"cve_feed"` // kernel CVE watch lines; default false

	ChannelKey config.Secret `toml:"-"` // from Key or KeyFile
}

// Flood is the [irc.flood] table: the token bucket for output.
type Flood struct {
	Burst    int             `toml:"burst"`    // default 4
	Interval config.Duration `toml:"interval"` // one line per interval after the burst; default 2s
	Disabled bool            `toml:"disabled"` // tests only: send without limit
}

// configNetwork is IRC's part of the configuration: the [irc] table, a
// tree's irc nicks (highlighted, never identity) and a user's services
// account (irc_account, compared without case).
var configNetwork = config.Network{
	Name:    Name,
	Table:   "irc",
	Section: func() config.Section { return new(Config) },
	Tree: &config.TreeKey{Key: "irc", Holds: "IRC nicks of these maintainers", Check: func(n string) string {
		if !validNick(n) {
			return "is not a valid IRC nick"
		}
		return ""
	}},
	User: &config.UserKey{Key: "irc_account", Fold: strings.ToLower},
}

func boolPtr(b bool) *bool { return &b }

// Defaults implements config.Section.
func (i *Config) Defaults(d *config.Defaults) {
	if !d.Has("user") {
		i.User = i.Nick
	}
	if !d.Has("realname") {
		i.RealName = DefaultRealName
	}
	if !d.Has("sasl_mech") {
		i.SASLMech = DefaultSASLMech
	}
	i.SASLMech = strings.ToUpper(i.SASLMech)
	if !d.Has("sasl_user") && (i.SASLPasswordFile != "" || i.SASLPasswordEnv != "") {
		i.SASLUser = i.Nick
	}
	if !d.Has("flood.burst") {
		i.Flood.Burst = DefaultFloodBurst
	}
	d.Duration("flood.interval", &i.Flood.Interval, DefaultFloodEvery)
	if i.Formatting == nil {
		i.Formatting = boolPtr(true)
	}
	d.Duration("reconnect_max", &i.ReconnectMax, DefaultReconnectMax)
	for k := range i.Channels {
		ch := &i.Channels[k]
		if ch.Previews == nil {
			ch.Previews = boolPtr(true)
		}
		if ch.Key != "" {
			ch.ChannelKey = config.Secret(ch.Key)
		}
	}
}

// Secrets implements config.SecretHolder: the SASL password and the
// channel keys read from files.
func (i *Config) Secrets() []config.SecretRef {
	refs := []config.SecretRef{{Key: "sasl_password", File: &i.SASLPasswordFile, Env: i.SASLPasswordEnv, Into: &i.SASLPassword}}
	for k := range i.Channels {
		ch := &i.Channels[k]
		refs = append(refs, config.SecretRef{Key: config.Nth("channel", k, "key"), File: &ch.KeyFile, Into: &ch.ChannelKey})
	}
	return refs
}

// Paths implements config.PathHolder: the TLS files.
func (i *Config) Paths() []config.PathRef {
	return []config.PathRef{
		{Key: "tls_ca_file", Path: &i.TLSCAFile},
		{Key: "tls_cert_file", Path: &i.TLSCertFile},
		{Key: "tls_key_file", Path: &i.TLSKeyFile, Private: true},
	}
}

// Admin implements config.AdminList: [irc] admins, services accounts
// compared without case.
func (i *Config) Admin(account string) bool {
	for _, a := range i.Admins {
		if strings.EqualFold(a, account) {
			return true
		}
	}
	return false
}

// Lint implements config.Linter.
func (i *Config) Lint(ch *config.Checker) {
	if !i.TLS {
		if _, port, err := net.SplitHostPort(i.Server); err == nil && port == "6697" {
			ch.Add("server", "port 6697 is the TLS port but tls is not true: set tls = true (TLS is never turned on by the port alone)")
		}
	}
}

// Check implements config.Section: server, nick, SASL, TLS, channels,
// flood and admins.
func (i *Config) Check(ch *config.Checker) {
	if i.Server == "" {
		ch.Add("server", `is required (e.g. "irc.libera.chat:6697")`)
	} else {
		ch.HostPort("server", i.Server, false)
	}
	if i.Nick == "" {
		ch.Add("nick", "is required")
	} else if !validNick(i.Nick) {
		ch.Add("nick", "%q is not a valid IRC nick", i.Nick)
	}
	if strings.ContainsAny(i.User, " @\r\n\x00") {
		ch.Add("user", "%q is not a valid IRC user name", i.User)
	}
	switch i.SASLMech {
	case "PLAIN":
		hasPass := i.SASLPasswordFile != "" || i.SASLPasswordEnv != ""
		if i.SASLUser != "" && !hasPass {
			ch.Add("sasl_user", "needs sasl_password_file or sasl_password_env")
		}
	case "EXTERNAL":
		if i.TLSCertFile == "" {
			ch.Add("tls_cert_file", "is required by sasl_mech = \"EXTERNAL\"")
		}
		if !i.TLS {
			ch.Add("tls", "must be true for sasl_mech = \"EXTERNAL\"")
		}
	default:
		ch.Add("sasl_mech", "must be PLAIN or EXTERNAL; got %q", i.SASLMech)
	}
	ch.SecretSource("sasl_password", i.SASLPasswordFile, i.SASLPasswordEnv)
	if (i.TLSCertFile == "") != (i.TLSKeyFile == "") {
		ch.Add("tls_key_file", "tls_cert_file and tls_key_file go together")
	}
	checkChannels(ch, i.Channels)
	if !i.Flood.Disabled {
		if i.Flood.Burst < 1 {
			ch.Add("flood.burst", "must be at least 1; got %d", i.Flood.Burst)
		}
		ch.Positive("flood.interval", i.Flood.Interval)
	}
	ch.Positive("reconnect_max", i.ReconnectMax)
	for k, a := range i.Admins {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " ,*?!@\r\n\x00") {
			ch.Add(fmt.Sprintf("admins[%d]", k+1), "%q is not a services account name", a)
		}
	}
}

// checkChannels checks the [[irc.channel]] entries.
func checkChannels(ch *config.Checker, channels []Channel) {
	seen := map[string]int{}
	for k, c := range channels {
		key := config.Nth("channel", k, "name")
		switch {
		case c.Name == "":
			ch.Add(key, "is required (e.g. \"#gentoo-kernel\")")
		case c.Name[0] != '#' && c.Name[0] != '&':
			ch.Add(key, "%q must start with # or &", c.Name)
		case strings.ContainsAny(c.Name, " ,:\a\x00\r\n") || len(c.Name) < 2:
			ch.Add(key, "%q is not a valid channel name", c.Name)
		default:
			fold := strings.ToLower(c.Name)
			if prev, dup := seen[fold]; dup {
				ch.Add(key, "%q is already listed as irc.channel[%d]", c.Name, prev+1)
			} else {
				seen[fold] = k
			}
		}
		if c.Key != "" && c.KeyFile != "" {
			ch.Add(config.Nth("channel", k, "key_file"), "set key or key_file, not both")
		}
		if strings.ContainsAny(c.Key, " ,\r\n\x00") {
			ch.Add(config.Nth("channel", k, "key"), "must not contain spaces, commas or control characters")
		}
	}
}

// nickBadRune are the characters no nick may hold.
const nickBadRune = " ,*?!@#&:\x00\r\n\a"

func validNick(n string) bool {
	if n == "" || strings.ContainsAny(n, nickBadRune) || n[0] == '$' || n[0] == '-' || (n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
