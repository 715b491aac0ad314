// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/backoff"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// Defaults for Options.
const (
	// DefaultKeyRetry is the longest wait between two tries of a refused
	// API key: the tries start keyRetryFirst apart and double up to it,
	// so a key that works again is noticed within seconds of a short
	// refusal and within a minute of a long one.
	DefaultKeyRetry        = time.Minute
	DefaultDefaultsRefresh = 24 * time.Hour
	keyRetryFirst          = 2 * time.Second
)

// keyLoop checks the API key at start, follows the client's key state
// (a poll may meet a refusal at any time) and, while Bugzilla refuses the
// key, tries it again soon: keyRetryFirst, then twice as long each time,
// at most keyRetry apart. Each change is said once in the private
// channels; when the key works again the watcher is told (it re-reads
// what it could only read anonymously meanwhile). Without a key it only
// logs read-only mode.
func (in *Intake) keyLoop(ctx context.Context) error {
	if !in.bz.HasAPIKey() {
		in.log.Info("no Bugzilla API key: read-only, write commands are refused")
		return nil
	}
	known := in.checkKey(ctx)
	tries := 0
	wasRefused, signalled := false, false
	for {
		select { // a change signalled by now is in the state read next
		case <-in.bz.KeyChanges():
			signalled = true
		default:
		}
		st := in.bz.Key()
		if known {
			in.noteKeyState(ctx, st)
		}
		switch {
		case st.Refused != wasRefused:
			wasRefused = st.Refused
			in.keyChanged(ctx, st.Refused)
		case signalled && !st.Refused:
			// The key was refused and accepted again since the last
			// look (a read met the refusal while a check was under
			// way): the watcher still has to read again with the key.
			in.keyChanged(ctx, false)
		}
		signalled = false
		var retry <-chan time.Time
		var timer *time.Timer
		if st.Refused || !known {
			timer = time.NewTimer(backoff.Step(tries, min(keyRetryFirst, in.keyRetry), in.keyRetry))
			retry = timer.C
		} else {
			tries = 0
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-in.bz.KeyChanges():
			known, signalled = true, true
		case <-retry:
			tries++
			if in.checkKey(ctx) {
				known = true
			}
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// keyChanged tells the watcher that reads became anonymous (refused: the
// mirror is unconfirmed from now on) or carry the key again (accepted: it
// polls at once, from where the outage began).
func (in *Intake) keyChanged(ctx context.Context, refused bool) {
	if !refused {
		in.watcher.Poke()
		return
	}
	if err := in.watcher.KeyRefused(ctx); err != nil && ctx.Err() == nil {
		in.log.Warn("failed to record the key outage", "err", err)
	}
}

// checkKey asks Bugzilla whether it accepts the key. It reports whether
// the answer was definite (accepted or refused), not a network error.
func (in *Intake) checkKey(ctx context.Context) bool {
	login, err := in.bz.CheckAPIKey(ctx)
	switch {
	case err == nil:
		in.log.Info("Bugzilla API key accepted", "login", login)
		return true
	case errors.Is(err, bugzilla.ErrBadAPIKey), errors.Is(err, bugzilla.ErrLoginRequired):
		in.log.Debug("Bugzilla still refuses the API key", "err", err)
		return true
	case ctx.Err() != nil:
		return false
	default:
		in.log.Warn("could not check the Bugzilla API key now", "err", err)
		return false
	}
}

// noteKeyState says a change of the key state once in the private
// channels (through the outbox) and remembers it across restarts (an
// episode numbered by refusals), so that each change is said once.
func (in *Intake) noteKeyState(ctx context.Context, st bugzilla.KeyState) {
	prev, err := in.store.Episode(ctx, store.EpisodeBugzillaKey, "")
	if err != nil {
		in.log.Warn("failed to read the key state", "err", err)
		return
	}
	next := prev
	var line chat.Line
	switch {
	case st.Refused && prev.State != "refused":
		next = store.Episode{State: "refused", Number: prev.Number + 1}
		line = chat.Line{}.Bold("ksecbot is read-only:").Text(" Bugzilla refuses its API key (" + st.Reason + "). " +
			"Polling goes on anonymously: restricted bugs are announced once the key works again, and public channels get no details of a bug not read since; " +
			"!claim, !cc and auto-CC are off. The key is tried again within " + in.keyRetry.String() +
			"; the operator should fix bugzilla.api_key_file.")
	case !st.Refused && prev.State == "refused":
		next.State = "ok"
		line = chat.Line{}.Bold("ksecbot can write again:").Text(" Bugzilla accepts its API key; !claim, !cc and auto-CC are back on.")
	default:
		return
	}
	if err := in.notices.System(ctx, "bugzilla-key-"+next.State+":"+strconv.Itoa(next.Number), line); err != nil {
		in.log.Warn("failed to queue the key state notice", "err", err)
		return
	}
	if err := in.store.SetEpisode(ctx, store.EpisodeBugzillaKey, "", next); err != nil {
		in.log.Warn("failed to record the key state", "err", err)
	}
}

// defaultsLoop reads the watches' component default assignees at start
// and every defaultsRefresh (a bug still with the default is unclaimed).
func (in *Intake) defaultsLoop(ctx context.Context) error {
	for {
		wait := in.defaultsRefresh
		if !in.refreshDefaults(ctx) {
			wait = min(wait, in.keyRetry) // try again sooner after a failure
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// refreshDefaults reads every watch's default assignee and stores it. It
// reports whether all were read.
func (in *Intake) refreshDefaults(ctx context.Context) bool {
	ok := true
	for _, w := range in.watches {
		assignee, _, err := in.bz.ComponentDefaults(ctx, w.Product, w.Component)
		if err != nil {
			if ctx.Err() == nil {
				in.log.Warn("could not read the component's default assignee", "watch", w.Name(), "err", err)
			}
			ok = false
			continue
		}
		old, had, _ := in.store.ComponentDefault(ctx, w.Name())
		if had && old == assignee {
			continue
		}
		if err := in.store.SetComponentDefault(ctx, w.Name(), assignee); err != nil {
			in.log.Warn("failed to store the component default", "watch", w.Name(), "err", err)
			ok = false
			continue
		}
		in.log.Info("component default assignee", "watch", w.Name(), "assignee", assignee, "was", old)
	}
	return ok
}

// unclaimed reports whether a bug is still with its component's default
// assignee as it is now or was when the bug was filed
// (policy.BugUnclaimed), from the defaults Intake has seen (the store
// keeps them) or [bugzilla] default_assignee when it saw none.
func unclaimed(ctx context.Context, st *store.Store, cfg *config.Config, b *bugzilla.Bug) bool {
	var seen []policy.Default
	history, _ := st.DefaultHistory(ctx, b.Product+"/"+b.Component) // unread: judged by the configuration
	for _, d := range history {
		seen = append(seen, policy.Default(d))
	}
	if len(seen) == 0 && cfg.Bugzilla.DefaultLogin != "" {
		seen = []policy.Default{{Login: cfg.Bugzilla.DefaultLogin}}
	}
	return policy.BugUnclaimed(b, seen, cfg.Users)
}

// Problems describes what is degraded on the Bugzilla side, for
// /healthz: a refused key (anonymous read-only) and failing polls.
func (in *Intake) Problems() []string {
	var out []string
	if st := in.bz.Key(); st.Refused {
		out = append(out, fmt.Sprintf("bugzilla: API key refused since %s (%s); reading anonymously, writes off; retried at least every %s",
			st.Since.UTC().Format(time.RFC3339), st.Reason, in.keyRetry))
	}
	if ws := in.watcher.Stats(); ws.ConsecutiveFailures > 0 {
		out = append(out, fmt.Sprintf("bugzilla: unreachable or failing (%d polls failed; last success %s): %s",
			ws.ConsecutiveFailures, lastSuccess(ws.LastSuccess), ws.LastError))
	}
	return out
}

func lastSuccess(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
