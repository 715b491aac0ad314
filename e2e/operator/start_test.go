// SPDX-License-Identifier: GPL-3.0-or-later

package operator

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ksecbot/ksecbot/store"
)

// userIDs is a user to run ksecbot as (nil: this process's).
type userIDs struct{ uid, gid uint32 }

func (u *userIDs) apply(cmd *exec.Cmd) {
	if u != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}}
	}
}

// nobody is the unprivileged user "nobody", when this test runs as root
// (only root can run a program as another user); nil otherwise.
func nobody(t *testing.T) *userIDs {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &userIDs{uint32(uid), uint32(gid)}
}

// setup is one case's configuration: its folder and file.
type setup struct{ dir, cfg string }

// base is a configuration the daemon starts with when run with --console:
// relative paths only (the database in state/, beside the file).
const base = `[bugzilla]
url = "http://127.0.0.1:1/"
poll_interval = "1h"

[store]
path = "state/ksecbot.db"
`

// TestCheckConfigRefusesWhatTheDaemonRefuses runs, for each broken
// configuration, the daemon (ksecbot --config FILE FLAGS) and check-config
// (ksecbot check-config --config FILE FLAGS) from another folder: both
// refuse it with the same exit status (78 configuration, 65 database, 64
// usage) and print the same lines, FILE:LINE: key: problem, every problem
// at once; a file both accept starts the daemon, and a value the daemon
// would clamp is a warning of both.
func TestCheckConfigRefusesWhatTheDaemonRefuses(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		flags []string
		prep  func(t *testing.T, s setup)
		as    func(t *testing.T) *userIDs
		code  int
		want  []string // in the problem lines (or, with code 0, the warnings)
	}{
		{name: "secret file missing", toml: base + "[http]\nwebhook_secret_file = \"missing.secret\"\n", flags: []string{"--console"},
			code: 78, want: []string{":8: http.webhook_secret_file: secret file {dir}/missing.secret does not exist"}},
		{name: "secret readable by the group", toml: base + "[http]\nwebhook_secret_file = \"w.secret\"\n", flags: []string{"--console"},
			prep: func(t *testing.T, s setup) { writeFile(t, s.dir, "w.secret", "s3cret\n", 0o640) },
			code: 78, want: []string{":8: http.webhook_secret_file: secret file {dir}/w.secret has mode 0640: group or others can access it; run chmod 600 {dir}/w.secret (or start with --allow-insecure-secrets)"}},
		{name: "secret readable only by root, checked as nobody", toml: base + "[http]\nwebhook_secret_file = \"w.secret\"\n", flags: []string{"--console"},
			prep: func(t *testing.T, s setup) {
				writeFile(t, s.dir, "w.secret", "s3cret\n", 0o600)
				shareWithNobody(t, s)
			},
			as: nobody, code: 78, want: []string{":8: http.webhook_secret_file: cannot open secret file: open {dir}/w.secret: permission denied"}},
		{name: "no chat network", toml: base, code: 78,
			want: []string{": neither [irc] nor [matrix] is configured, so no chat network would run: add one, or use --console"}},
		{name: "unknown key", toml: base + "[irc]\nserver = \"127.0.0.1:6667\"\nnik = \"opbot\"\n", code: 78,
			want: []string{`:9: irc.nik: unknown key (did you mean "nick"?)`, ":7: irc.nick: is required"}},
		{name: "database folder under a file", toml: strings.Replace(base, "state/ksecbot.db", "afile/ksecbot.db", 1), flags: []string{"--console"},
			prep: func(t *testing.T, s setup) { writeFile(t, s.dir, "afile", "x", 0o600) },
			code: 78, want: []string{":6: store.path: cannot create the folder {dir}/afile for the database: {dir}/afile is not a folder"}},
		{name: "TLS file missing", toml: base + "[irc]\nserver = \"127.0.0.1:6697\"\nnick = \"opbot\"\ntls = true\ntls_ca_file = \"ca.pem\"\n",
			code: 78, want: []string{":11: irc.tls_ca_file: file {dir}/ca.pem does not exist"}},
		{name: "bad flag value", toml: base, flags: []string{"--console", "--log-level", "loud"}, code: 64},
		{name: "empty database", toml: base, flags: []string{"--console"},
			prep: func(t *testing.T, s setup) { writeFile(t, s.dir, "state/ksecbot.db", "", 0o600) },
			code: 65, want: []string{":6: store.path: the database is corrupted: {dir}/state/ksecbot.db is empty (0 bytes)"}},
		{name: "no SQLite database", toml: base, flags: []string{"--console"},
			prep: func(t *testing.T, s setup) {
				writeFile(t, s.dir, "state/ksecbot.db", strings.Repeat("not an SQLite database\n", 300), 0o600)
			},
			code: 65, want: []string{":6: store.path: the database is corrupted: {dir}/state/ksecbot.db (", "ksecbot will not run on it. To recover: stop ksecbot"}},
		{name: "torn database (half a copy)", toml: base, flags: []string{"--console"},
			prep: func(t *testing.T, s setup) { halfCopy(t, filepath.Join(s.dir, "state", "ksecbot.db")) },
			code: 65, want: []string{":6: store.path: the database is corrupted: {dir}/state/ksecbot.db (database disk image is malformed)", ".recover"}},
		{name: "every problem at once", toml: base + "[http]\nwebhook_secret_file = \"missing.secret\"\n[irc]\nserver = \"127.0.0.1:6667\"\nnik = \"opbot\"\n",
			prep: func(t *testing.T, s setup) { writeFile(t, s.dir, "state/ksecbot.db", "", 0o600) },
			code: 78, want: []string{":8: http.webhook_secret_file: secret file", ":11: irc.nik: unknown key", ":6: store.path: the database is corrupted"}},
		{name: "a value the daemon clamps", toml: base + "[commands]\npending_lines = 40\n", flags: []string{"--console"},
			code: 0, want: []string{":8: commands.pending_lines: warning: 40 is more than !pending lists: it shows at most 20 lines"}},
		{name: "readable secret allowed", toml: base + "[http]\nwebhook_secret_file = \"w.secret\"\n", flags: []string{"--console", "--allow-insecure-secrets"},
			prep: func(t *testing.T, s setup) { writeFile(t, s.dir, "w.secret", "s3cret\n", 0o644) },
			code: 0, want: []string{":8: http.webhook_secret_file: warning: secret file {dir}/w.secret has mode 0644", "(allowed by --allow-insecure-secrets)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var as *userIDs
			if tc.as != nil {
				if as = tc.as(t); as == nil {
					t.Skip("needs root and the user nobody")
				}
			}
			s := setup{dir: t.TempDir()}
			s.cfg = writeFile(t, s.dir, "ksecbot.toml", tc.toml, 0o644)
			if tc.prep != nil {
				tc.prep(t, s)
			}
			elsewhere := t.TempDir()
			if as != nil {
				if err := os.Chmod(elsewhere, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.ReplaceAll(w, "{dir}", s.dir)
			}
			check := runBin(t, elsewhere, as, append([]string{"check-config", "--config", s.cfg}, tc.flags...)...)
			checkLines := linesAbout(check.stdout, s.cfg)
			if check.code != tc.code {
				t.Errorf("check-config: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", check.code, tc.code, check.stdout, check.stderr)
			}
			for _, w := range want {
				if !slices.ContainsFunc(checkLines, func(l string) bool { return strings.Contains(l, w) }) {
					t.Errorf("check-config does not say %q:\n%s", w, check.stdout)
				}
			}
			if tc.code == 0 {
				if !strings.Contains(check.stdout, s.cfg+": ok") {
					t.Errorf("check-config does not say ok:\n%s", check.stdout)
				}
				startsAndStops(t, elsewhere, s.cfg, tc.flags, want)
				return
			}
			daemon := runBin(t, elsewhere, as, append([]string{"--config", s.cfg}, tc.flags...)...)
			if daemon.code != tc.code {
				t.Errorf("daemon: exit %d, want %d (check-config's)\nstderr:\n%s", daemon.code, tc.code, daemon.stderr)
			}
			if got := linesAbout(daemon.stderr, s.cfg); !slices.Equal(got, checkLines) {
				t.Errorf("the daemon printed\n%s\ncheck-config printed\n%s\nwant the same lines", strings.Join(got, "\n"), strings.Join(checkLines, "\n"))
			}
			if _, err := os.Stat(filepath.Join(s.dir, "state", "ksecbot.db")); err == nil && tc.prep == nil {
				t.Error("a refused start created the database")
			}
			if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
				t.Errorf("ksecbot wrote into its working directory: %v", entries)
			}
		})
	}
}

// startsAndStops runs the daemon that check-config accepted: it starts
// (its log says so, and the warnings check-config printed), and ends with
// status 0 on SIGTERM.
func startsAndStops(t *testing.T, dir, cfg string, flags []string, warnings []string) {
	t.Helper()
	d := startDaemon(t, dir, append([]string{"--config", cfg}, flags...)...)
	for _, w := range warnings {
		_, msg, _ := strings.Cut(w, "warning: ")
		if d.log.Count(msg) == 0 {
			t.Errorf("the daemon did not log the warning %q", msg)
		}
	}
	d.stop(t)
}

// shareWithNobody opens the test's configuration folder to other users,
// all but the secret file in it.
func shareWithNobody(t *testing.T, s setup) {
	t.Helper()
	for d := s.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(s.dir, "state")
	if err := os.Mkdir(state, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o777); err != nil {
		t.Fatal(err)
	}
}

// halfCopy makes a ksecbot database at path and cuts it in half, as a
// copy interrupted half way leaves it.
func halfCopy(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}
