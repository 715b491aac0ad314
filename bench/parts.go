// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

const (
	wideFlood     = "burst = 1000\ninterval = \"1ms\"" // flood-control waiting excluded from (a)
	sampleTimeout = 20 * time.Second
	mib40         = 40 << 20
)

// pushPart is (a) push-to-highlight, (e) memory with the full mirror and
// (f) !pending, all in one deployment: IRC on the lenient port with the
// flood bucket widened, Matrix with E2EE, a 1 h poll so only pushes
// trigger, and the mirror preloaded.
func (b *bench) pushPart(ctx context.Context) error {
	// Reconciliation (at start, then hourly here) is measured apart: (i).
	s := spec{name: "push", preload: b.opts.mirror, poll: time.Hour, reconcile: time.Hour, digestAfter: 1 << 30,
		ircAddr: b.ircAddr, ircFlood: wideFlood, ircChannels: 1, matrix: !b.opts.skipMatrix, trees: 10}
	w, err := b.setup(ctx, s)
	if err != nil {
		return err
	}
	defer w.close()
	b.rows = append(b.rows, row{what: fmt.Sprintf("start to ready (baseline of %d bugs, channels joined)", s.preload), measured: ms(w.ready), v: info})
	memReady, err := w.bot.mem()
	if err != nil {
		return err
	}
	fl, err := b.measureFloors(ctx, w, b.floorSamples(), 100*time.Millisecond)
	if err != nil {
		return err
	}

	// (a) sequential samples: create, push, wait for both observers.
	const warm = 2
	mark := w.bz.mark()
	var ircLat, mxLat []time.Duration
	var firstMX time.Duration
	for i := range warm + b.opts.samples {
		id := w.bz.createBug(i, "pushed")
		w.drain()
		t0 := time.Now()
		if err := w.bot.push(ctx, id); err != nil {
			return err
		}
		sctx, cancel := context.WithTimeout(ctx, sampleTimeout)
		if w.irc != nil {
			a, err := w.irc.next(sctx, w.fromBotIRC(w.channels[0], func(t string) bool { return announces(t, id) }))
			if err != nil {
				cancel()
				return fmt.Errorf("IRC announcement of pushed bug %d: %w", id, err)
			}
			if i >= warm {
				ircLat = append(ircLat, a.at.Sub(t0))
			}
		}
		if w.mx != nil {
			a, err := w.mx.next(sctx, w.fromBotMX(func(t string) bool { return announces(t, id) }))
			if err != nil {
				cancel()
				return fmt.Errorf("matrix announcement of pushed bug %d: %w", id, err)
			}
			if i == 0 {
				firstMX = a.at.Sub(t0)
			}
			if i >= warm {
				mxLat = append(mxLat, a.at.Sub(t0))
			}
		}
		cancel()
	}
	if w.irc != nil {
		sum := summarize(ircLat)
		b.rows = append(b.rows, row{what: "(a) push-to-highlight, IRC (lenient server, widened bucket)", target: "p99 < 50 ms",
			measured: sum.String(), v: check(sum.p99 < 50*time.Millisecond)}.against(sum, fl.irc, 1))
	}
	if w.mx != nil {
		sum := summarize(mxLat)
		b.rows = append(b.rows,
			row{what: "(a) push-to-highlight, Matrix (E2EE room)", target: "p99 < 150 ms", measured: sum.String(), v: check(sum.p99 < 150*time.Millisecond)}.against(sum, fl.mx, 1),
			row{what: "(a) first Matrix message (Megolm session set-up; warm-up, not counted)", measured: ms(firstMX), v: info})
	}
	// The auto-CC writes follow the announcements: wait for them.
	w.bz.settle(1500*time.Millisecond, 30*time.Second)
	pushed := warm + b.opts.samples
	m := mix(w.bz.since(mark))
	b.rows = append(b.rows, row{what: "(g) Bugzilla requests per new bug, push path (one push per bug, auto-CC on)",
		target: "3: 1 search by id + auto-CC's read by id + 1 PUT", measured: m.perBug(pushed), v: check(m.total() <= 3*pushed)})

	// (f) !pending from the preloaded mirror.
	if err := b.pending(ctx, w, s.preload, fl); err != nil {
		return err
	}

	// (h) the status page from the preloaded mirror.
	if err := b.statusPage(ctx, w, s.preload); err != nil {
		return err
	}

	// (e) memory.
	memAfter, err := w.bot.mem()
	if err != nil {
		return err
	}
	nets := "IRC + Matrix E2EE"
	switch {
	case w.irc == nil:
		nets = "Matrix E2EE"
	case w.mx == nil:
		nets = "IRC"
	}
	b.rows = append(b.rows,
		row{what: fmt.Sprintf("(e) RSS, %s, %d bugs mirrored, after the baseline", nets, s.preload), target: "< 40 MB",
			measured: mib(memReady.rss), v: check(memReady.rss < mib40)},
		row{what: fmt.Sprintf("(e) RSS, same, after %d pushes and the !pending samples (peak VmHWM)", warm+b.opts.samples), target: "< 40 MB",
			measured: fmt.Sprintf("%s (peak %s)", mib(memAfter.rss), mib(memAfter.hwm)), v: check(memAfter.rss < mib40)})
	return nil
}

