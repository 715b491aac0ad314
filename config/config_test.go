// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const samplePath = "../config.sample.toml"

// minimal is a valid config with a network table (testnet_test.go); tests
// append to it.
const minimal = `[bugzilla]
url = "https://bugs.example.org/"
[chat]
server = "chat.example.org:6697"
nick = "bot"
[[chat.channel]]
name = "#c"
`

// minimalLines is the number of lines of minimal.
var minimalLines = strings.Count(minimal, "\n")

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml", testNets...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func problemsOf(t *testing.T, doc string) *Problems {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml", testNets...)
	if err == nil {
		t.Fatalf("Parse succeeded, want problems; config %+v", c)
	}
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T %v is not *Problems", err, err)
	}
	if c != nil {
		t.Errorf("Parse returned a config with its problems")
	}
	return ps
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal)
	checks := []struct {
		name      string
		got, want any
	}{
		{"bugzilla.url (trailing slash trimmed)", c.Bugzilla.URL, "https://bugs.example.org"},
		{"bugzilla.public_url", c.Bugzilla.PublicURL, "https://bugs.example.org"},
		{"bugzilla.poll_interval", c.Bugzilla.PollInterval.Duration, 60 * time.Second},
		{"bugzilla.timeout", c.Bugzilla.Timeout.Duration, 30 * time.Second},
		{"bugzilla.overlap", c.Bugzilla.Overlap.Duration, 2 * time.Minute},
		{"bugzilla.page_size", c.Bugzilla.PageSize, 500},
		{"watch", c.Watches, []Watch{{"Gentoo Security", "Kernel"}}},
		{"store.path", c.Store.Path, "ksecbot.db"},
		{"store.retention", c.Store.Retention.Duration, 90 * 24 * time.Hour},
		{"announce.restricted", c.Announce.Restricted, "withhold"},
		{"announce.digest_after", c.Announce.DigestAfter, 5},
		{"announce.digest_window", c.Announce.DigestWindow.Duration, 30 * time.Second},
		{"announce.remind_after", c.Announce.RemindAfter.Duration, 4 * time.Hour},
		{"announce.changes", *c.Announce.Changes, true},
		{"commands.prefix", c.Commands.Prefix, "!"},
		{"commands.claim_window", c.Commands.ClaimWindow.Duration, 15 * time.Minute},
		{"commands.pending_lines", c.Commands.PendingLines, 5},
		{"commands.preview_every", c.Commands.PreviewEvery.Duration, 10 * time.Minute},
		{"chat.timeout (the network's own default)", chat(c).Timeout.Duration, 30 * time.Second},
		{"chat.limits.burst", chat(c).Limits.Burst, 4},
		{"chat.limits.interval", chat(c).Limits.Interval.Duration, 2 * time.Second},
		{"chat.operator (from the store path)", chat(c).Operator, "ksecbot-operator"},
		{"configured networks", c.Configured(), []string{"chat"}},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"metadata.path", c.Metadata.Path, "t.toml"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestKernelCVEOptional(t *testing.T) {
	c := mustParse(t, minimal)
	if c.KernelCVE != nil || c.Gentoo != nil {
		t.Fatalf("without the tables the feature must be off: %+v %+v", c.KernelCVE, c.Gentoo)
	}
	c = mustParse(t, minimal+"[kernel_cve]\npath = \"/var/lib/ksecbot/vulns\"\n[gentoo]\nrepo = \"/var/db/repos/gentoo\"\n")
	if c.KernelCVE.Path != "/var/lib/ksecbot/vulns" || c.KernelCVE.Highlight != HighlightAffected || c.Gentoo.Repo != "/var/db/repos/gentoo" {
		t.Fatalf("got %+v %+v", c.KernelCVE, c.Gentoo)
	}
	if c.KernelCVE.ScanInterval.Duration != 5*time.Minute {
		t.Errorf("kernel_cve.scan_interval defaults to %v, want 5m", c.KernelCVE.ScanInterval)
	}
	c = mustParse(t, minimal+"[kernel_cve]\npath = \"v\"\nhighlight = \"all\"\nscan_interval = \"0\"\n")
	if c.KernelCVE.Highlight != HighlightAll {
		t.Fatalf("highlight = %q", c.KernelCVE.Highlight)
	}
	if c.KernelCVE.ScanInterval.Duration != 0 {
		t.Errorf("scan_interval = \"0\" (the watch off) read as %v", c.KernelCVE.ScanInterval)
	}
}

// TestUpstreamVersions: a tree's upstream_versions.
func TestUpstreamVersions(t *testing.T) {
	c := mustParse(t, minimal+"[[tree]]\nname = \"pf-sources\"\npackages = [\"sys-kernel/pf-sources\"]\nupstream_versions = { \"6.12_p5\" = \"6.12.10\" }\n")
	if got := c.Trees[0].UpstreamVersions["6.12_p5"]; got != "6.12.10" {
		t.Errorf("upstream_versions[6.12_p5] = %q", got)
	}
}

func TestExplicitValuesBeatDefaults(t *testing.T) {
	c := mustParse(t, minimal+`[announce]
remind_after = "0s"
digest_after = 0
changes = false
restricted = "skip"
[announce.remind_grade]
A = "2h"
C = "1w2d"
[chat.limits]
burst = 7
interval = "0s"
`)
	if c.Announce.RemindAfter.Duration != 0 || c.Announce.DigestAfter != 0 || *c.Announce.Changes || c.Announce.Restricted != "skip" {
		t.Errorf("explicit zero values were overridden: %+v", c.Announce)
	}
	if got := c.Announce.RemindGrade["C"].Duration; got != 9*24*time.Hour {
		t.Errorf("remind_grade.C = %v, want 216h", got)
	}
	if l := chat(c).Limits; l.Burst != 7 || l.Interval.Duration != 0 {
		t.Errorf("chat.limits set in the file were overridden by the network's defaults: %+v", l)
	}
}

// TestLookups checks what the core asks by network name: users by
// account (compared as their network says), tree membership by identity
// handles only, a network's admins and operator, its [[user]] key.
func TestLookups(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, "[[chat.channel]]", "admins = [\"Root\"]\n[[chat.channel]]", 1)+`[[tree]]
name = "gentoo-sources"
aliases = ["gentoo-kernel-bin"]
chat = ["mpagano"]
room = ["@mpagano:example.org"]
[[user]]
bugzilla = "alice@gentoo.org"
chat_account = "alice"
room = "@alice:example.org"
roles = ["security"]
[[user]]
bugzilla = "kernel@gentoo.org"
chat_account = "KernelNick"
roles = ["admin"]
`)
	if tr, ok := c.Tree("Gentoo-Kernel-Bin"); !ok || tr != &c.Trees[0] {
		t.Errorf("Tree(alias) = %v, %v; want a pointer into c.Trees", tr, ok)
	}
	users := []struct{ network, account, want string }{
		{"chat", "alice", "alice@gentoo.org"},
		{"chat", "ALICE", "alice@gentoo.org"}, // the chat network folds case
		{"room", "@alice:example.org", "alice@gentoo.org"},
		{"room", "@Alice:example.org", ""}, // room accounts compare exactly
		{"chat", "kernelnick", "kernel@gentoo.org"},
		{"chat", "*", ""},
		{"chat", "", ""},
		{"room", "alice", ""},
		{"other", "alice", ""},
	}
	for _, tc := range users {
		got := ""
		if u, ok := c.User(tc.network, tc.account); ok {
			got = u.Bugzilla
		}
		if got != tc.want {
			t.Errorf("User(%q, %q) = %q, want %q", tc.network, tc.account, got, tc.want)
		}
	}
	tr := c.Trees[0]
	if !reflect.DeepEqual(tr.Handles, map[string][]string{"chat": {"mpagano"}, "room": {"@mpagano:example.org"}}) {
		t.Errorf("handles = %v", tr.Handles)
	}
	for _, tc := range []struct {
		network, account string
		want             bool
	}{{"room", "@mpagano:example.org", true}, {"chat", "mpagano", false}, {"room", "", false}, {"room", "@other:example.org", false}} {
		if got := tr.Member(tc.network, tc.account); got != tc.want {
			t.Errorf("Member(%q, %q) = %v, want %v (only identity handles make a member)", tc.network, tc.account, got, tc.want)
		}
	}
	if !c.Admin("chat", "root") || c.Admin("room", "Root") || c.Admin("chat", "") || c.Admin("chat", "alice") {
		t.Errorf("Admin: [chat] admins are admins on chat only")
	}
	if got := c.OperatorLogin("chat"); got != "ksecbot-operator" {
		t.Errorf("OperatorLogin(chat) = %q", got)
	}
	if c.AccountKey("chat") != "chat_account" || c.AccountKey("room") != "room" || c.AccountKey("other") != "" {
		t.Errorf("AccountKey: %q %q %q", c.AccountKey("chat"), c.AccountKey("room"), c.AccountKey("other"))
	}
	if got := Tables(testNets, "nor"); got != "[chat]" {
		t.Errorf("Tables = %q, want [chat] (room has no table)", got)
	}
}

