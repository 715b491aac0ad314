// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// (4) Bugzilla answers 500, hangs past the timeout, returns truncated
// JSON, then recovers: no bug is missed, each is announced once, and the
// log tells about the outage once, not once per poll.
func TestBugzillaOutage(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, func(c *e2etest.Config) {
		c.PollInterval = 300 * time.Millisecond
		c.Timeout = 2 * time.Second
	})
	log := b.proc.Log
	start := len(log.Lines())

	// Each fault stays until ksecbot has run into it at least twice.
	var ids []int
	faults := []struct {
		name  string
		fault bugzillatest.Fault
	}{
		{"HTTP 500", bugzillatest.Fault{Mode: bugzillatest.Fault500}},
		{"a hang past the 2 s timeout", bugzillatest.Fault{Mode: bugzillatest.FaultHang}},
		{"truncated JSON", bugzillatest.Fault{Mode: bugzillatest.FaultTruncate}},
	}
	for _, f := range faults {
		b.bz.SetFault(f.fault)
		ids = append(ids, fileBugs(b.bz, 2, "filed during "+f.name)...)
		from := len(log.Lines())
		i := log.WaitFor(t, 30*time.Second, from, "a failed poll during "+f.name, failedPoll)
		log.WaitFor(t, 30*time.Second, i+1, "a second failed poll during "+f.name, failedPoll)
		t.Logf("Bugzilla fault %q: ksecbot's polls fail (%s)", f.name, lastMatch(log.Lines(), failedPoll))
	}
	b.bz.ClearFault()
	log.WaitFor(t, 30*time.Second, start, "the recovery", e2etest.Contains("bugzilla polling recovered"))
	b.obs.waitBugs(t, 30*time.Second, ids)

	// A bug filed after the recovery is the barrier for late repeats.
	last := fileBugs(b.bz, 1, "filed after the recovery")
	b.obs.waitBugs(t, 30*time.Second, last)
	counts := b.obs.counts()
	for _, id := range append(ids, last...) {
		if counts[id] != 1 {
			t.Errorf("bug %d announced %d times, want exactly once", id, counts[id])
		}
	}
	t.Logf("all %d bugs filed during the outage announced exactly once after it", len(ids))

	// The outage is told once at the start and once at the recovery.
	// In between, a warning only each time the failed polls double.
	lines := log.Lines()[start:]
	var loud []string
	doubling := regexp.MustCompile(`failures=(1|2|4|8|16|32|64|128) `)
	for _, l := range lines {
		if !strings.Contains(l, "level=WARN") && !strings.Contains(l, "level=ERROR") || !strings.Contains(strings.ToLower(l), "bugzilla") {
			continue
		}
		if strings.Contains(l, "bugzilla poll failed again") {
			if !doubling.MatchString(l) {
				t.Errorf("warning for a failed poll that does not double the count: %s", l)
			}
			continue
		}
		loud = append(loud, l)
	}
	failing, recovered := countIn(lines, "bugzilla polling failing"), countIn(lines, "bugzilla polling recovered")
	polls := failing + countIn(lines, "bugzilla poll failed again")
	if failing != 1 || recovered != 1 {
		t.Errorf("outage logged %d times at the start and %d at the recovery, want 1 and 1", failing, recovered)
	}
	const allowed = 4 // the start, plus an auto-CC or startup warning or two
	if len(loud) > allowed {
		t.Errorf("%d warnings about Bugzilla during the outage (%d polls failed), want at most %d:\n%s",
			len(loud), polls, allowed, strings.Join(loud, "\n"))
	}
	t.Logf("the outage was logged %d times at warning level (start %d, recovery %d at info), over %d failed polls",
		len(loud), failing, recovered, polls)
}

// failedPoll matches the watcher's lines for a failed poll (the first at
// warning level, later ones at debug level).
func failedPoll(l string) bool {
	return strings.Contains(l, "bugzilla polling failing") || strings.Contains(l, "bugzilla poll failed again")
}

func lastMatch(lines []string, pred func(string) bool) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if pred(lines[i]) {
			return lines[i]
		}
	}
	return ""
}

func countIn(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// (5) Another process holds a write lock on the SQLite file for 10 s while
// bugs are filed: ksecbot neither crashes nor loses them; all are
// announced once the lock is gone.
func TestStoreLocked(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, nil)
	const hold = 10 * time.Second

	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), lockEnv+"="+b.cfg.StorePath(), "KSECBOT_FAULT_LOCK_FOR="+hold.String())
	out := e2etest.NewLog(t, "lock helper: ")
	helper.Stdout, helper.Stderr = out, out
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	helperDone := make(chan error, 1)
	go func() { helperDone <- helper.Wait() }()
	out.WaitFor(t, 20*time.Second, 0, "the lock", e2etest.Contains("locked"))
	locked := time.Now()
	t.Logf("another process holds BEGIN EXCLUSIVE on %s for %v", b.cfg.StorePath(), hold)

	ids := fileBugs(b.bz, 5, "filed while the store is locked")
	select {
	case err := <-helperDone:
		if err != nil {
			t.Fatalf("lock helper: %v", err)
		}
	case <-time.After(hold + 20*time.Second):
		t.Fatal("the lock helper did not finish")
	}
	released := time.Now()
	t.Logf("lock released after %v", released.Sub(locked).Round(time.Millisecond))
	b.obs.waitBugs(t, 60*time.Second, ids)
	// The lock was real: nothing filed during it could be stored and
	// announced before it ended (the helper held it for the full 10 s).
	if first := b.obs.firstAt(ids); first.Before(locked.Add(hold - time.Second)) {
		t.Errorf("a bug was announced %v after the lock was taken, before it was released: the lock did not hold", first.Sub(locked))
	}
	if b.proc.Exited() {
		t.Fatalf("ksecbot exited while the store was locked: %v", b.proc.Err())
	}
	last := fileBugs(b.bz, 1, "filed after the lock")
	b.obs.waitBugs(t, 30*time.Second, last)
	counts := b.obs.counts()
	for _, id := range append(ids, last...) {
		if counts[id] != 1 {
			t.Errorf("bug %d announced %d times, want exactly once", id, counts[id])
		}
	}
	t.Logf("ksecbot kept running; the %d bugs filed during the lock were announced once each after it", len(ids))
}

