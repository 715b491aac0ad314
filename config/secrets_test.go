// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretDoc writes a config whose secrets live in dir and returns its path.
func secretDoc(t *testing.T, dir, extra string) string {
	t.Helper()
	doc := fmt.Sprintf(`[bugzilla]
url = "https://bugs.example.org"
api_key_file = "%[1]s/api.key"
[http]
webhook_secret_env = "KSB_TEST_WEBHOOK"
[irc]
server = "irc.example.org:6697"
nick = "bot"
sasl_password_file = "%[1]s/irc.pass"
[[irc.channel]]
name = "#c"
key_file = "%[1]s/chan.key"
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@bot:example.org"
access_token_env = "KSB_TEST_TOKEN"
pickle_key_file = "%[1]s/pickle"
%[2]s`, dir, extra)
	path := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeSecret(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
}

var secretValues = []string{"api-KEY-123", "irc-PASS-456", "chan-KEY-789", "pickle-KEY-000", "hook-SECRET-111", "mx-TOKEN-222"}

func setupSecrets(t *testing.T) string {
	dir := t.TempDir()
	writeSecret(t, filepath.Join(dir, "api.key"), "api-KEY-123\n", 0o600)
	writeSecret(t, filepath.Join(dir, "irc.pass"), "irc-PASS-456\r\n", 0o644)
	writeSecret(t, filepath.Join(dir, "chan.key"), "chan-KEY-789", 0o600)
	writeSecret(t, filepath.Join(dir, "pickle"), "pickle-KEY-000\n\n", 0o640)
	t.Setenv("KSB_TEST_WEBHOOK", "hook-SECRET-111")
	t.Setenv("KSB_TEST_TOKEN", "mx-TOKEN-222\n")
	return dir
}

func TestLoadSecrets(t *testing.T) {
	dir := setupSecrets(t)
	c, err := Load(secretDoc(t, dir, ""))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := map[string]Secret{
		"api key":     c.Bugzilla.APIKey,
		"webhook":     c.HTTP.WebhookSecret,
		"sasl":        c.IRC.SASLPassword,
		"channel key": c.IRC.Channels[0].ChannelKey,
		"token":       c.Matrix.AccessToken,
		"pickle":      c.Matrix.PickleKey,
	}
	want := map[string]string{
		"api key": "api-KEY-123", "webhook": "hook-SECRET-111", "sasl": "irc-PASS-456",
		"channel key": "chan-KEY-789", "token": "mx-TOKEN-222", "pickle": "pickle-KEY-000",
	}
	for k, w := range want {
		if got[k].Reveal() != w {
			t.Errorf("%s = %q, want %q (trailing newline trimmed)", k, got[k].Reveal(), w)
		}
	}
	if c.IRC.SASLUser != "bot" {
		t.Errorf("sasl_user should default to the nick when a password is set, got %q", c.IRC.SASLUser)
	}

	// Nothing that prints or encodes the config shows a secret.
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s ", c.Bugzilla, c.HTTP, *c.IRC, c.Matrix.AccessToken)
	fmt.Fprintf(&out, "%v %+v %#v %q %x ", *c.Matrix, c.IRC.Channels, c.Bugzilla, c.Matrix.PickleKey, c.IRC.SASLPassword)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "c", c, "irc", c.IRC, "key", c.Bugzilla.APIKey)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "c", c, "matrix", c.Matrix)
	for _, s := range secretValues {
		if strings.Contains(out.String(), s) {
			t.Errorf("secret %q printed:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), "<redacted>") {
		t.Errorf("secrets should print as <redacted>:\n%s", out.String())
	}
}

func TestLoadSecretsProblems(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		extra string
		key   string
		line  int
		msg   string
	}{
		{"missing file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "irc.pass")) },
			"", "irc.sasl_password_file", 9, "does not exist"},
		{"empty file", func(t *testing.T, dir string) { writeSecret(t, filepath.Join(dir, "api.key"), "\n", 0o600) },
			"", "bugzilla.api_key_file", 3, "is empty"},
		{"unreadable file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "pickle"))
			os.Mkdir(filepath.Join(dir, "pickle"), 0o700)
		}, "", "matrix.pickle_key_file", 17, "pickle"},
		{"unset env", func(t *testing.T, dir string) { t.Setenv("KSB_TEST_TOKEN", "") },
			"", "matrix.access_token_env", 16, "KSB_TEST_TOKEN is not set"},
		{"missing channel key", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "chan.key")) },
			"", "irc.channel[1].key_file", 12, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := setupSecrets(t)
			tc.setup(t, dir)
			path := secretDoc(t, dir, tc.extra)
			if _, err := ParseFile(path); err != nil {
				t.Fatalf("ParseFile must not read secrets: %v", err)
			}
			_, err := Load(path)
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load error = %v, want *Problems", err)
			}
			if len(ps.List) != 1 {
				t.Errorf("want exactly one problem, got:\n%v", ps)
			}
			p := ps.List[0]
			if p.Key != tc.key || p.Line != tc.line || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("problem = %+v, want %s at line %d: %q", p, tc.key, tc.line, tc.msg)
			}
			if prefix := fmt.Sprintf("%s:%d: %s: ", path, tc.line, tc.key); !strings.HasPrefix(ps.Error(), prefix) {
				t.Errorf("Error() = %q, want prefix %q", ps.Error(), prefix)
			}
			for _, s := range secretValues {
				if strings.Contains(ps.Error(), s) {
					t.Errorf("error shows secret %q: %v", s, ps)
				}
			}
		})
	}
}

func TestSecretFileWarnings(t *testing.T) {
	dir := setupSecrets(t)
	c, err := Load(secretDoc(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	warnings := SecretFileWarnings(c)
	want := []string{"irc.sasl_password_file", "matrix.pickle_key_file"}
	if len(warnings) != len(want) {
		t.Fatalf("warnings = %q, want one each for %v", warnings, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(warnings[i], w+": ") || !strings.Contains(warnings[i], "chmod 600") {
			t.Errorf("warning %d = %q, want it about %s", i, warnings[i], w)
		}
	}
	os.Chmod(filepath.Join(dir, "irc.pass"), 0o600)
	os.Chmod(filepath.Join(dir, "pickle"), 0o400)
	if w := SecretFileWarnings(c); len(w) != 0 {
		t.Errorf("after chmod: warnings = %q, want none", w)
	}
}
