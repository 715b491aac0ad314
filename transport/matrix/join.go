// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/backoff"
)

// joinRetry is one configured room's join backoff: how many attempts in a
// row failed and when the next one is due.
type joinRetry struct {
	failures int
	next     time.Time
}

// kickJoins wakes the join loop without blocking; a pending wake-up is
// enough, so nothing piles up however often syncs call it.
func (t *Transport) kickJoins() {
	select {
	case t.joinKick <- struct{}{}:
	default:
	}
}

// joinNow clears the backoff of the named rooms (an invite came, or a
// reload added them) and wakes the join loop.
func (t *Transport) joinNow(names ...string) {
	t.mu.Lock()
	for _, n := range names {
		delete(t.joinRetries, n)
	}
	t.mu.Unlock()
	t.kickJoins()
}

// joinLoop is the only joiner while Run is connected: it joins the rooms
// that are due, then sleeps until the next one is due or it is woken by a
// sync that finds a room missing, an invite or a reload. So there is at
// most one join attempt per room at a time, and a room that cannot be
// joined is retried with exponential backoff and jitter, not on every sync.
func (t *Transport) joinLoop(ctx context.Context, cli *mautrix.Client) {
	for {
		wait, pending := t.joinRooms(ctx, cli)
		var tm *time.Timer
		var due <-chan time.Time
		if pending {
			tm = time.NewTimer(wait)
			due = tm.C
		}
		select {
		case <-ctx.Done():
		case <-t.joinKick:
		case <-due:
		}
		if tm != nil {
			tm.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// joinRooms tries once each configured room that is not joined and whose
// backoff has expired. It returns how long until the next room is due and
// whether any is still not joined. A failure is logged (a warning the
// first time in a row, then at debug level) and backs that room off.
func (t *Transport) joinRooms(ctx context.Context, cli *mautrix.Client) (wait time.Duration, pending bool) {
	t.joinMu.Lock()
	defer t.joinMu.Unlock()
	t.mu.Lock()
	channels := append([]chat.Channel(nil), t.channels...)
	for name := range t.joinRetries { // forget rooms a reload removed
		if _, ok := t.byName[name]; !ok {
			delete(t.joinRetries, name)
		}
	}
	t.mu.Unlock()
	wait = -1
	for _, ch := range channels {
		if ctx.Err() != nil {
			return 0, false
		}
		t.mu.Lock()
		rid, ok := t.resolved[ch.Name]
		_, joined := t.rooms[rid]
		r := t.joinRetries[ch.Name]
		t.mu.Unlock()
		if ok && joined {
			t.roomJoined(ctx, ch)
			continue
		}
		now := t.opts.Now()
		if r != nil && now.Before(r.next) {
			pending = true
			if d := r.next.Sub(now); wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		t.joinAttempts.Add(1)
		target, req := t.joinTarget(ch.Name)
		resp, err := cli.JoinRoom(ctx, target, req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, false
			}
			if r == nil {
				r = &joinRetry{}
			}
			d := backoff.Delay(r.failures, t.opts.JoinRetryMin, t.opts.JoinRetryMax, nil)
			r.failures++
			r.next = t.opts.Now().Add(d)
			t.mu.Lock()
			if _, still := t.byName[ch.Name]; still {
				t.joinRetries[ch.Name] = r
			}
			t.mu.Unlock()
			level := t.log.Debug
			if r.failures == 1 {
				level = t.log.Warn
			}
			level("failed to join room, will retry", "room", ch.Name, "err", err, "failures", r.failures, "retry_in", d.Round(time.Millisecond))
			t.roomRefused(ctx, ch, err, r.failures)
			pending = true
			if wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		t.mu.Lock()
		delete(t.joinRetries, ch.Name)
		if f, ok := t.follows[ch.Name]; ok && f.fresh {
			f.fresh = false
			t.follows[ch.Name] = f
		}
		t.resolved[ch.Name] = resp.RoomID
		t.resolved[string(resp.RoomID)] = resp.RoomID
		cur, still := t.byName[ch.Name] // a reload may have changed or removed it meanwhile
		if still {
			t.rooms[resp.RoomID] = cur
		}
		t.mu.Unlock()
		if !still {
			t.leave(ctx, cli, resp.RoomID, ch.Name)
			continue
		}
		t.log.Info("joined room", "room", ch.Name, "room_id", resp.RoomID)
		t.roomJoined(ctx, cur)
	}
	if wait < 0 {
		wait = 0
	}
	return wait, pending
}

// inviteNames returns the configured names (ID or alias) under which an
// invited room is configured.
func (t *Transport) inviteNames(rid id.RoomID, alias string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var names []string
	for name := range t.byName {
		if name == string(rid) || (alias != "" && name == alias) || t.resolved[name] == rid || t.follows[name].room == rid {
			names = append(names, name)
		}
	}
	return names
}

// joinTroubleAfter is how many failed joins of a room in a row, each
// after the client's own retries, make channel trouble when the
// homeserver did not answer (a network error, 5xx): a homeserver restart
// is not worth an alert. A refusal (4xx: forbidden, banned, no such
// room) is reported at once.
const joinTroubleAfter = 3

// roomRefused reports a failed join of room ch to the core
// (transport.Alerts, when Run's inbox implements it) when it is a refusal
// or the failures went on (joinTroubleAfter). Its join goes on being
// retried with backoff.
func (t *Transport) roomRefused(ctx context.Context, ch chat.Channel, err error, failures int) {
	problem, refused := joinProblem(err)
	t.mu.Lock()
	fresh := t.follows[ch.Name].fresh
	t.mu.Unlock()
	if (!refused || fresh) && failures < joinTroubleAfter {
		return
	}
	t.mu.Lock()
	a := t.alerts
	if t.roomsOK != nil {
		delete(t.roomsOK, ch.Name)
	}
	t.mu.Unlock()
	if a != nil {
		a.ChannelTrouble(ctx, ch, problem)
	}
}

// roomJoined reports to the core, once per run and after every reported
// trouble, that the bot is in room ch (which ends an episode of trouble,
// also one from before a restart).
func (t *Transport) roomJoined(ctx context.Context, ch chat.Channel) {
	t.mu.Lock()
	a := t.alerts
	if t.roomsOK == nil {
		t.roomsOK = map[string]bool{}
	}
	told := t.roomsOK[ch.Name]
	t.roomsOK[ch.Name] = true
	t.mu.Unlock()
	if a != nil && !told {
		a.ChannelRecovered(ctx, ch)
	}
}

// joinProblem says why a room join failed and what to do about it, for
// the people in the private channels; refused reports that the
// homeserver answered with a refusal (4xx) rather than not at all.
func joinProblem(err error) (problem string, refused bool) {
	var he mautrix.HTTPError
	var hep *mautrix.HTTPError
	switch {
	case errors.As(err, &hep):
		he = *hep
	case errors.As(err, &he):
	default:
		return chat.Clean(fmt.Sprintf("the homeserver did not answer (%v); check it and the bot's connection to it", err), 300), false
	}
	code, msg := "", he.Message
	if he.RespError != nil {
		code, msg = he.RespError.ErrCode, he.RespError.Err
	}
	if he.Response == nil {
		return chat.Clean(fmt.Sprintf("the homeserver did not answer (%v); check it and the bot's connection to it", err), 300), false
	}
	if status := he.Response.StatusCode; status < 400 || status >= 500 {
		return chat.Clean(fmt.Sprintf("the homeserver failed (%d %s: %s); check it", status, code, msg), 300), false
	}
	fix := "invite the bot (it accepts invites to its configured rooms), unban it, or fix the room in [matrix] rooms"
	switch code {
	case mautrix.MNotFound.ErrCode:
		fix = "fix the room ID or alias in [matrix] rooms, or create the room"
	case mautrix.MForbidden.ErrCode:
		fix = "invite the bot (it accepts invites to its configured rooms) or unban it"
	}
	return chat.Clean(fmt.Sprintf("refused (%s: %s); %s", code, msg, fix), 300), true
}