// (6) A reload with errors keeps the old configuration and says why
// (key and line); a valid reload then takes effect.
func TestReloadWithErrors(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, nil)
	log := b.proc.Log

	good := b.cfg.TOML()
	broken := good + "\n[[tree]]\nname = \"rpi\"\npackages = [\"sys-kernel/raspberrypi-sources\"]\nirc = [\"rpinick\"]\nmaintainers = [\"typo\"]\n"
	brokenLine := strings.Count(broken[:strings.Index(broken, "maintainers =")], "\n") + 1
	e2etest.WriteFile(t, b.cfg.Path(), broken)
	from := len(log.Lines())
	if err := b.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	i := log.WaitFor(t, 10*time.Second, from, "the failed reload", e2etest.Contains("reload failed"))
	msg := log.Lines()[i]
	if want := fmt.Sprintf(":%d", brokenLine); !strings.Contains(msg, "maintainers") || !strings.Contains(msg, want) {
		t.Errorf("the reload error does not name the key maintainers and line %d: %s", brokenLine, msg)
	}
	t.Logf("broken reload reported: %s", msg)

	// The old registry still applies.
	old := b.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed after the broken reload"})
	rpi1 := b.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/raspberrypi-sources: filed after the broken reload"})
	b.obs.waitBugs(t, 30*time.Second, []int{old, rpi1})
	if l := b.obs.lineOf(old); !strings.Contains(l, "mpagano") {
		t.Errorf("bug %d does not highlight the old tree's maintainer mpagano: %q", old, l)
	}
	if l := b.obs.lineOf(rpi1); strings.Contains(l, "rpinick") {
		t.Errorf("bug %d highlights rpinick from the rejected config: %q", rpi1, l)
	}
	t.Logf("old config kept: %q", b.obs.lineOf(old))

	// A valid change takes effect.
	fixed := strings.Replace(broken, "maintainers = [\"typo\"]\n", "bugzilla = [\"rpi@gentoo.org\"]\n", 1)
	e2etest.WriteFile(t, b.cfg.Path(), fixed)
	from = len(log.Lines())
	if err := b.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	log.WaitFor(t, 10*time.Second, from, "the reload", e2etest.Contains("configuration reloaded", "trees=3"))
	rpi2 := b.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/raspberrypi-sources: filed after the good reload"})
	b.obs.waitBugs(t, 30*time.Second, []int{rpi2})
	if l := b.obs.lineOf(rpi2); !strings.Contains(l, "rpinick") || strings.Contains(l, "mpagano") {
		t.Errorf("bug %d after the valid reload: want the new tree's rpinick only, got %q", rpi2, l)
	}
	t.Logf("new tree in effect: %q", b.obs.lineOf(rpi2))

	// A new channel replaces the old one, on the same connection: the
	// bot parts the old, joins the new, and the next announcement goes
	// there.
	newCh := randName("#moved")
	obs2 := newIRCObserver(t, addr, newCh)
	oldCh := b.cfg.IRC.Channels[0]
	b.cfg.IRC.Channels = []string{newCh}
	e2etest.WriteFile(t, b.cfg.Path(), b.cfg.TOML()+strings.TrimPrefix(fixed, good))
	from = len(log.Lines())
	if err := b.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	log.WaitFor(t, 10*time.Second, from, "the channel reload", e2etest.Contains("msg=\"channels reloaded\" component=irc", newCh, oldCh))
	nick := b.cfg.IRC.Nick
	obs2.WaitFor(t, 10*time.Second, "ksecbot JOIN "+newCh, irctest.From("JOIN", nick, newCh))
	b.obs.WaitFor(t, 10*time.Second, "ksecbot PART "+oldCh, irctest.From("PART", nick, oldCh))
	moved := b.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed after the channel reload"})
	obs2.waitBugs(t, 30*time.Second, []int{moved})
	if n := b.obs.counts()[moved]; n != 0 {
		t.Errorf("bug %d was announced in the removed channel %s too", moved, oldCh)
	}
	for _, l := range log.Lines()[from:] {
		if strings.Contains(l, "msg=connected component=irc") {
			t.Errorf("the channel reload reconnected: %s", l)
		}
	}
	if b.proc.Exited() {
		t.Fatalf("ksecbot exited: %v", b.proc.Err())
	}
}
