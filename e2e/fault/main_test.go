// SPDX-License-Identifier: GPL-3.0-or-later

// Package fault is ksecbot's fault suite ("nothing is lost"): the real
// binary against real IRC (InspIRCd+Atheme) and Matrix (Dendrite) servers
// and the in-process Bugzilla, while servers die, ksecbot is SIGKILLed,
// Bugzilla misbehaves, the store is locked and a reload is broken.
//
// Start the shared servers (scripts/irc-server.sh start, scripts/matrix-server.sh
// start) and source their env files; without them the tests skip, unless
// CI=true (then they fail). Destructive cases start private instances.
package fault

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	_ "github.com/mattn/go-sqlite3"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// bin is the ksecbot binary built by TestMain.
var bin string

// lockEnv makes the test binary a helper process that holds a write lock
// on the SQLite file named by it (see holdLock).
const lockEnv = "KSECBOT_FAULT_LOCK_DB"

const ircHint = irctest.Hint

func TestMain(m *testing.M) {
	if path := os.Getenv(lockEnv); path != "" {
		os.Exit(holdLock(path))
	}
	if os.Getenv("KSECBOT_IRC_ADDR") == "" && os.Getenv("KSECBOT_MATRIX_URL") == "" && os.Getenv("CI") != "true" {
		os.Exit(m.Run()) // every test skips: no need to build
	}
	dir, err := os.MkdirTemp("", "ksecbot-fault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e/fault:", err)
		os.Exit(1)
	}
	bin, err = e2etest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e/fault:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var randName = irctest.RandName

// trees are the registry of every case: a bug naming one highlights its
// maintainers' nicks.
var trees = []e2etest.Tree{
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"mpagano"}},
	{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Bugzilla: []string{"hardened@gentoo.org"}, IRC: []string{"blueness"}},
}

// announced extracts the bug number of an announcement line or body.
var announced = regexp.MustCompile(`New kernel security bug (\d+)\b`)

func bugOf(text string) (int, bool) {
	m := announced.FindStringSubmatch(strings.ReplaceAll(text, "\x02", ""))
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// fileBugs files n bugs naming gentoo-sources and returns their ids.
func fileBugs(bz *bugzillatest.Server, n int, what string) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = bz.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/gentoo-sources: %s %02d", what, i)})
	}
	return ids
}

// ---- an IRC user in the channel ----

// ircObserver is a person's IRC client in one channel; its announcement
// lines are the PRIVMSGs there that announce a bug.
type ircObserver struct {
	*irctest.Observer
	channel string
}

func newIRCObserver(t *testing.T, addr, channel string) *ircObserver {
	t.Helper()
	o := &ircObserver{Observer: irctest.NewObserver(t, addr, irctest.Options{}), channel: channel}
	o.Join(t, channel, "")
	return o
}

// isAnnouncement matches an announcement line in the observer's channel.
func (o *ircObserver) isAnnouncement(m ircmsg.Message) bool {
	if m.Command != "PRIVMSG" || len(m.Params) < 2 || !strings.EqualFold(m.Params[0], o.channel) {
		return false
	}
	_, ok := bugOf(m.Params[1])
	return ok
}

// lines returns the announcement texts so far, in order.
func (o *ircObserver) lines() []string {
	var out []string
	for _, m := range o.History() {
		if o.isAnnouncement(m) {
			out = append(out, m.Params[1])
		}
	}
	return out
}

// until waits until cond holds for the announcement lines.
func (o *ircObserver) until(t *testing.T, timeout time.Duration, what string, cond func(lines []string) bool) {
	t.Helper()
	o.Until(t, timeout, what, func([]ircmsg.Message) bool { return cond(o.lines()) })
}

// counts returns how many lines announced each bug.
func (o *ircObserver) counts() map[int]int {
	c := map[int]int{}
	for _, l := range o.lines() {
		if id, ok := bugOf(l); ok {
			c[id]++
		}
	}
	return c
}

// waitBugs waits until every one of ids was announced at least once.
func (o *ircObserver) waitBugs(t *testing.T, timeout time.Duration, ids []int) {
	t.Helper()
	o.until(t, timeout, fmt.Sprintf("announcements of %d bugs", len(ids)), func([]string) bool {
		seen := o.counts()
		for _, id := range ids {
			if seen[id] == 0 {
				return false
			}
		}
		return true
	})
}