// pending times !pending on each network: first reply line (IRC), and the
// whole answer (the "and N more" line on IRC, the one reply event on
// Matrix). The per-sender rate limit (burst 5, one per 2 s) is respected.
func (b *bench) pending(ctx context.Context, w *world, mirrored int, fl floors) error {
	var ircFirst, ircAll, mxAll []time.Duration
	var last time.Time
	for i := range b.opts.pendingSamples {
		if i >= 4 {
			if d := 2100*time.Millisecond - time.Since(last); d > 0 {
				time.Sleep(d) // pacing under the command rate limit, not synchronisation
			}
		}
		last = time.Now()
		w.drain()
		sctx, cancel := context.WithTimeout(ctx, sampleTimeout)
		if w.irc != nil {
			t0 := time.Now()
			if err := w.irc.Conn.Privmsg(w.channels[0], "!pending"); err != nil {
				cancel()
				return fmt.Errorf("sending !pending: %w", err)
			}
			first, err := w.irc.next(sctx, w.fromBotIRC(w.channels[0], func(string) bool { return true }))
			if err != nil {
				cancel()
				return fmt.Errorf("first line of the !pending reply on IRC: %w", err)
			}
			end := first
			if !strings.Contains(first.text, " more: ") {
				if end, err = w.irc.next(sctx, w.fromBotIRC(w.channels[0], func(t string) bool { return strings.Contains(t, " more: ") })); err != nil {
					cancel()
					return fmt.Errorf("last line of the !pending reply on IRC: %w", err)
				}
			}
			if i == 0 {
				slog.Info("!pending on IRC", "first_line", first.text, "last_line", end.text)
			}
			ircFirst, ircAll = append(ircFirst, first.at.Sub(t0)), append(ircAll, end.at.Sub(t0))
		}
		if w.mx != nil {
			t0 := time.Now()
			if err := w.mx.say(sctx, w.room, "!pending"); err != nil {
				cancel()
				return err
			}
			a, err := w.mx.next(sctx, w.fromBotMX(func(t string) bool { return !strings.HasPrefix(t, "New ") }))
			if err != nil {
				cancel()
				return fmt.Errorf("the !pending reply on Matrix: %w", err)
			}
			if i == 0 {
				slog.Info("!pending on Matrix", "reply", firstLine(a.text))
			}
			mxAll = append(mxAll, a.at.Sub(t0))
		}
		cancel()
	}
	if w.irc != nil {
		f, all := summarize(ircFirst), summarize(ircAll)
		b.rows = append(b.rows,
			row{what: fmt.Sprintf("(f) !pending on IRC, %d bugs mirrored: first line", mirrored), target: "< 20 ms", measured: f.String(), v: check(f.p99 < 20*time.Millisecond)}.against(f, fl.irc, 2),
			row{what: "(f) !pending on IRC: whole answer (to \"and N more\")", measured: all.String(), v: info}.against(all, fl.irc, 2))
	}
	if w.mx != nil {
		all := summarize(mxAll)
		b.rows = append(b.rows, row{what: fmt.Sprintf("(f) !pending on Matrix (E2EE both ways), %d bugs mirrored", mirrored), measured: all.String(), v: info}.against(all, fl.mx, 2))
	}
	return nil
}

