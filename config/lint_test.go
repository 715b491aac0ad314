// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWarnings checks each check-config warning: it names its key and
// line, and it is absent when the configuration is as intended.
func TestWarnings(t *testing.T) {
	doc := minimal + `[http]
listen = ":8090"
[commands]
pending_lines = 40
[[tree]]
name = "nobody"
packages = ["sys-kernel/nobody-sources"]
[[tree]]
name = "gentoo-sources"
packages = ["sys-kernel/gentoo-sources"]
bugzilla = ["kernel@gentoo.org"]
[[tree]]
name = "dist"
packages = ["sys-kernel/gentoo-kernel", "sys-kernel/Gentoo-Sources"]
chat = ["distnick"]
`
	c := mustParse(t, doc)
	got := map[string]Problem{}
	for _, w := range c.Warnings() {
		got[w.Key] = w
	}
	for _, want := range []struct{ key, msg string }{
		{"tree[1].name", `tree "nobody" has no maintainers (bugzilla, chat and room are all empty)`},
		{"tree[3].packages[2]", `package sys-kernel/Gentoo-Sources is also in tree "gentoo-sources"`},
		{"chat.server", "port 6697 without tls"}, // the network's own Lint
		{"http.listen", "listens on all interfaces"},
		{"commands.pending_lines", "40 is more than !pending lists: it shows at most 20 lines"},
	} {
		w, ok := got[want.key]
		if !ok || !strings.Contains(w.Msg, want.msg) || w.Line == 0 {
			t.Errorf("warning for %s = %+v, want %q with a line", want.key, w, want.msg)
		}
	}
	if len(got) != 5 {
		t.Errorf("warnings: %+v, want exactly the 5 above", c.Warnings())
	}

	for _, listen := range []string{"0.0.0.0:8090", "[::]:8090"} {
		c := mustParse(t, strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\ntls = true", 1)+"[http]\nlisten = \""+listen+"\"\n")
		if ws := c.Warnings(); len(ws) != 1 || ws[0].Key != "http.listen" {
			t.Errorf("listen %s: warnings %+v, want one for http.listen", listen, ws)
		}
	}
	quiet := mustParse(t, strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\ntls = true", 1)+"[http]\nlisten = \"127.0.0.1:8090\"\n")
	if ws := quiet.Warnings(); len(ws) != 0 {
		t.Errorf("a configuration as intended has warnings: %+v", ws)
	}
}

// TestRelativeSecretPaths checks that relative secret file paths resolve
// against the folder of the configuration file, whatever the working
// directory, and that absolute ones stay as they are.
func TestRelativeSecretPaths(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc", "ksecbot")
	if err := os.MkdirAll(filepath.Join(conf, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, val := range map[string]string{"keys/webhook.secret": "hook", "chat.pass": "pass", "keys/chan.key": "chankey"} {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(val+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(dir, "abs.key")
	if err := os.WriteFile(abs, []byte("key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(minimal, `url = "https://bugs.example.org/"`, "url = \"https://bugs.example.org/\"\napi_key_file = \""+abs+"\"", 1)
	doc = strings.Replace(doc, `nick = "bot"`, "nick = \"bot\"\npassword_file = \"chat.pass\"\ncert_file = \"tls/cert.pem\"", 1)
	doc = strings.Replace(doc, `name = "#c"`, "name = \"#c\"\nkey_file = \"keys/chan.key\"", 1)
	doc += "[http]\nwebhook_secret_file = \"keys/webhook.secret\"\n"
	path := filepath.Join(conf, "ksecbot.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOKEN", "token")
	t.Chdir(t.TempDir()) // anywhere but the config's folder
	c, err := Load(path, testNets...)
	if err != nil {
		t.Fatalf("Load from another working directory: %v", err)
	}
	if got := []string{c.HTTP.WebhookSecret.Reveal(), chat(c).Password.Reveal(), chat(c).Channels[0].Key.Reveal(), c.Bugzilla.APIKey.Reveal()}; !slices.Equal(got, []string{"hook", "pass", "chankey", "key"}) {
		t.Errorf("secrets read = %q, want hook, pass, chankey, key", got)
	}
	if got := chat(c).CertFile; got != filepath.Join(conf, "tls", "cert.pem") {
		t.Errorf("a network's other file = %s, want it beside the configuration: %s", got, filepath.Join(conf, "tls", "cert.pem"))
	}
	if c.HTTP.WebhookSecretFile != filepath.Join(conf, "keys", "webhook.secret") || c.Bugzilla.APIKeyFile != abs {
		t.Errorf("paths = %s, %s; want %s and %s", c.HTTP.WebhookSecretFile, c.Bugzilla.APIKeyFile, filepath.Join(conf, "keys", "webhook.secret"), abs)
	}
}

// TestWarningsHaveLines checks the output format of warnings:
// "path:line: key: warning: msg", and that they are no problem.
func TestWarningsHaveLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.toml")
	if err := os.WriteFile(path, []byte(minimal+"[http]\nlisten = \":8090\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := validated(path, CheckOptions{})
	if err != nil {
		t.Fatalf("%v for a file with warnings only:\n%s", err, out)
	}
	want := path + fmt.Sprintf(`:%d: http.listen: warning: ":8090" listens on all interfaces`, minimalLines+2)
	if !strings.Contains(out, want) {
		t.Errorf("output:\n%s\nwant it to contain %q", out, want)
	}
}
