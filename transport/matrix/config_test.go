// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

// minimal is a valid configuration with a [matrix] table; tests append to
// it.
const minimal = `[bugzilla]
url = "https://bugs.example.org/"
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@bot:example.org"
access_token_env = "TOKEN"
[[matrix.room]]
id = "!room:example.org"
`

func parse(doc string) (*config.Config, error) {
	return config.Parse([]byte(doc), "t.toml", matrix.Network.Config)
}

// TestConfigDefaults: the [matrix] defaults are Matrix's own: the state
// file beside the store, previews on.
func TestConfigDefaults(t *testing.T) {
	c, err := parse(minimal + "[store]\npath = \"/var/lib/ksecbot/bot.db\"\n")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Section(matrix.Name).(*matrix.Config)
	if m.StatePath != "/var/lib/ksecbot/bot-matrix.db" || !*m.Rooms[0].Previews || m.Rooms[0].CVEFeed {
		t.Errorf("state_path = %q (want beside the store), previews = %v, cve_feed = %v", m.StatePath, *m.Rooms[0].Previews, m.Rooms[0].CVEFeed)
	}
	if m.ShareKeys != matrix.ShareKeysCrossSigned || m.RecoveryKeyFile != "" {
		t.Errorf("share_keys = %q, recovery_key_file = %q (beside the state)", m.ShareKeys, m.RecoveryKeyFile)
	}
	c, err = parse(strings.Replace(minimal, "id = \"!room:example.org\"", "id = \"!room:example.org\"\ncve_feed = true", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Section(matrix.Name).(*matrix.Config).Rooms[0].CVEFeed {
		t.Errorf("cve_feed = true not read")
	}
}

// TestConfigWarnings: a recovery key file without encryption does nothing.
func TestConfigWarnings(t *testing.T) {
	c, err := parse(strings.Replace(minimal, "[[matrix.room]]", "recovery_key_file = \"/r\"\n[[matrix.room]]", 1))
	if err != nil {
		t.Fatal(err)
	}
	ws := c.Warnings()
	if len(ws) != 1 || ws[0].Key != "matrix.recovery_key_file" || ws[0].Line != 7 || !strings.Contains(ws[0].Msg, "no effect without encryption = true") {
		t.Errorf("warnings = %+v, want one for matrix.recovery_key_file at line 7", ws)
	}
}

// TestConfigProblems: Matrix's checks of its table, its [[tree]] key and
// its [[user]] key, each reported with key and line by config.Parse.
func TestConfigProblems(t *testing.T) {
	n := strings.Count(minimal, "\n")
	tests := []struct {
		name, doc, key string
		line           int
		msg            string
	}{
		{"bad homeserver", strings.Replace(minimal, "https://matrix.example.org", "matrix.example.org", 1), "matrix.homeserver", 4, "absolute http"},
		{"bad user id", strings.Replace(minimal, "@bot:example.org", "bot", 1), "matrix.user_id", 5, "not a Matrix user ID"},
		{"bad env name", strings.Replace(minimal, `"TOKEN"`, `"MY TOKEN"`, 1), "matrix.access_token_env", 6, "not an environment variable name"},
		{"no auth", strings.Replace(minimal, "access_token_env = \"TOKEN\"\n", "", 1), "matrix", 3, "none is set"},
		{"two tokens", strings.Replace(minimal, "[[matrix.room]]", "access_token_file = \"/t\"\n[[matrix.room]]", 1), "matrix.access_token_env", 6, "not both"},
		{"two passwords", strings.Replace(minimal, "[[matrix.room]]", "password_file = \"/p\"\npassword_env = \"P\"\n[[matrix.room]]", 1), "matrix.password_env", 8, "not both"},
		{"share_keys", strings.Replace(minimal, "[[matrix.room]]", "share_keys = \"verified\"\n[[matrix.room]]", 1), "matrix.share_keys", 7, `"verified" is not "cross-signed"`},
		{"avatar web url", strings.Replace(minimal, "[[matrix.room]]", "avatar = \"https://example.org/a.png\"\n[[matrix.room]]", 1), "matrix.avatar", 7, "not a web URL"},
		{"avatar bad mxc", strings.Replace(minimal, "[[matrix.room]]", "avatar = \"mxc://example.org\"\n[[matrix.room]]", 1), "matrix.avatar", 7, "not an mxc://server/media-id URL"},
		{"display_name control", strings.Replace(minimal, "[[matrix.room]]", "display_name = \"bot\\u0007\"\n[[matrix.room]]", 1), "matrix.display_name", 7, "printable"},
		{"bad room", strings.Replace(minimal, "!room:example.org", "room", 1), "matrix.room[1].id", 8, "not a room ID"},
		{"room twice", minimal + "[[matrix.room]]\nid = \"!room:example.org\"\n", "matrix.room[2].id", n + 2, "already listed as matrix.room[1]"},
		{"misspelled room key", minimal + "[[matrix.room]]\nid = \"!b:example.org\"\nprivat = true\n", "matrix.room[2].privat", n + 3, `unknown key (did you mean "private"?)`},
		{"admin", strings.Replace(minimal, "[[matrix.room]]", "admins = [\"bob\"]\n[[matrix.room]]", 1), "matrix.admins[1]", 7, "not a Matrix user ID"},
		{"tree id", minimal + "[[tree]]\nname = \"a\"\nmatrix = [\"bob\"]\n", "tree[1].matrix[1]", n + 3, `"bob" is not a Matrix user ID like @name:server`},
		{"user id", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nmatrix = \"bob\"\n", "user[1].matrix", n + 3, `"bob" is not a Matrix user ID`},
		{"user twice", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nmatrix = \"@a:x\"\n[[user]]\nbugzilla = \"b@g.org\"\nmatrix = \"@a:x\"\n", "user[2].matrix", n + 6, "already linked by user[1]"},
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

// TestConfigIdentity: a tree's matrix IDs are identities (they make a
// maintainer) and a user's matrix ID compares exactly; [matrix] admins
// (who may invite the bot) are no command admins.
func TestConfigIdentity(t *testing.T) {
	c, err := parse(strings.Replace(minimal, "[[matrix.room]]", "admins = [\"@root:x\"]\n[[matrix.room]]", 1) +
		"[[tree]]\nname = \"a\"\nmatrix = [\"@bob:x\"]\n[[user]]\nbugzilla = \"b@g.org\"\nmatrix = \"@bob:x\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Trees[0].Member(matrix.Name, "@bob:x") || c.Trees[0].Member(matrix.Name, "@Bob:x") {
		t.Errorf("tree membership by Matrix ID: exact")
	}
	if _, ok := c.User(matrix.Name, "@bob:x"); !ok {
		t.Errorf("user @bob:x not found")
	}
	if _, ok := c.User(matrix.Name, "@BOB:x"); ok {
		t.Errorf("user @BOB:x found: Matrix IDs compare exactly")
	}
	if c.Admin(matrix.Name, "@root:x") {
		t.Errorf("[matrix] admins may invite the bot, they have no admin role")
	}
}

// TestConfigSecrets: the token, password and pickle key files are relative
// to the configuration's folder and read by config.Load.
func TestConfigSecrets(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"token", "pickle"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("secret-"+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	doc := strings.Replace(minimal, "access_token_env = \"TOKEN\"", "access_token_file = \"token\"\npickle_key_file = \"pickle\"\nrecovery_key_file = \"recovery.key\"\navatar = \"avatar.png\"", 1)
	path := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	c, err := config.Load(path, matrix.Network.Config)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Section(matrix.Name).(*matrix.Config)
	if m.AccessToken.Reveal() != "secret-token" || m.PickleKey.Reveal() != "secret-pickle" || m.PickleKeyFile != filepath.Join(dir, "pickle") {
		t.Errorf("token %q, pickle %q from %s", m.AccessToken.Reveal(), m.PickleKey.Reveal(), m.PickleKeyFile)
	}
	if m.RecoveryKeyFile != filepath.Join(dir, "recovery.key") || m.Avatar != filepath.Join(dir, "avatar.png") {
		t.Errorf("recovery_key_file %s, avatar %s: want them beside the configuration", m.RecoveryKeyFile, m.Avatar)
	}
	if err := os.WriteFile(m.RecoveryKeyFile, []byte("key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ws := config.SecretFileWarnings(c); len(ws) != 1 || !strings.HasPrefix(ws[0], "matrix.recovery_key_file: ") {
		t.Errorf("warnings = %q, want one for the recovery key readable by others", ws)
	}
}
