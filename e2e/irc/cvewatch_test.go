// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	_ "github.com/mattn/go-sqlite3" // reading the outbox

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// vulnsRepo is a git repository of CNA records ("upstream", the kernel's
// vulns.git) and ksecbot's clone of it, kept current by git pull as the
// operator's timer does.
type vulnsRepo struct {
	t               *testing.T
	records         string // the real records
	upstream, clone string
}

func (v *vulnsRepo) git(dir string, args ...string) {
	v.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.org",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		v.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// newVulnsRepo makes upstream with the real records of the module's
// kernelcve/testdata except those named, and clones it.
func newVulnsRepo(t *testing.T, except ...string) *vulnsRepo {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root, err := e2etest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := &vulnsRepo{t: t, records: filepath.Join(root, "kernelcve", "testdata", "vulns"),
		upstream: filepath.Join(dir, "upstream"), clone: filepath.Join(dir, "clone")}
	files, _ := filepath.Glob(filepath.Join(v.records, "cve", "*", "*", "CVE-*"))
	for _, f := range files {
		id := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".json"), ".dyad")
		skip := false
		for _, e := range except {
			skip = skip || e == id
		}
		if !skip {
			rel, _ := filepath.Rel(v.records, f)
			v.copy(f, filepath.Join(v.upstream, rel), "", "")
		}
	}
	os.MkdirAll(filepath.Join(v.upstream, "cve", "rejected"), 0o755)
	os.WriteFile(filepath.Join(v.upstream, "cve", "rejected", ".keep"), nil, 0o644)
	v.git(v.upstream, "init", "-q", "-b", "master")
	v.git(v.upstream, "add", ".")
	v.git(v.upstream, "commit", "-q", "-m", "records")
	v.git(dir, "clone", "-q", v.upstream, v.clone)
	return v
}

func (v *vulnsRepo) copy(from, to, old, new string) {
	v.t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		v.t.Fatal(err)
	}
	if old != "" {
		data = bytes.ReplaceAll(data, []byte(old), []byte(new))
	}
	os.MkdirAll(filepath.Dir(to), 0o755)
	if err := os.WriteFile(to, data, 0o644); err != nil {
		v.t.Fatal(err)
	}
}

// publish adds the real record src to upstream as dst (its id rewritten)
// without committing.
func (v *vulnsRepo) publish(src, dst string) {
	v.t.Helper()
	for _, ext := range []string{".json", ".dyad"} {
		from := filepath.Join(v.records, "cve", "published", src[4:8], src+ext)
		if _, err := os.Stat(from); err == nil {
			v.copy(from, filepath.Join(v.upstream, "cve", "published", dst[4:8], dst+ext), src, dst)
		}
	}
}

// pull commits upstream's changes and pulls them into the clone.
func (v *vulnsRepo) pull(msg string) {
	v.t.Helper()
	v.git(v.upstream, "add", ".")
	v.git(v.upstream, "commit", "-q", "-m", msg)
	v.git(v.clone, "pull", "-q", "--ff-only")
}

