// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/e2e/e2etest"
)

// storageFault is how long the database stays unwritable.
const storageFault = 60 * time.Second

// storageFaultCase files a burst of bugs that ksecbot delivers slowly (one
// line per second), makes the database unwritable with fault once a few
// announcements are out, keeps it so for 60 s, then ends it: no bug is
// announced more than twice, and every one is announced after the fault.
// While the fault lasts, delivery pauses instead of repeating a line it
// cannot record (the case that used to send one announcement 32 times).
func storageFaultCase(t *testing.T, tweak func(*e2etest.Config), fault func(t *testing.T, b *ircBot) (end func())) {
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, func(c *e2etest.Config) {
		c.IRC.FloodBurst, c.IRC.FloodInterval = 1, time.Second
		if tweak != nil {
			tweak(c)
		}
	})
	log := b.proc.Log
	ids := fileBugs(b.bz, 12, "announced across a storage fault")
	b.obs.until(t, 60*time.Second, "the first announcements", func(lines []string) bool { return len(lines) >= 2 })
	from := len(log.Lines())
	end := fault(t, b)
	began := time.Now()
	log.WaitFor(t, 30*time.Second, from, "the ERROR about the unwritable database", e2etest.Contains("level=ERROR", "the database cannot be written"))
	t.Logf("ERROR logged %v into the fault", time.Since(began).Round(time.Millisecond))
	during := len(b.obs.lines())
	for time.Since(began) < storageFault {
		time.Sleep(500 * time.Millisecond) // the fault lasting is the scenario
		for id, n := range b.obs.counts() {
			if n > 2 {
				t.Fatalf("bug %d announced %d times during the fault", id, n)
			}
		}
	}
	sentDuring := len(b.obs.lines()) - during
	end()
	ended := time.Now()
	b.obs.waitBugs(t, 2*time.Minute, ids)
	t.Logf("fault lasted %v; %d line(s) went out during it after the ERROR; all %d bugs announced %v after it ended",
		ended.Sub(began).Round(time.Second), sentDuring, len(ids), time.Since(ended).Round(time.Millisecond))
	last := fileBugs(b.bz, 1, "filed after the storage fault")
	b.obs.waitBugs(t, 60*time.Second, last)
	counts := b.obs.counts()
	twice := 0
	for _, id := range append(ids, last...) {
		switch n := counts[id]; {
		case n == 0 || n > 2:
			t.Errorf("bug %d announced %d times, want once or (the line in flight) twice", id, n)
		case n == 2:
			twice++
		}
	}
	errs := 0
	for _, l := range log.Lines()[from:] {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "the database cannot be written") {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d ERROR lines about the unwritable database, want 1", errs)
	}
	if log.Count("the database is writable again") < 1 {
		t.Error("no line says the database is writable again")
	}
	if b.proc.Exited() {
		t.Fatalf("ksecbot exited: %v", b.proc.Err())
	}
	t.Logf("every bug announced; %d of %d twice; %d ERROR line", twice, len(ids)+1, errs)
}

// Another process holds the database's write lock for 60 s in the middle
// of a burst of announcements.
func TestWriteLockHeldDuringDelivery(t *testing.T) {
	t.Parallel()
	storageFaultCase(t, nil, func(t *testing.T, b *ircBot) func() {
		helper := exec.Command(os.Args[0], "-test.run=^$")
		helper.Env = append(os.Environ(), lockEnv+"="+b.cfg.StorePath(), "KSECBOT_FAULT_LOCK_FOR="+storageFault.String())
		out := e2etest.NewLog(t, "lock helper: ")
		helper.Stdout, helper.Stderr = out, out
		if err := helper.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- helper.Wait() }()
		out.WaitFor(t, 20*time.Second, 0, "the lock", e2etest.Contains("locked"))
		return func() {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("lock helper: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the lock helper did not finish")
			}
		}
	})
}

// The disk holding the database is full for 60 s in the middle of a burst
// of announcements: a real, small tmpfs (needs root, as the test servers
// do) filled up to the last byte by another file, which is removed after.
// Deterministic: the database is fresh, so its WAL has never reached the
// auto-checkpoint size (1000 pages) and been rewound; every commit appends
// to it and needs new blocks, which a full disk refuses (SQLITE_FULL).
// (SQLite's max_page_count would be a stand-in, but it is per connection
// and limits the database file, not the WAL that a commit writes first.)
func TestDiskFullDuringDelivery(t *testing.T) {
	t.Parallel()
	var mnt string
	storageFaultCase(t, func(c *e2etest.Config) {
		mnt = filepath.Dir(c.StorePath())
		if err := os.MkdirAll(mnt, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m,mode=0750"); err != nil {
			t.Skipf("cannot mount a small tmpfs for the disk-full case (needs root): %v", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	}, func(t *testing.T, b *ircBot) func() {
		filler := filepath.Join(mnt, "filler")
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 64<<10)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
		for { // the last partial chunk
			if _, err := f.Write(chunk[:512]); err != nil {
				break
			}
		}
		f.Close()
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); err == nil {
			t.Logf("disk full: %d bytes free on %s", st.Bavail*uint64(st.Bsize), mnt)
		}
		return func() {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// The database directory is removed while ksecbot runs: it must not go on
// writing to a file nobody can open again. It logs an ERROR, saves the
// open database back to its path and exits with code 75 (a temporary
// failure: the service manager restarts it); restarted, it goes on from
// the saved database: the bug announced before is not announced again,
// a new bug is.
func TestDatabaseDirectoryRemoved(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, nil)
	before := fileBugs(b.bz, 1, "announced before the directory goes")
	b.obs.waitBugs(t, 30*time.Second, before)

	state := filepath.Dir(b.cfg.StorePath())
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	select {
	case <-b.proc.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("ksecbot still runs 60 s after its database directory was removed")
	}
	var exit *exec.ExitError
	if err := b.proc.Err(); !errors.As(err, &exit) || exit.ExitCode() != 75 {
		t.Fatalf("ksecbot exited with %v, want exit code 75", err)
	}
	t.Logf("ksecbot exited with code 75 %v after the removal", time.Since(removed).Round(time.Millisecond))
	if n := b.proc.Log.Count("level=ERROR", "removed or replaced"); n != 1 {
		t.Errorf("%d ERROR lines about the removed database, want 1", n)
	}
	if _, err := os.Stat(b.cfg.StorePath()); err != nil {
		t.Fatalf("the database was not saved back: %v", err)
	}

	// What the service manager does; the saved database has the
	// baseline, so no new one is taken.
	b.proc = e2etest.Start(t, "ksecbot", bin, "--config", b.cfg.Write(t), "--log-level", "debug")
	b.proc.Log.WaitFor(t, 30*time.Second, 0, "the join", e2etest.Contains("msg=joined component=irc"))
	if n := b.proc.Log.Count("baseline stored"); n != 0 {
		t.Errorf("the restart took a new baseline: the saved database was not used")
	}
	after := fileBugs(b.bz, 1, "filed after the restart")
	b.obs.waitBugs(t, 30*time.Second, after)
	counts := b.obs.counts()
	if counts[before[0]] != 1 || counts[after[0]] != 1 {
		t.Errorf("announcements: bug %d %d times, bug %d %d times; want once each", before[0], counts[before[0]], after[0], counts[after[0]])
	}
}
