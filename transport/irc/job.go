// SPDX-License-Identifier: GPL-3.0-or-later

// One Send's lines and how far they got: a job counts the lines written
// and confirmed, ends at the first failure or when its caller stops it,
// and reports the progress as a transport.PartialError.

package irc

import (
	"strings"
	"sync"

	"github.com/ksecbot/ksecbot/transport"
)

// job is one Send: its lines are confirmed one by one (echo, labeled
// response or PING fence); it succeeds when all are and fails at the first
// line that is refused or lost. A job stopped by its caller (Send's ctx)
// writes no further line and ends once the lines already written are
// settled.
type job struct {
	mu      sync.Mutex
	ok      []bool
	ids     []string // the server's msgid of each confirmed line, "" if none
	base    int      // lines delivered by earlier attempts (Outgoing.Resume)
	written int      // lines handed to the connection so far (in order)
	stopped error    // set by stop: no further line is written
	closed  bool
	err     error
	done    chan struct{}
}

func newJob(n, base int) *job {
	return &job{ok: make([]bool, n), ids: make([]string, n), base: base, done: make(chan struct{})}
}

// setID records the msgid the server gave line i (its echo's tag), before
// the line is confirmed.
func (j *job) setID(i int, msgid string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if i >= 0 && i < len(j.ids) && !strings.ContainsRune(msgid, ' ') {
		j.ids[i] = msgid
	}
}

// networkID is the message's network ID for Send: the msgids of its lines,
// separated by spaces (a reply tag names one line; store.MessageBugs finds
// the message by any of them), or "" when the server gave none.
func (j *job) networkID() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ids []string
	for _, id := range j.ids {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return strings.Join(ids, " ")
}

// begin reports whether line i may be written, and counts it written; not
// once the job is closed or stopped.
func (j *job) begin(i int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.stopped != nil {
		return false
	}
	j.written = max(j.written, i+1)
	return true
}

// confirm marks line i delivered.
func (j *job) confirm(i int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || i < 0 || i >= len(j.ok) {
		return
	}
	j.ok[i] = true
	switch {
	case j.allOKLocked(len(j.ok)):
		j.closeLocked(nil) // every line arrived, even if stopped meanwhile
	case j.stopped != nil && j.allOKLocked(j.written):
		j.closeLocked(j.stopped)
	}
}

// stop ends a job its caller gave up on: no further line is written, and
// the job ends with err once the lines already written are confirmed (or
// at once when none awaits confirmation). It reports whether the message
// was cut before its last line with written lines unconfirmed: those need
// a fence of their own.
func (j *job) stop(err error) (needFence bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.stopped != nil {
		return false
	}
	j.stopped = err
	if j.allOKLocked(j.written) {
		j.closeLocked(err)
		return false
	}
	return j.written < len(j.ok)
}

// fail ends the job with err; lines confirmed so far stay delivered.
func (j *job) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.closed {
		j.closeLocked(err)
	}
}

func (j *job) allOKLocked(n int) bool {
	for _, ok := range j.ok[:n] {
		if !ok {
			return false
		}
	}
	return true
}

func (j *job) closeLocked(err error) {
	j.closed, j.err = true, err
	close(j.done)
}

func (j *job) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// halted reports whether the job's unwritten lines are to be skipped
// (closed, or stopped by its caller).
func (j *job) halted() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed || j.stopped != nil
}

// result is the job's outcome for Send: nil, or its error with the
// progress when some lines were delivered.
func (j *job) result(err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err == nil {
		err = j.err
	}
	if err == nil {
		return nil
	}
	n := 0
	for n < len(j.ok) && j.ok[n] {
		n++
	}
	if n > 0 {
		return &transport.PartialError{Done: j.base + n, Err: err}
	}
	return err
}