// firstAt returns when the first line announcing one of ids arrived.
func (o *ircObserver) firstAt(ids []int) time.Time {
	return o.ArrivedAt(func(m ircmsg.Message) bool {
		n, ok := bugOf(irctest.LastParam(m))
		return o.isAnnouncement(m) && ok && slices.Contains(ids, n)
	})
}

// lineOf returns the first announcement line of bug id.
func (o *ircObserver) lineOf(id int) string {
	for _, l := range o.lines() {
		if n, ok := bugOf(l); ok && n == id {
			return irctest.PlainText(l)
		}
	}
	return ""
}

// ---- ksecbot ----

// ircBot is a ksecbot on IRC in one channel, with the observer there.
type ircBot struct {
	cfg  e2etest.Config
	proc *e2etest.Proc
	obs  *ircObserver
	bz   *bugzillatest.Server
}

// startIRCBot starts a Bugzilla, an observer and ksecbot (flood: burst 10,
// one line per 100 ms; no digest) on addr, and waits until ksecbot is in
// the channel and stored its baseline. tweak may change the config.
func startIRCBot(t *testing.T, addr string, tweak func(*e2etest.Config)) *ircBot {
	t.Helper()
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#fault")
	obs := newIRCObserver(t, addr, ch)
	cfg := e2etest.Config{
		Dir:         t.TempDir(),
		BugzillaURL: bz.URL(),
		DigestAfter: 0,
		IRC:         &e2etest.IRC{Server: addr, Nick: randName("ksb"), Channels: []string{ch}, FloodBurst: 10, FloodInterval: 100 * time.Millisecond},
		Trees:       trees,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	b := &ircBot{cfg: cfg, obs: obs, bz: bz}
	b.start(t)
	return b
}

// start runs the binary on b's config (and store) and waits until it has
// joined and stored its Bugzilla baseline.
func (b *ircBot) start(t *testing.T) {
	t.Helper()
	b.proc = e2etest.Start(t, "ksecbot", bin, "--config", b.cfg.Write(t), "--log-level", "debug")
	b.proc.Log.WaitFor(t, 30*time.Second, 0, "the join", e2etest.Contains("msg=joined component=irc"))
	b.proc.Log.WaitFor(t, 30*time.Second, 0, "the Bugzilla baseline", e2etest.Contains("baseline stored"))
	nick := strings.ToLower(b.cfg.IRC.Nick)
	b.obs.Until(t, 20*time.Second, "ksecbot in the channel", func(h []ircmsg.Message) bool {
		for _, m := range h {
			if m.Command == "JOIN" && strings.HasPrefix(strings.ToLower(m.Nick()), nick) {
				return true
			}
		}
		return false
	})
}

// ---- the store, as ksecbot left it ----

// outboxRow is one row of ksecbot's outbox.
type outboxRow struct {
	key     string
	channel string
	sent    bool
}

// readOutbox reads ksecbot's outbox straight from its SQLite file (WAL:
// readers do not disturb the running bot).
func readOutbox(t *testing.T, path string) []outboxRow {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT COALESCE(key, ''), channel, sent_at FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var sentAt int64
		if err := rows.Scan(&r.key, &r.channel, &sentAt); err != nil {
			t.Fatal(err)
		}
		r.sent = sentAt != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- the SQLite lock helper process ----

// holdLock is the helper process of the locked-store case: it takes a
// write lock (BEGIN EXCLUSIVE) on the SQLite file, prints "locked", holds
// the lock for KSECBOT_FAULT_LOCK_FOR, commits and exits.
func holdLock(path string) int {
	hold, err := time.ParseDuration(os.Getenv("KSECBOT_FAULT_LOCK_FOR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock helper: KSECBOT_FAULT_LOCK_FOR:", err)
		return 2
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=30000")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock helper:", err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock helper:", err)
		return 1
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		fmt.Fprintln(os.Stderr, "lock helper: BEGIN EXCLUSIVE:", err)
		return 1
	}
	fmt.Println("locked")
	time.Sleep(hold) // holding the lock is the scenario, not a synchronisation
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		fmt.Fprintln(os.Stderr, "lock helper: COMMIT:", err)
		return 1
	}
	fmt.Println("released")
	return 0
}
