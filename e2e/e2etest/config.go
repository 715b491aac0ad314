// SPDX-License-Identifier: GPL-3.0-or-later

package e2etest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Config is what the end-to-end suites vary in ksecbot's TOML file. The
// zero value of a field leaves ksecbot's default, except DigestAfter.
type Config struct {
	// Dir holds the config file, the secrets and the store (state/ksecbot.db).
	Dir          string
	BugzillaURL  string
	PollInterval time.Duration // default 500ms
	Timeout      time.Duration // [bugzilla] timeout
	// DefaultAssignee is [bugzilla] default_assignee.
	DefaultAssignee string
	// AutoCC is [announce] auto_cc: logins CC'd on every new bug.
	AutoCC []string
	// RestrictedAutoCC is [announce] restricted_auto_cc: the only logins
	// auto-CC adds to a restricted bug.
	RestrictedAutoCC []string
	// CatchUp is [bugzilla] catch_up when set (a negative value: "0s").
	CatchUp time.Duration
	// DigestAfter is [announce] digest_after; 0 turns the digest off,
	// a negative value leaves the default.
	DigestAfter int
	IRC         *IRC
	Matrix      *Matrix
	Trees       []Tree
	// Extra is raw TOML appended at the end ([[user]] tables, ...).
	Extra string
}

// IRC is the [irc] table and its channels.
type IRC struct {
	Server        string
	Nick          string
	SASLUser      string // default "ksecbot"
	SASLPassword  string // default SASLUser + "-pass" (the test accounts)
	Channels      []string
	ChannelKeys   map[string]string // channel -> key (+k), written to a key_file
	Private       []string          // channels with private = true (restricted bugs in full)
	CVEFeed       []string          // channels with cve_feed = true (the kernel CVE watch's lines)
	FloodBurst    int               // [irc.flood] burst; 0: default
	FloodInterval time.Duration     // [irc.flood] interval; 0: default
}

// Matrix is the [matrix] table and its rooms (password login, or an
// access token when AccessToken is set).
type Matrix struct {
	Homeserver  string
	UserID      string
	Password    string
	AccessToken string // access_token_file instead of password_file
	Encryption  bool
	Rooms       []string
	Private     []string // rooms with private = true (restricted bugs in full)
}

// Tree is a [[tree]] entry.
type Tree struct {
	Name     string
	Aliases  []string
	AutoCC   bool // CC the tree's Bugzilla logins when it is named
	Packages []string
	Bugzilla []string
	IRC      []string
	Matrix   []string
}

// StorePath is where the config puts the SQLite store.
func (c Config) StorePath() string { return filepath.Join(c.Dir, "state", "ksecbot.db") }

// Path is where Write puts the config file.
func (c Config) Path() string { return filepath.Join(c.Dir, "ksecbot.toml") }

