// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"time"
)

// reconcilePart is (i): what reconciliation costs (every open mirrored
// bug read again by id, [bugzilla] reconcile_interval) next to polling,
// with 100 and 1,000 open bugs mirrored. Reconciliation runs every 10 s
// here to take several samples; at the default 2m there is one per
// interval, so each sample is the cost per interval.
func (b *bench) reconcilePart(ctx context.Context) error {
	for _, open := range []int{100, 1000} {
		if err := b.reconcileOnce(ctx, open); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) reconcileOnce(ctx context.Context, open int) error {
	const every, poll, samples = 10 * time.Second, 2 * time.Second, 5
	// The open bugs were filed a day ago: the polls' overlap window holds
	// none of them, as in a running deployment.
	s := spec{name: fmt.Sprintf("reconcile-%d", open), preload: open, preloadAge: 24 * time.Hour, poll: poll, reconcile: every, digestAfter: 1 << 30, trees: 10,
		ircAddr: b.ircAddr, ircChannels: 1}
	if b.opts.skipIRC {
		s.ircAddr, s.ircChannels, s.matrix = "", 0, true
	}
	w, err := b.setup(ctx, s)
	if err != nil {
		return err
	}
	defer w.close()
	runs := func() float64 {
		n, _ := w.bot.metric(ctx, "ksecbot_reconciles_total")
		return n
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(samples+2)*every*2)
	defer cancel()
	next := func(after float64) error {
		for runs() <= after {
			select {
			case <-wctx.Done():
				return fmt.Errorf("%s: waiting for a reconciliation: %w", s.name, wctx.Err())
			case <-time.After(100 * time.Millisecond): // sampling a counter, not synchronisation
			}
		}
		return nil
	}
	if err := next(0); err != nil { // the one at start
		return err
	}
	var durs []time.Duration
	var bugs int
	mark := w.bz.mark()
	t0 := time.Now()
	for range samples {
		r := runs()
		if err := next(r); err != nil {
			return err
		}
		secs, err := w.bot.metric(ctx, "ksecbot_reconcile_duration_seconds")
		if err != nil {
			return err
		}
		n, _ := w.bot.metric(ctx, "ksecbot_reconcile_bugs")
		durs = append(durs, time.Duration(secs*float64(time.Second)))
		bugs = int(n)
	}
	elapsed := time.Since(t0)
	m := mix(w.bz.since(mark))
	sum := summarize(durs)
	perPoll := float64(m.searches+m.notModified) / (elapsed.Seconds() / poll.Seconds())
	b.rows = append(b.rows, row{
		what:   fmt.Sprintf("(i) reconciliation, %d open bugs mirrored: requests and time per interval (one reconciliation per reconcile_interval)", open),
		target: "—",
		measured: fmt.Sprintf("%.1f requests (searches by id, 200 ids each) and p50 %s (max %s) per reconciliation, %d bugs read (n=%d); polling meanwhile %.2f requests per poll (%d of %d answered 304): %.1f requests per 2 min at the default 60 s poll",
			float64(m.searchesByID)/samples, ms(sum.p50), ms(sum.maxd), bugs, samples, perPoll, m.notModified, m.searches+m.notModified, 2*perPoll),
		v: info,
	})
	return nil
}