// cveRows counts the kernel CVE watch's outbox rows of a channel, read
// from the bot's database read-only.
func cveRows(t *testing.T, dbPath, channel string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE kind = 'cve' AND channel = ?", "irc:"+channel).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCVEWatchOnIRC is the CVE watch end to end: the real binary, the real
// IRC server, a git clone of real CNA records pulled as the operator's
// timer would. The first scan is a silent baseline; a record pulled later
// is announced in the cve_feed channel at the next scan, highlighting only
// the trees it affects, and nothing in the other channel; 300 records
// pulled at once give one digest, not 300 lines.
func TestCVEWatchOnIRC(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	repo := newVulnsRepo(t, "CVE-2025-40039")
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	feed, quiet := randName("#e2e-cvefeed"), randName("#e2e-cvequiet")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, feed, "")
	obs.Join(t, quiet, "")
	c := fastFlood(newConfig(t, bz, s.Addr, feed, quiet))
	c.IRC.CVEFeed = []string{feed}
	c.Trees = cveTrees
	root, _ := e2etest.ModuleRoot()
	c.Extra = fmt.Sprintf("\n[kernel_cve]\npath = %q\nscan_interval = \"1s\"\n\n[gentoo]\nrepo = %q\n",
		repo.clone, filepath.Join(root, "gentoo", "testdata", "repo"))
	bot := startBot(t, c)
	bot.ready(t, obs, feed, quiet)
	bot.Log.WaitFor(t, 60*time.Second, 0, "the CVE watch's baseline", e2etest.Contains("kernel CVE watch: baseline stored", "records=45"))

	// Every line the bot says in a channel (a long message wraps over
	// several IRC lines).
	fromBot := func(ch string) func([]ircmsg.Message) []string {
		return func(h []ircmsg.Message) []string {
			var out []string
			for _, m := range h {
				if from("PRIVMSG", bot.nick, ch)(m) {
					out = append(out, plainText(m.Params[1]))
				}
			}
			return out
		}
	}
	if got := fromBot(feed)(obs.History()); len(got) != 0 {
		t.Fatalf("the baseline announced: %q", got)
	}

	repo.publish("CVE-2025-40039", "CVE-2025-40039")
	pulled := time.Now()
	repo.pull("CVE-2025-40039")
	var line string
	obs.Until(t, 30*time.Second, "the feed line of CVE-2025-40039", func(h []ircmsg.Message) bool {
		line = strings.Join(fromBot(feed)(h), " ")
		return strings.Contains(line, "cve.org")
	})
	t.Logf("announced %v after the pull (scan_interval 1s): %s", time.Since(pulled).Round(time.Millisecond), line)
	for _, want := range []string{"Kernel CVE CVE-2025-40039 ksmbd: Fix race condition in RPC handle list access",
		"vanilla-sources: vanmaint ~6.1.165: no fix in 6.1", "rt-sources: rtmaint ~6.1.112: no fix in 6.1",
		"unaffected: gentoo-kernel, gentoo-sources"} {
		if !strings.Contains(line, want) {
			t.Errorf("feed line lacks %q", want)
		}
	}
	for _, nick := range []string{"gkmaint", "gsmaint"} {
		if strings.Contains(line, nick) {
			t.Errorf("the feed line highlights %s, whose tree the record does not affect", nick)
		}
	}

	// A burst: 300 real records under new ids.
	srcs := []string{"CVE-2025-40039", "CVE-2025-71238", "CVE-2024-36010"}
	for i := range 300 {
		repo.publish(srcs[i%3], fmt.Sprintf("CVE-2026-9%04d", i))
	}
	logFrom := bot.Log.Count()
	repo.pull("300 records")
	bot.Log.WaitFor(t, 60*time.Second, logFrom, "the burst's scan", e2etest.Contains("kernel CVE scan", "new=300", "digest=true"))
	obs.Until(t, 30*time.Second, "the digest", func(h []ircmsg.Message) bool {
		return strings.Contains(strings.Join(fromBot(feed)(h), "\n"), "!exposure rt-sources")
	})
	if n := cveRows(t, c.StorePath(), feed); n != 2 {
		t.Errorf("%d kernel CVE lines queued for the feed channel, want 2 (the record, then one digest for the 300)", n)
	}
	if n := cveRows(t, c.StorePath(), quiet); n != 0 {
		t.Errorf("%d kernel CVE lines queued for the channel without cve_feed", n)
	}
	all := fromBot(feed)(obs.History())
	t.Logf("feed channel: %q", all)
	if len(all) > 12 {
		t.Errorf("%d IRC lines in the feed channel for one record and a burst of 300, want a digest of a few", len(all))
	}
	if got := fromBot(quiet)(obs.History()); len(got) != 0 {
		t.Errorf("the channel without cve_feed got %q", got)
	}
}
