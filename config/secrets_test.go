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

// secretDoc writes a config whose secrets live in dir and returns its path:
// shared ones and those of a network's section (testnet_test.go).
func secretDoc(t *testing.T, dir, extra string) string {
	t.Helper()
	doc := fmt.Sprintf(`[bugzilla]
url = "https://bugs.example.org"
api_key_file = "%[1]s/api.key"
[http]
webhook_secret_env = "KSB_TEST_WEBHOOK"
[chat]
server = "chat.example.org:6697"
nick = "bot"
password_env = "KSB_TEST_PASS"
key_file = "%[1]s/tls.key"
[[chat.channel]]
name = "#c"
key_file = "%[1]s/chan.key"
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

var secretValues = []string{"api-KEY-123", "chat-PASS-456", "chan-KEY-789", "hook-SECRET-111"}

func setupSecrets(t *testing.T) string {
	dir := t.TempDir()
	writeSecret(t, filepath.Join(dir, "api.key"), "api-KEY-123\n", 0o600)
	writeSecret(t, filepath.Join(dir, "chan.key"), "chan-KEY-789\r\n", 0o644)
	writeSecret(t, filepath.Join(dir, "tls.key"), "tls-KEY-000\n", 0o640)
	t.Setenv("KSB_TEST_WEBHOOK", "hook-SECRET-111")
	t.Setenv("KSB_TEST_PASS", "chat-PASS-456\n")
	return dir
}

func TestLoadSecrets(t *testing.T) {
	dir := setupSecrets(t)
	c, err := Load(secretDoc(t, dir, ""), testNets...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := map[string]Secret{
		"api key":     c.Bugzilla.APIKey,
		"webhook":     c.HTTP.WebhookSecret,
		"password":    chat(c).Password,
		"channel key": chat(c).Channels[0].Key,
	}
	want := map[string]string{
		"api key": "api-KEY-123", "webhook": "hook-SECRET-111", "password": "chat-PASS-456", "channel key": "chan-KEY-789",
	}
	for k, w := range want {
		if got[k].Reveal() != w {
			t.Errorf("%s = %q, want %q (trailing newline trimmed)", k, got[k].Reveal(), w)
		}
	}

	// Nothing that prints or encodes the config shows a secret.
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s ", c.Bugzilla, c.HTTP, *chat(c), chat(c).Password)
	fmt.Fprintf(&out, "%v %+v %#v %q %x ", *c, chat(c).Channels, c.Bugzilla, chat(c).Channels[0].Key, chat(c).Password)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "c", c, "chat", chat(c), "key", c.Bugzilla.APIKey)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "c", c, "sections", c.Sections)
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
		{"empty file", func(t *testing.T, dir string) { writeSecret(t, filepath.Join(dir, "api.key"), "\n", 0o600) },
			"", "bugzilla.api_key_file", 3, "is empty"},
		{"unreadable file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "api.key"))
			os.Mkdir(filepath.Join(dir, "api.key"), 0o700)
		}, "", "bugzilla.api_key_file", 3, "api.key"},
		{"unset network env", func(t *testing.T, dir string) { t.Setenv("KSB_TEST_PASS", "") },
			"", "chat.password_env", 9, "KSB_TEST_PASS is not set"},
		{"missing file in a network's array entry", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "chan.key")) },
			"", "chat.channel[1].key_file", 13, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := setupSecrets(t)
			tc.setup(t, dir)
			path := secretDoc(t, dir, tc.extra)
			if _, err := ParseFile(path, testNets...); err != nil {
				t.Fatalf("ParseFile must not read secrets: %v", err)
			}
			_, err := Load(path, testNets...)
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
	c, err := Load(secretDoc(t, dir, ""), testNets...)
	if err != nil {
		t.Fatal(err)
	}
	warnings := SecretFileWarnings(c)
	// A network's secret file and its private other file (a TLS key).
	want := []string{"chat.channel[1].key_file", "chat.key_file"}
	if len(warnings) != len(want) {
		t.Fatalf("warnings = %q, want one each for %v", warnings, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(warnings[i], w+": ") || !strings.Contains(warnings[i], "chmod 600") {
			t.Errorf("warning %d = %q, want it about %s", i, warnings[i], w)
		}
	}
	os.Chmod(filepath.Join(dir, "chan.key"), 0o600)
	os.Chmod(filepath.Join(dir, "tls.key"), 0o400)
	if w := SecretFileWarnings(c); len(w) != 0 {
		t.Errorf("after chmod: warnings = %q, want none", w)
	}
}
