// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ksecbot/ksecbot/config"
)

// Name is the network name of Matrix rooms and identities.
const Name = "matrix"

// Config is the [matrix] table. Its keys are a contract: only ever added,
// never renamed.
type Config struct {
	Homeserver      string   `toml:"homeserver"`
	UserID          string   `toml:"user_id"`
	AccessTokenFile string   `toml:"access_token_file"`
	AccessTokenEnv  string   `toml:"access_token_env"`
	PasswordFile    string   `toml:"password_file"`
	PasswordEnv     string   `toml:"password_env"`
	DeviceID        string   `toml:"device_id"`
	Encryption      bool     `toml:"encryption"`
	PickleKeyFile   string   `toml:"pickle_key_file"`
	StatePath       string   `toml:"state_path"` // mautrix/crypto SQLite; default beside the store
	Rooms           []Room   `toml:"room"`
	Admins          []string `toml:"admins"` // may invite the bot to unlisted rooms
	// RecoveryKeyFile holds the recovery key of the bot's cross-signing
	// keys in secret storage; written on the first start with
	// encryption. Default: beside the state file.
	RecoveryKeyFile string `toml:"recovery_key_file"`
	// ShareKeys says which devices get the room keys of private rooms:
	// ShareKeysCrossSigned (default) or ShareKeysAll. Public rooms share
	// with every device.
	ShareKeys   string `toml:"share_keys"`
	DisplayName string `toml:"display_name"` // profile name, set at start when not empty
	Avatar      string `toml:"avatar"`       // mxc:// URL or an image file uploaded once

	AccessToken config.Secret `toml:"-"`
	Password    config.Secret `toml:"-"`
	PickleKey   config.Secret `toml:"-"`
}

// Values of [matrix] share_keys.
const (
	ShareKeysCrossSigned = "cross-signed"
	ShareKeysAll         = "all"
)

// Room is one [[matrix.room]].
type Room struct {
	ID       string `toml:"id"` // room ID or alias
	Private  bool   `toml:"private"`
	Previews *bool  `toml:"previews"` // default true
	CVEFeed  bool   `toml:"cve_feed"` // kernel CVE watch lines; default false
}

var (
	mxidRE = regexp.MustCompile(`^@[^:\s]+:[^\s]+$`)
	roomRE = regexp.MustCompile(`^[!#][^:\s]+:[^\s]+$`)
	mxcRE  = regexp.MustCompile(`^mxc://[^/\s]+/[A-Za-z0-9_-]+$`)
)

// checkUserID is the check of a Matrix user ID in [[tree]] and [[user]].
func checkUserID(s string) string {
	if !mxidRE.MatchString(s) {
		return "is not a Matrix user ID like @name:server"
	}
	return ""
}

// configNetwork is Matrix's part of the configuration: the [matrix]
// table, a tree's matrix IDs (highlighted, and identities: they make a
// maintainer) and a user's matrix ID (compared exactly).
var configNetwork = config.Network{
	Name:    Name,
	Table:   "matrix",
	Section: func() config.Section { return new(Config) },
	Tree:    &config.TreeKey{Key: "matrix", Holds: "Matrix IDs (@name:server) of these maintainers", Check: checkUserID, Identity: true},
	User:    &config.UserKey{Key: "matrix", Check: checkUserID},
}

// Defaults implements config.Section.
func (m *Config) Defaults(d *config.Defaults) {
	if !d.Has("state_path") {
		m.StatePath = strings.TrimSuffix(d.StorePath, ".db") + "-matrix.db"
	}
	if !d.Has("share_keys") {
		m.ShareKeys = ShareKeysCrossSigned
	}
	for k := range m.Rooms {
		if m.Rooms[k].Previews == nil {
			yes := true
			m.Rooms[k].Previews = &yes
		}
	}
}

// Secrets implements config.SecretHolder.
func (m *Config) Secrets() []config.SecretRef {
	return []config.SecretRef{
		{Key: "access_token", File: &m.AccessTokenFile, Env: m.AccessTokenEnv, Into: &m.AccessToken},
		{Key: "password", File: &m.PasswordFile, Env: m.PasswordEnv, Into: &m.Password},
		{Key: "pickle_key", File: &m.PickleKeyFile, Into: &m.PickleKey},
	}
}

