// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"fmt"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/config"
)

// pickerFor is a transport whose queues the test fills directly, with the
// limiter on a fake clock: pick's order and delays are checked without a
// server and without sleeping.
func pickerFor(t *testing.T, burst int, interval time.Duration) (*Transport, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr, err := New(&Config{Server: "irc.invalid:6667", Nick: "ksb",
		Flood: Flood{Burst: burst, Interval: config.Duration{Duration: interval}}}, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return tr, clk
}

func (t *Transport) queueTest(prio int, text string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.queue[prio] = append(t.queue[prio], &outLine{cmd: "PRIVMSG", params: []string{"#c", text}, job: newJob(1, 0), queued: at})
}

// pickAll drains the queues as the writer would, advancing the fake clock
// by each wait, and returns the texts in write order with the time each
// was written (since the start).
func pickAll(tr *Transport, clk *fakeClock, add func(elapsed time.Duration)) (order []string, at []time.Duration) {
	start := clk.t
	for range 1000 {
		if add != nil {
			add(clk.t.Sub(start))
		}
		l, wait := tr.pick()
		if l == nil && wait == 0 {
			return order, at
		}
		if l == nil {
			clk.advance(wait)
			continue
		}
		order = append(order, l.params[1])
		at = append(at, clk.t.Sub(start))
	}
	panic("pick did not drain the queues")
}

// Announcements go before queued replies; replies leave the bucket's last
// token to announcements, so an announcement arriving in a reply flood
// goes out at once; a reply kept waiting longer than four intervals gets
// one line between announcements (never starved).
func TestPickAnnouncementsBeforeReplies(t *testing.T) {
	const iv = 2 * time.Second
	t.Run("queued announcements overtake queued replies", func(t *testing.T) {
		tr, clk := pickerFor(t, 4, iv)
		for i := range 3 {
			tr.queueTest(prioReply, fmt.Sprintf("reply %d", i), clk.t)
		}
		for i := range 3 {
			tr.queueTest(prioOther, fmt.Sprintf("ann %d", i), clk.t)
		}
		order, _ := pickAll(tr, clk, nil)
		want := []string{"ann 0", "ann 1", "ann 2", "reply 0", "reply 1", "reply 2"}
		if fmt.Sprint(order) != fmt.Sprint(want) {
			t.Fatalf("order %v, want %v", order, want)
		}
	})
	t.Run("an announcement in a reply flood waits at most one interval", func(t *testing.T) {
		tr, clk := pickerFor(t, 4, iv)
		for i := range 50 {
			tr.queueTest(prioReply, fmt.Sprintf("reply %d", i), clk.t)
		}
		var queuedAt time.Duration = -1
		order, at := pickAll(tr, clk, func(el time.Duration) {
			if el >= 15*time.Second && queuedAt < 0 {
				queuedAt = el
				tr.queueTest(prioOther, "ann", clk.t)
			}
		})
		for i, o := range order {
			if o == "ann" {
				if d := at[i] - queuedAt; d > iv {
					t.Fatalf("announcement queued at %v written at %v: waited %v, more than one interval (%v)", queuedAt, at[i], d, iv)
				}
				t.Logf("announcement queued at %v in a flood of 50 replies, written after %v", queuedAt, at[i]-queuedAt)
				return
			}
		}
		t.Fatalf("announcement never written: %v", order)
	})
	t.Run("replies are not starved", func(t *testing.T) {
		// the deliverer feeds a backlog one message at a time: the
		// announcement queue is never long, but never empty for long
		tr, clk := pickerFor(t, 4, iv)
		tr.queueTest(prioReply, "reply", clk.t)
		fed := 0
		order, at := pickAll(tr, clk, func(time.Duration) {
			tr.mu.Lock()
			empty := len(tr.queue[prioOther]) == 0
			tr.mu.Unlock()
			if empty && fed < 40 {
				tr.queueTest(prioOther, fmt.Sprintf("ann %02d", fed), clk.t)
				fed++
			}
		})
		for i, o := range order {
			if o != "reply" {
				continue
			}
			if i == len(order)-1 {
				t.Fatalf("the reply waited for all 40 announcements: %v", order)
			}
			// it went once it had waited four intervals
			if at[i] > 5*iv {
				t.Fatalf("reply written at %v, want by %v", at[i], 5*iv)
			}
			t.Logf("reply written at %v, after %d announcement lines", at[i], i)
			return
		}
		t.Fatalf("reply never written: %v", order)
	})
	t.Run("replies alone use the whole bucket but the last token", func(t *testing.T) {
		tr, clk := pickerFor(t, 4, iv)
		for i := range 4 {
			tr.queueTest(prioReply, fmt.Sprintf("reply %d", i), clk.t)
		}
		_, at := pickAll(tr, clk, nil)
		// 3 at once (one token kept), the 4th one interval later (Ready
		// rounds up to the next millisecond)
		if len(at) != 4 || at[2] != 0 || at[3] < iv || at[3] > iv+5*time.Millisecond {
			t.Fatalf("reply times %v, want 0 0 0 %v", at, iv)
		}
	})
}
