// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"sync"
	"sync/atomic"
)

// BugLocks serialises writes to one bug inside the process: a write holds
// its bug's lock from the fresh read to the mirror update, so two writes
// to one bug never decide from the same read. It outlives the router: a
// reload (SIGHUP) builds a new router with the same BugLocks
// (Deps.BugLocks), so a write under way before the reload and one after
// it still take turns. Safe for concurrent use.
type BugLocks struct {
	stripes [64]sync.Mutex
	waiting atomic.Int64
}

// NewBugLocks returns the locks of every bug, all free.
func NewBugLocks() *BugLocks { return &BugLocks{} }

// Lock takes bug id's lock, waiting for it, and returns its unlock.
// Several bugs share a lock: hold one at a time.
func (l *BugLocks) Lock(id int) (unlock func()) {
	m := &l.stripes[uint(id)%uint(len(l.stripes))]
	l.waiting.Add(1)
	m.Lock()
	l.waiting.Add(-1)
	return m.Unlock
}

// Waiting returns how many writes wait for a bug's lock now.
func (l *BugLocks) Waiting() int { return int(l.waiting.Load()) }