// Paths implements config.PathHolder: the state database and the
// recovery key file (written by the bot, the key private to its owner)
// and an avatar given as a file.
func (m *Config) Paths() []config.PathRef {
	refs := []config.PathRef{
		{Key: "state_path", Path: &m.StatePath, Writes: true},
		{Key: "recovery_key_file", Path: &m.RecoveryKeyFile, Private: true, Writes: true},
	}
	if !strings.HasPrefix(m.Avatar, "mxc://") {
		refs = append(refs, config.PathRef{Key: "avatar", Path: &m.Avatar})
	}
	return refs
}

// Lint implements config.Linter.
func (m *Config) Lint(ch *config.Checker) {
	if !m.Encryption && m.RecoveryKeyFile != "" {
		ch.Add("recovery_key_file", "has no effect without encryption = true: the bot cross-signs its device only with encryption on")
	}
}

// Check implements config.Section: homeserver, user ID, login, rooms and
// admins.
func (m *Config) Check(ch *config.Checker) {
	if m.Homeserver == "" {
		ch.Add("homeserver", `is required (e.g. "https://matrix.org")`)
	} else {
		ch.URL("homeserver", m.Homeserver)
	}
	if m.UserID == "" {
		ch.Add("user_id", `is required (e.g. "@ksecbot:example.org")`)
	} else if !mxidRE.MatchString(m.UserID) {
		ch.Add("user_id", "%q is not a Matrix user ID like @name:server", m.UserID)
	}
	// An access token logs in; a password logs in when there is no
	// token, and otherwise only answers the homeserver's password check
	// when the bot sets up cross-signing (docs/matrix.md, "Device trust").
	if m.AccessTokenFile == "" && m.AccessTokenEnv == "" && m.PasswordFile == "" && m.PasswordEnv == "" {
		ch.Add("", "set one of access_token_file, access_token_env, password_file, password_env; none is set")
	}
	if m.AccessTokenFile != "" && m.AccessTokenEnv != "" {
		ch.Add("access_token_env", "set one of access_token_file and access_token_env, not both")
	}
	if m.PasswordFile != "" && m.PasswordEnv != "" {
		ch.Add("password_env", "set one of password_file and password_env, not both")
	}
	ch.SecretSource("access_token", m.AccessTokenFile, m.AccessTokenEnv)
	ch.SecretSource("password", m.PasswordFile, m.PasswordEnv)
	seen := map[string]int{}
	for k, r := range m.Rooms {
		key := config.Nth("room", k, "id")
		switch {
		case r.ID == "":
			ch.Add(key, `is required (e.g. "#gentoo-kernel:matrix.org" or "!abc:matrix.org")`)
		case !roomRE.MatchString(r.ID):
			ch.Add(key, "%q is not a room ID (!id:server) or alias (#name:server)", r.ID)
		default:
			if prev, dup := seen[r.ID]; dup {
				ch.Add(key, "%q is already listed as matrix.room[%d]", r.ID, prev+1)
			} else {
				seen[r.ID] = k
			}
		}
	}
	for k, a := range m.Admins {
		if !mxidRE.MatchString(a) {
			ch.Add(fmt.Sprintf("admins[%d]", k+1), "%q is not a Matrix user ID like @name:server", a)
		}
	}
	switch m.ShareKeys {
	case ShareKeysCrossSigned, ShareKeysAll:
	default:
		ch.Add("share_keys", "%q is not %q (private rooms' keys only to devices their owners cross-signed) or %q", m.ShareKeys, ShareKeysCrossSigned, ShareKeysAll)
	}
	if len(m.DisplayName) > 256 || !printable(m.DisplayName) {
		ch.Add("display_name", "must be at most 256 bytes of printable text")
	}
	switch {
	case m.Avatar == "":
	case strings.HasPrefix(m.Avatar, "mxc://"):
		if !mxcRE.MatchString(m.Avatar) {
			ch.Add("avatar", "%q is not an mxc://server/media-id URL", m.Avatar)
		}
	case strings.Contains(m.Avatar, "://"):
		ch.Add("avatar", "%q: give an mxc:// URL or the path of an image file (uploaded once), not a web URL", m.Avatar)
	}
}

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}
