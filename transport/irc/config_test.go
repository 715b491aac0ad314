// SPDX-License-Identifier: GPL-3.0-or-later

package irc_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport/irc"
)

// minimal is a valid configuration with an [irc] table; tests append to it.
const minimal = `[bugzilla]
url = "https://bugs.example.org/"
[irc]
server = "irc.example.org:6697"
nick = "bot"
[[irc.channel]]
name = "#c"
`

func parse(doc string) (*config.Config, error) {
	return config.Parse([]byte(doc), "t.toml", irc.Network.Config)
}

// TestConfigDefaults: the [irc] defaults are IRC's own, applied by config's
// Parse through the registration.
func TestConfigDefaults(t *testing.T) {
	c, err := parse(minimal)
	if err != nil {
		t.Fatal(err)
	}
	i := c.Section(irc.Name).(*irc.Config)
	for _, ck := range []struct {
		name      string
		got, want any
	}{
		{"user", i.User, "bot"},
		{"realname", i.RealName, "ksecbot kernel security bot"},
		{"sasl_mech", i.SASLMech, "PLAIN"},
		{"sasl_user (no password)", i.SASLUser, ""},
		{"flood.burst", i.Flood.Burst, 4},
		{"flood.interval", i.Flood.Interval.Duration, 2 * time.Second},
		{"formatting", *i.Formatting, true},
		{"reconnect_max", i.ReconnectMax.Duration, time.Minute},
		{"channel[1].previews", *i.Channels[0].Previews, true},
		{"channel[1].cve_feed", i.Channels[0].CVEFeed, false},
	} {
		if ck.got != ck.want {
			t.Errorf("irc.%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	c, err = parse(strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_password_env = \"P\"\nsasl_mech = \"plain\"", 1))
	if err != nil {
		t.Fatal(err)
	}
	if i := c.Section(irc.Name).(*irc.Config); i.SASLUser != "bot" || i.SASLMech != "PLAIN" {
		t.Errorf("sasl_user = %q (want the nick when a password is set), sasl_mech = %q (want it upper-cased)", i.SASLUser, i.SASLMech)
	}
}

// TestConfigProblems: IRC's checks of its table, its [[tree]] key and its
// [[user]] key, each reported with key and line by config.Parse.
func TestConfigProblems(t *testing.T) {
	n := strings.Count(minimal, "\n")
	tests := []struct {
		name, doc, key string
		line           int
		msg            string
	}{
		{"misspelled key", minimal + "[irc.flood]\nburts = 3\n", "irc.flood.burts", n + 2, `unknown key (did you mean "burst"?)`},
		{"chanels", strings.Replace(minimal, "[[irc.channel]]", "[[irc.chanels]]", 1), "irc.chanels[1]", 6, `unknown table (did you mean "channel"?)`},
		{"negative duration", minimal + "[irc.flood]\ninterval = \"-2s\"\n", "irc.flood.interval", n + 2, "negative"},
		{"missing nick", strings.Replace(minimal, "nick = \"bot\"\n", "", 1), "irc.nick", 3, "is required"},
		{"bad nick", strings.Replace(minimal, `nick = "bot"`, `nick = "9 bot"`, 1), "irc.nick", 5, "not a valid IRC nick"},
		{"server without port", strings.Replace(minimal, "irc.example.org:6697", "irc.example.org", 1), "irc.server", 4, "host:port"},
		{"server bad port", strings.Replace(minimal, "irc.example.org:6697", "irc.example.org:ircs", 1), "irc.server", 4, "valid port"},
		{"channel without #", minimal + "[[irc.channel]]\nname = \"gentoo\"\n", "irc.channel[2].name", n + 2, "must start with # or &"},
		{"channel twice", minimal + "[[irc.channel]]\nname = \"#C\"\n", "irc.channel[2].name", n + 2, "already listed as irc.channel[1]"},
		{"channel key twice", minimal + "[[irc.channel]]\nname = \"#d\"\nkey = \"k\"\nkey_file = \"/f\"\n", "irc.channel[2].key_file", n + 4, "not both"},
		{"sasl mech", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_mech = \"SCRAM-SHA-256\"", 1), "irc.sasl_mech", 6, "PLAIN or EXTERNAL"},
		{"external without cert", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_mech = \"external\"\ntls = true", 1), "irc.tls_cert_file", 3, "is required"},
		{"sasl password twice", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_password_file = \"/p\"\nsasl_password_env = \"P\"", 1), "irc.sasl_password_env", 7, "not both"},
		{"flood burst", minimal + "[irc.flood]\nburst = 0\n", "irc.flood.burst", n + 2, "at least 1"},
		{"admin", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nadmins = [\"a b\"]", 1), "irc.admins[1]", 6, "not a services account name"},
		{"tree nick", minimal + "[[tree]]\nname = \"a\"\nirc = [\"9lives\"]\n", "tree[1].irc[1]", n + 3, `"9lives" is not a valid IRC nick`},
		{"user twice", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nirc_account = \"a\"\n[[user]]\nbugzilla = \"b@g.org\"\nirc_account = \"A\"\n", "user[2].irc_account", n + 6, "already linked by user[1]"},
		{"user without account", minimal + "[[user]]\nbugzilla = \"a@g.org\"\n", "user[1].irc_account", n + 1, "set irc_account:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.doc)
			var ps *config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse error = %v, want *config.Problems", err)
			}
			for _, p := range ps.List {
				if p.Key == tc.key && p.Line == tc.line && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("want %s at line %d: %q; got:\n%v", tc.key, tc.line, tc.msg, ps)
		})
	}
}

