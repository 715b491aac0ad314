// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"sync"
	"time"
)

// Bounds of push ingest.
const (
	// MaxPushIDs is the most bug ids one push may name (a push names the
	// bugs that just changed; a bigger one is refused, not truncated).
	MaxPushIDs = 100
	// maxPushQueue bounds the ids waiting for the push worker.
	maxPushQueue = 10000
	// pushBatch is how many queued ids one fetch reads (one search).
	pushBatch = 200
)

// pushQueue is the de-duplicated set of pushed bug ids waiting to be read,
// drained by one worker: a burst of pushes costs a few searches, never a
// goroutine per push. Safe for concurrent use.
type pushQueue struct {
	mu    sync.Mutex
	set   map[int]struct{}
	order []int
	wake  chan struct{}
}

func (q *pushQueue) init() {
	q.set = map[int]struct{}{}
	q.wake = make(chan struct{}, 1)
}

// add queues ids (ignoring those already queued). It reports false, and
// queues nothing, when they would not fit.
func (q *pushQueue) add(ids []int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	fresh := 0
	for _, id := range ids {
		if _, ok := q.set[id]; !ok {
			fresh++
		}
	}
	if len(q.set)+fresh > maxPushQueue {
		return false
	}
	for _, id := range ids {
		if _, ok := q.set[id]; !ok {
			q.set[id] = struct{}{}
			q.order = append(q.order, id)
		}
	}
	signal(q.wake)
	return true
}

// take removes and returns up to n queued ids, oldest first.
func (q *pushQueue) take(n int) []int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.order))
	ids := append([]int(nil), q.order[:n]...)
	q.order = q.order[n:]
	for _, id := range ids {
		delete(q.set, id)
	}
	if len(q.order) == 0 {
		q.order = nil // let the backing array go
	}
	return ids
}

// len returns how many ids wait.
func (q *pushQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// pushWorker reads pushed bugs, a batch at a time, until ctx is done.
func (in *Intake) pushWorker(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-in.pushes.wake:
		}
		for ctx.Err() == nil {
			ids := in.pushes.take(pushBatch)
			if len(ids) == 0 {
				break
			}
			fctx, cancel := context.WithTimeout(ctx, time.Minute)
			if err := in.Poke(fctx, ids...); err != nil && ctx.Err() == nil {
				in.log.Warn("push fetch failed; the next poll will catch up", "bugs", len(ids), "err", err)
			}
			cancel()
		}
	}
}