// TOML renders the configuration; the secret files must exist (Write
// creates them).
func (c Config) TOML() string {
	var b strings.Builder
	poll := c.PollInterval
	if poll == 0 {
		poll = 500 * time.Millisecond
	}
	fmt.Fprintf(&b, "[bugzilla]\nurl = %q\napi_key_file = %q\npoll_interval = %q\npublic_url = \"https://bugs.gentoo.org\"\n",
		c.BugzillaURL, c.secretPath("bugzilla.key"), poll.String())
	if c.Timeout > 0 {
		fmt.Fprintf(&b, "timeout = %q\n", c.Timeout.String())
	}
	if c.DefaultAssignee != "" {
		fmt.Fprintf(&b, "default_assignee = %q\n", c.DefaultAssignee)
	}
	if c.CatchUp != 0 {
		fmt.Fprintf(&b, "catch_up = %q\n", max(c.CatchUp, 0).String())
	}
	b.WriteString("\n[[watch]]\nproduct = \"Gentoo Security\"\ncomponent = \"Kernel\"\n\n")
	fmt.Fprintf(&b, "[store]\npath = %q\n\n", c.StorePath())
	if c.DigestAfter >= 0 || len(c.AutoCC) > 0 || len(c.RestrictedAutoCC) > 0 {
		b.WriteString("[announce]\n")
		if c.DigestAfter >= 0 {
			fmt.Fprintf(&b, "digest_after = %d\n", c.DigestAfter)
		}
		if len(c.AutoCC) > 0 {
			fmt.Fprintf(&b, "auto_cc = %s\n", list(c.AutoCC))
		}
		if len(c.RestrictedAutoCC) > 0 {
			fmt.Fprintf(&b, "restricted_auto_cc = %s\n", list(c.RestrictedAutoCC))
		}
		b.WriteString("\n")
	}
	if i := c.IRC; i != nil {
		fmt.Fprintf(&b, "[irc]\nserver = %q\nnick = %q\nsasl_user = %q\nsasl_password_file = %q\n\n",
			i.Server, i.Nick, i.saslUser(), c.secretPath("irc.pass"))
		if i.FloodBurst > 0 || i.FloodInterval > 0 {
			b.WriteString("[irc.flood]\n")
			if i.FloodBurst > 0 {
				fmt.Fprintf(&b, "burst = %d\n", i.FloodBurst)
			}
			if i.FloodInterval > 0 {
				fmt.Fprintf(&b, "interval = %q\n", i.FloodInterval.String())
			}
			b.WriteString("\n")
		}
		for n, ch := range i.Channels {
			fmt.Fprintf(&b, "[[irc.channel]]\nname = %q\n", ch)
			if i.ChannelKeys[ch] != "" {
				fmt.Fprintf(&b, "key_file = %q\n", c.secretPath(chanKeyFile(n)))
			}
			if slices.Contains(i.Private, ch) {
				b.WriteString("private = true\n")
			}
			if slices.Contains(i.CVEFeed, ch) {
				b.WriteString("cve_feed = true\n")
			}
			b.WriteString("\n")
		}
	}
	if m := c.Matrix; m != nil {
		secret := "password_file = " + fmt.Sprintf("%q", c.secretPath("matrix.pass"))
		if m.AccessToken != "" {
			secret = "access_token_file = " + fmt.Sprintf("%q", c.secretPath("matrix.token"))
		}
		fmt.Fprintf(&b, "[matrix]\nhomeserver = %q\nuser_id = %q\n%s\nencryption = %t\n\n",
			m.Homeserver, m.UserID, secret, m.Encryption)
		for _, r := range m.Rooms {
			fmt.Fprintf(&b, "[[matrix.room]]\nid = %q\n", r)
			if slices.Contains(m.Private, r) {
				b.WriteString("private = true\n")
			}
			b.WriteString("\n")
		}
	}
	for _, tr := range c.Trees {
		fmt.Fprintf(&b, "[[tree]]\nname = %q\naliases = %s\nauto_cc = %t\npackages = %s\nbugzilla = %s\nirc = %s\nmatrix = %s\n\n",
			tr.Name, list(tr.Aliases), tr.AutoCC, list(tr.Packages), list(tr.Bugzilla), list(tr.IRC), list(tr.Matrix))
	}
	b.WriteString(c.Extra)
	return b.String()
}

// Write writes the secret files and the config file into Dir and returns
// the config's path. Writing again replaces the file (for reload tests).
func (c Config) Write(t testing.TB) string {
	t.Helper()
	secrets := map[string]string{"bugzilla.key": "key-ksecbot"}
	if c.IRC != nil {
		secrets["irc.pass"] = c.IRC.saslPassword()
		for n, ch := range c.IRC.Channels {
			if key := c.IRC.ChannelKeys[ch]; key != "" {
				secrets[chanKeyFile(n)] = key
			}
		}
	}
	if c.Matrix != nil {
		secrets["matrix.pass"] = c.Matrix.Password
		if c.Matrix.AccessToken != "" {
			secrets["matrix.token"] = c.Matrix.AccessToken
		}
	}
	for name, val := range secrets {
		if err := os.WriteFile(c.secretPath(name), []byte(val+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	WriteFile(t, c.Path(), c.TOML())
	return c.Path()
}

// WriteFile replaces path's content atomically (write and rename), so a
// running ksecbot never reads half a file.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (c Config) secretPath(name string) string { return filepath.Join(c.Dir, name) }

// chanKeyFile names the key file of the n-th IRC channel.
func chanKeyFile(n int) string { return fmt.Sprintf("irc-chan%d.key", n) }

func (i *IRC) saslUser() string {
	if i.SASLUser == "" {
		return "ksecbot"
	}
	return i.SASLUser
}

func (i *IRC) saslPassword() string {
	if i.SASLPassword == "" {
		return i.saslUser() + "-pass"
	}
	return i.SASLPassword
}

func list(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
