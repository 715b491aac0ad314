// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"sync"

	"github.com/ksecbot/ksecbot/chat"
)

// Edits and withdrawals. A network that lets people correct or delete a
// message (Matrix) says which earlier message an incoming one corrects
// (chat.Incoming.Edits) or withdraws (Redacts). The dispatcher remembers
// the recent commands it admitted, by their first message: the latest
// version's path (write or not) and whether a worker has started it.
//
//   - A withdrawn command not yet started is dropped.
//   - A correction replaces a version not yet started (that one is
//     dropped) and is served like a new command, except that a write is
//     never done twice: when the version a worker started was a write and
//     the correction is one too, the sender is told to send a new message.

// commandLogSize bounds the commands remembered; edits come within
// minutes.
const commandLogSize = 1024

// alreadyDoneText answers a correction of a write that was carried out.
const alreadyDoneText = "I already did what that command first said, so I did not do it again as edited; send a new message for anything else."

// logged is one remembered command (its latest version).
type logged struct {
	write   bool
	started bool // a worker took it
	dropped bool // withdrawn or replaced before a worker took it
}

// commandLog remembers recent commands by channel and first message ID.
// Safe for concurrent use.
type commandLog struct {
	mu    sync.Mutex
	byKey map[string]*logged
	order []string // oldest first
}

func logKey(ch, id string) string { return ch + "\x00" + id }

// firstID is the ID of the message a command was first sent as.
func firstID(msg chat.Incoming) string {
	if msg.Edits != "" {
		return msg.Edits
	}
	return msg.ID
}

// withdraw drops the command first sent as id in channel ch if no worker
// took it yet; it reports whether it did.
func (l *commandLog) withdraw(ch, id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byKey[logKey(ch, id)]
	if e == nil || e.started || e.dropped {
		return false
	}
	e.dropped = true
	return true
}

// correct handles a correction msg of an earlier command: the version
// not yet started is dropped; it reports whether the correction must not
// be served (the started version and the correction are both writes).
func (l *commandLog) correct(msg chat.Incoming, write bool) (refuse bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byKey[logKey(msg.Channel.Key, msg.Edits)]
	switch {
	case e == nil:
		return false
	case e.started:
		return e.write && write
	default:
		e.dropped = true
		return false
	}
}

// add remembers an admitted command (or a correction, under the message
// first sent) and returns its entry for the worker.
func (l *commandLog) add(msg chat.Incoming, write bool) *logged {
	id := firstID(msg)
	if id == "" {
		return nil // a network without message IDs: nothing can refer to it
	}
	e := &logged{write: write}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byKey == nil {
		l.byKey = map[string]*logged{}
	}
	k := logKey(msg.Channel.Key, id)
	if _, ok := l.byKey[k]; !ok {
		l.order = append(l.order, k)
	}
	l.byKey[k] = e
	if len(l.order) > commandLogSize {
		delete(l.byKey, l.order[0])
		l.order = l.order[1:]
	}
	return e
}

// start marks e taken by a worker; it reports false for a command that
// was withdrawn or replaced meanwhile (not to be served).
func (l *commandLog) start(e *logged) bool {
	if e == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.dropped {
		return false
	}
	e.started = true
	return true
}