// TestConfigFiles: the SASL password, the channel keys and the TLS files
// of [irc] are relative to the configuration's folder; the secrets are
// read by config.Load, and a TLS key readable by others is a warning
// naming its key.
func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"irc.pass": 0o600, "chan.key": 0o600, "client.key": 0o644, "client.pem": 0o644} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("secret-"+name+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), mode)
	}
	doc := strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_password_file = \"irc.pass\"\ntls = true\ntls_cert_file = \"client.pem\"\ntls_key_file = \"client.key\"", 1)
	doc = strings.Replace(doc, `name = "#c"`, "name = \"#c\"\nkey_file = \"chan.key\"", 1)
	path := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	c, err := config.Load(path, irc.Network.Config)
	if err != nil {
		t.Fatal(err)
	}
	i := c.Section(irc.Name).(*irc.Config)
	if i.SASLPassword.Reveal() != "secret-irc.pass" || i.Channels[0].ChannelKey.Reveal() != "secret-chan.key" {
		t.Errorf("secrets read: %q, %q", i.SASLPassword.Reveal(), i.Channels[0].ChannelKey.Reveal())
	}
	if i.TLSKeyFile != filepath.Join(dir, "client.key") || i.TLSCertFile != filepath.Join(dir, "client.pem") {
		t.Errorf("TLS files %s, %s: want them beside the configuration", i.TLSCertFile, i.TLSKeyFile)
	}
	ws := config.SecretFileWarnings(c)
	if len(ws) != 1 || !strings.HasPrefix(ws[0], "irc.tls_key_file: ") {
		t.Errorf("warnings = %q, want one for irc.tls_key_file", ws)
	}
	var lint []string
	c, _ = parse(minimal)
	for _, w := range c.Warnings() {
		lint = append(lint, w.Key+": "+w.Msg)
	}
	if len(lint) != 1 || !strings.Contains(lint[0], "irc.server: port 6697 is the TLS port but tls is not true") {
		t.Errorf("warnings of [irc] on port 6697 without tls = %q", lint)
	}
}

// TestConfigAdmins: [irc] admins are services accounts with the admin role
// on IRC, compared without case.
func TestConfigAdmins(t *testing.T) {
	c, err := parse(strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nadmins = [\"Root\"]", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Admin(irc.Name, "root") || c.Admin(irc.Name, "other") || c.Admin("matrix", "root") {
		t.Errorf("Admin: [irc] admins are admins on IRC only, any case")
	}
}
