// SPDX-License-Identifier: GPL-3.0-or-later

package e2etest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Log collects a process's output line by line and mirrors each line to
// the test log. Safe for concurrent use.
type Log struct {
	t      testing.TB
	prefix string
	mu     sync.Mutex
	buf    []byte
	lines  []string
	notify chan struct{}
	forbid []string // secrets no line may contain
}

// NewLog returns a Log that mirrors lines to t.Log with prefix.
func NewLog(t testing.TB, prefix string) *Log {
	return &Log{t: t, prefix: prefix, notify: make(chan struct{}, 1)}
}

// Write implements io.Writer.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	added := false
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		l.lines = append(l.lines, line)
		l.t.Log(l.prefix + l.check(len(l.lines)-1, line))
		added = true
	}
	l.mu.Unlock()
	if added {
		select {
		case l.notify <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Forbid fails the test for every line, already written or later, that
// contains one of secrets (ksecbot must never log one); such a line is
// mirrored to the test log with the secret masked.
func (l *Log) Forbid(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forbid = append(l.forbid, secrets...)
	for i, line := range l.lines {
		l.check(i, line)
	}
}

// check reports line i if it holds a forbidden secret and returns it
// masked; l.mu must be held.
func (l *Log) check(i int, line string) string {
	masked := line
	for _, s := range l.forbid {
		if s != "" && strings.Contains(masked, s) {
			masked = strings.ReplaceAll(masked, s, "***")
		}
	}
	if masked != line {
		l.t.Errorf("%sline %d logs a secret: %q", l.prefix, i+1, masked)
	}
	return masked
}

// Lines returns a copy of the complete lines so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Count returns how many lines contain every one of subs.
func (l *Log) Count(subs ...string) int {
	n := 0
	for _, line := range l.Lines() {
		if containsAll(line, subs) {
			n++
		}
	}
	return n
}

// WaitFor waits until a line at index from or later satisfies pred and
// returns its index; it fails the test with what after timeout.
func (l *Log) WaitFor(t testing.TB, timeout time.Duration, from int, what string, pred func(string) bool) int {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		lines := l.Lines()
		for i := from; i < len(lines); i++ {
			if pred(lines[i]) {
				return i
			}
		}
		select {
		case <-l.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for the log line %s", timeout, what)
		}
	}
}

// Contains returns a predicate for WaitFor: the line contains every one
// of subs.
func Contains(subs ...string) func(string) bool {
	return func(line string) bool { return containsAll(line, subs) }
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Proc is a running ksecbot (or any) subprocess whose stdout and stderr
// go to Log.
type Proc struct {
	// Log is the process's output.
	Log  *Log
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs bin with args; name prefixes its lines in the test log. The
// test's cleanup stops it with SIGTERM (SIGKILL after 20 s) and reports
// an unclean exit.
func Start(t testing.TB, name, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Log: NewLog(t, name+": "), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("failed to start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.Exited() {
			return
		}
		if err := p.Stop(20 * time.Second); err != nil {
			t.Errorf("%s did not exit cleanly on SIGTERM: %v", name, err)
		}
	})
	return p
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL, like a crash, and waits for it.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Stop sends SIGTERM and waits up to grace for the exit (then SIGKILL);
// it returns the exit error, or one saying it had to be killed.
func (p *Proc) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		p.Kill()
		return errKilled
	}
}

var errKilled = errors.New("still running after SIGTERM: killed")

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has ended; Err is then its exit error.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns the exit error; valid once Done is closed.
func (p *Proc) Err() error { return p.err }