// pollPart is (b) poll-to-highlight with a 2 s poll and (d) Bugzilla
// requests per poll in steady state, with 10 trees and 5 channels.
func (b *bench) pollPart(ctx context.Context) error {
	s := spec{name: "poll", preload: 200, poll: 2 * time.Second, reconcile: time.Hour, digestAfter: 1 << 30,
		ircAddr: b.ircAddr, ircFlood: wideFlood, ircChannels: 5, matrix: !b.opts.skipMatrix, trees: 10}
	if b.ircAddr != "" && s.matrix {
		s.ircChannels = 4 // 4 IRC channels + 1 Matrix room
	}
	w, err := b.setup(ctx, s)
	if err != nil {
		return err
	}
	defer w.close()
	fl, err := b.measureFloors(ctx, w, b.floorSamples(), 100*time.Millisecond)
	if err != nil {
		return err
	}

	// (d) quiet polls.
	polls0, err := w.bot.metric(ctx, "ksecbot_polls_total")
	if err != nil {
		return err
	}
	c0 := w.bz.counts()
	var polls float64
	for polls-polls0 < float64(b.opts.steadyPolls) {
		time.Sleep(200 * time.Millisecond) // sampling a counter, not synchronisation
		if polls, err = w.bot.metric(ctx, "ksecbot_polls_total"); err != nil {
			return err
		}
	}
	d := w.bz.counts().sub(c0)
	n := polls - polls0
	b.rows = append(b.rows, row{
		what:   fmt.Sprintf("(d) Bugzilla requests per quiet poll, 10 trees, %d channels/rooms, %d polls", len(w.channels)+btoi(w.mx != nil), int(n)),
		target: "1, a 304 with ETags",
		measured: fmt.Sprintf("%.2f requests/poll (%.2f searches/poll), %d of %d answered 304",
			float64(d.requests)/n, float64(d.searches)/n, d.notModified, d.requests),
		v: check(float64(d.requests)/n <= 1 && d.notModified == d.requests),
	})

	// (b) bugs created at a random phase of the poll cycle.
	var ircLat, mxLat []time.Duration
	c1, p1 := w.bz.counts(), polls
	mark := w.bz.mark()
	for i := range b.opts.pollSamples {
		time.Sleep(rand.N(2 * time.Second)) // a random phase, not synchronisation
		w.drain()
		id := w.bz.createBug(1000+i, "polled")
		t0 := time.Now()
		sctx, cancel := context.WithTimeout(ctx, sampleTimeout)
		if w.irc != nil {
			a, err := w.irc.next(sctx, w.fromBotIRC(w.channels[0], func(t string) bool { return announces(t, id) }))
			if err != nil {
				cancel()
				return fmt.Errorf("IRC announcement of polled bug %d: %w", id, err)
			}
			ircLat = append(ircLat, a.at.Sub(t0))
		}
		if w.mx != nil {
			a, err := w.mx.next(sctx, w.fromBotMX(func(t string) bool { return announces(t, id) }))
			if err != nil {
				cancel()
				return fmt.Errorf("matrix announcement of polled bug %d: %w", id, err)
			}
			mxLat = append(mxLat, a.at.Sub(t0))
		}
		cancel()
	}
	if w.irc != nil {
		sum := summarize(ircLat)
		b.rows = append(b.rows, row{what: "(b) poll-to-highlight, 2 s poll, IRC", target: "≤ poll interval + push latency", measured: sum.String(), v: info}.against(sum, fl.irc, 1))
	}
	if w.mx != nil {
		sum := summarize(mxLat)
		b.rows = append(b.rows, row{what: "(b) poll-to-highlight, 2 s poll, Matrix E2EE", target: "≤ poll interval + push latency", measured: sum.String(), v: info}.against(sum, fl.mx, 1))
	}
	// The last bug's auto-CC write and the poll after it: a quiet time
	// longer than the poll interval.
	w.bz.settle(3*time.Second, 30*time.Second)
	m := mix(w.bz.since(mark))
	b.rows = append(b.rows, row{what: "(g) Bugzilla requests per new bug, poll path (2 s poll, auto-CC on)",
		target: "4: search + auto-CC's read by id + PUT + the next poll's search (the PUT changed the bug: no 304)", measured: m.perBug(b.opts.pollSamples), v: check(m.total() <= 4*b.opts.pollSamples)})
	if p2, err := w.bot.metric(ctx, "ksecbot_polls_total"); err == nil && p2 > p1 {
		d := w.bz.counts().sub(c1)
		b.rows = append(b.rows, row{what: "(d) Bugzilla requests per poll while bugs arrive (search + auto-CC writes)",
			measured: fmt.Sprintf("%.2f requests/poll (%.2f searches/poll) over %d polls and %d new bugs", float64(d.requests)/(p2-p1), float64(d.searches)/(p2-p1), int(p2-p1), b.opts.pollSamples), v: info})
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// burstPart is (c): 300 new bugs pushed at once to a ksecbot on the
// strict (Libera-like) IRC port with the default flood settings.
func (b *bench) burstPart(ctx context.Context) error {
	if err := b.burstOnce(ctx, false); err != nil {
		return err
	}
	return b.burstOnce(ctx, true)
}

// burstOnce runs the burst with one push per bug, or with one push naming
// every bug (oneShot).
func (b *bench) burstOnce(ctx context.Context, oneShot bool) error {
	how := "one push per bug"
	if oneShot {
		how = "pushes of 100 ids"
	}
	s := spec{name: "burst", poll: time.Hour, reconcile: time.Hour, ircAddr: b.strictAddr, ircChannels: 1, matrix: !b.opts.skipMatrix, trees: 10}
	w, err := b.setup(ctx, s)
	if err != nil {
		return err
	}
	defer w.close()
	// The strict server allows a client about one line a second.
	fl, err := b.measureFloors(ctx, w, b.floorSamples()/2, time.Second)
	if err != nil {
		return err
	}
	ids := make([]int, b.opts.burst)
	for i := range ids {
		ids[i] = w.bz.createBug(2000+i, "burst")
	}
	t0 := time.Now()
	if oneShot {
		if err := w.bot.push(ctx, ids...); err != nil {
			return err
		}
	} else {
		for _, id := range ids { // one push per bug, as Bugzilla sends them
			if err := w.bot.push(ctx, id); err != nil {
				return err
			}
		}
	}
	pushed := time.Since(t0)
	isDigest := func(t string) bool { return strings.Contains(t, "new kernel security bugs") }
	if w.irc != nil {
		bctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		lines, digests := 0, 0
		var firstDigest time.Duration
		// Count the bot's lines until it has been quiet for 8 s (4 flood
		// intervals) after the digest.
		for {
			qctx, qcancel := context.WithTimeout(bctx, 8*time.Second)
			a, err := w.irc.next(qctx, func(a arrival) bool {
				return strings.EqualFold(a.from, w.botNick) && (a.kind == "PRIVMSG" || a.kind == "NOTICE" || a.kind == "QUIT")
			})
			qcancel()
			if err != nil {
				if digests == 0 && bctx.Err() == nil {
					continue
				}
				break
			}
			if a.kind == "QUIT" {
				slog.Warn("the bot quit the IRC server during the burst", "reason", a.text)
				continue
			}
			lines++
			if isDigest(a.text) {
				digests++
				if digests == 1 {
					firstDigest = a.at.Sub(t0)
					slog.Info("digest on IRC", "line", a.text)
				}
			}
		}
		disc := w.bot.countLog(`msg="disconnected, reconnecting" component=irc`) + w.bot.countLog(`msg="server closed the link" component=irc`)
		outbox, _ := w.bot.metric(ctx, "ksecbot_outbox_depth")
		b.rows = append(b.rows,
			row{what: fmt.Sprintf("(c) burst of %d bugs (%s), strict server, default flood: time to the IRC digest line", len(ids), how),
				target: "< 2 s from the push", measured: fmt.Sprintf("%s (pushes took %s)", ms(firstDigest), ms(pushed)), v: check(digests > 0 && firstDigest < 2*time.Second)}.againstOne(firstDigest, fl.irc),
			row{what: "(c) lines sent to the IRC channel for the burst (" + how + ")", measured: fmt.Sprintf("%d lines, %d digest(s); outbox left %d", lines, digests, int(outbox)), v: info},
			row{what: "(c) IRC disconnects during the burst (" + how + ")", target: "0", measured: fmt.Sprint(disc), v: check(disc == 0)})
	}
	if w.mx != nil {
		mctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		got := "not received within 1 min (see the ksecbot log: a very long digest event may be refused)"
		var d time.Duration
		if a, err := w.mx.next(mctx, w.fromBotMX(isDigest)); err == nil {
			d = a.at.Sub(t0)
			got = ms(d)
		}
		b.rows = append(b.rows, row{what: "(c) time to the Matrix digest, E2EE room (" + how + ")", measured: got, v: info}.againstOne(d, fl.mx))
	}
	m, err := w.bot.mem()
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{what: "(e) RSS after the burst (" + how + ")", measured: fmt.Sprintf("%s (peak %s)", mib(m.rss), mib(m.hwm)), v: info})
	return nil
}