// validated runs Validate and renders its outcome as check-config prints
// it: problems, then warnings.
func validated(path string, o CheckOptions) (string, error) {
	_, ws, err := Validate(path, o, testNets...)
	var b strings.Builder
	var ps *Problems
	if errors.As(err, &ps) {
		b.WriteString(ps.Error() + "\n")
	}
	for _, w := range ws {
		w.Msg = "warning: " + w.Msg
		b.WriteString(w.At(path) + "\n")
	}
	return b.String(), err
}

// TestValidate checks that Validate finds what keeps the daemon from
// starting, at once: the file, its secrets (read by default), the files it
// names, and whether a network runs.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.toml", minimal, 0o600)
	bad := write("bad.toml", strings.Replace(minimal, "[[chat.channel]]", "chanels = [\"#c\"]\n[[chat.channel]]", 1), 0o600)
	missing := filepath.Join(dir, "missing.toml")
	secret := write("secret.toml", minimal+"[http]\nwebhook_secret_file = \"nope\"\n", 0o600)
	netSecret := write("netsecret.toml", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\npassword_file = \"chat.pass\"", 1), 0o600)
	write("open.secret", "s3cret\n", 0o640)
	open := write("open.toml", minimal+"[http]\nwebhook_secret_file = \"open.secret\"\n", 0o600)
	noNet := write("nonet.toml", "[bugzilla]\nurl = \"https://bugs.example.org/\"\n", 0o600)
	write("afile", "x", 0o600)
	badStore := write("badstore.toml", minimal+"[store]\npath = \"afile/k.db\"\n", 0o600)
	several := write("several.toml", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\npassword_file = \"chat.pass\"\nnik = 1", 1)+"[store]\npath = \"afile/k.db\"\n", 0o600)
	n := minimalLines
	tests := []struct {
		name string
		path string
		o    CheckOptions
		bad  bool
		want []string
	}{
		{"good", good, CheckOptions{}, false, nil},
		{"misspelled key", bad, CheckOptions{}, true, []string{bad + `:6: chat.chanels: unknown key (did you mean "channel"?)`}},
		{"missing file", missing, CheckOptions{}, true, []string{"no such file"}},
		{"secrets not read with FileOnly", secret, CheckOptions{FileOnly: true}, false, nil},
		{"secrets read by default", secret, CheckOptions{}, true, []string{secret + fmt.Sprintf(":%d: http.webhook_secret_file: secret file %s does not exist", n+2, filepath.Join(dir, "nope"))}},
		{"network secret beside the file", netSecret, CheckOptions{}, true, []string{netSecret + fmt.Sprintf(":6: chat.password_file: secret file %s does not exist", filepath.Join(dir, "chat.pass"))}},
		{"secret readable by the group", open, CheckOptions{}, true, []string{open + fmt.Sprintf(":%d: http.webhook_secret_file: secret file %s has mode 0640: group or others can access it; run chmod 600 %[2]s (or start with --allow-insecure-secrets)", n+2, filepath.Join(dir, "open.secret"))}},
		{"readable secret allowed", open, CheckOptions{AllowInsecureSecrets: true}, false, []string{"warning: secret file " + filepath.Join(dir, "open.secret") + " has mode 0640", "(allowed by --allow-insecure-secrets)"}},
		{"no network", noNet, CheckOptions{}, true, []string{noNet + ": [chat] is not configured, so no chat network would run: add one, or use --console"}},
		{"store folder under a file", badStore, CheckOptions{}, true, []string{badStore + fmt.Sprintf(":%d: store.path: cannot create the folder %s for the database: %[2]s is not a folder", n+2, filepath.Join(dir, "afile"))}},
		{"store not looked at with FileOnly", badStore, CheckOptions{FileOnly: true}, false, nil},
		{"every problem at once", several, CheckOptions{}, true, []string{"chat.nik: unknown key", "chat.password_file: secret file", "store.path: cannot create the folder"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := validated(tc.path, tc.o)
			if (err != nil) != tc.bad {
				t.Errorf("error %v, want a problem: %v; output:\n%s", err, tc.bad, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output:\n%s\nwant it to contain %q", out, w)
				}
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"60s", time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"3d", 72 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{"1w2d12h", 9*24*time.Hour + 12*time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"+2d", 48 * time.Hour, ""},
		{"", 0, "empty"},
		{"-1s", 0, "negative"},
		{"-3d", 0, "negative"},
		{"60", 0, "missing unit"},
		{"3y", 0, "unknown unit"},
		{"d", 0, "missing number"},
		{"4 hours", 0, "unknown unit"},
		{"1.2.3d", 0, "bad number"},
		{"99999999999w", 0, "too large"},
		{"100000h100000h100000h100000h", 0, ""},
		{"2562047h2562047h", 0, "too large"},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && tc.want != 0 && got != tc.want:
			t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("2w")); err != nil || d.Duration != 336*time.Hour {
		t.Errorf("UnmarshalText(2w) = %v, %v", d, err)
	}
	text, _ := d.MarshalText()
	var back Duration
	if err := back.UnmarshalText(text); err != nil || back != d {
		t.Errorf("MarshalText round trip: %q -> %v, %v", text, back, err)
	}
}

func TestDataWarnings(t *testing.T) {
	dir := t.TempDir()
	c := mustParse(t, minimal+"[kernel_cve]\npath = \""+dir+"/vulns\"\n\n[gentoo]\nrepo = \"../gentoo/testdata/repo\"\n")
	ws := c.DataWarnings()
	if len(ws) != 1 || ws[0].Key != "kernel_cve.path" || ws[0].Line != minimalLines+2 || !strings.Contains(ws[0].Msg, "clone https://git.kernel.org/pub/scm/linux/security/vulns.git") {
		t.Fatalf("warnings %v", ws)
	}
	os.MkdirAll(filepath.Join(dir, "vulns", "cve", "published"), 0o755)
	if ws := c.DataWarnings(); len(ws) != 0 {
		t.Fatalf("after the clone: %v", ws)
	}
}
