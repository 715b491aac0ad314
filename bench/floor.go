// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// floors are the latencies of a plain client-to-client relay measured in a
// world, on the same IRC server and channel and in the same Matrix room as
// ksecbot: a second observer sends, the world's observer receives. They
// are what no bot could beat on that server at that moment.
type floors struct {
	irc, mx summary
}

// measureFloors relays n messages (after 2 warm-ups, which set up the
// Megolm session on Matrix) from a second client to the world's observers,
// pacing them by pace (the strict IRC server limits every client). It must
// run before the part's own waits: it drains the observers.
func (b *bench) measureFloors(ctx context.Context, w *world, n int, pace time.Duration) (floors, error) {
	var f floors
	const warm = 2
	if w.irc != nil {
		sender, err := newIRCObserver(w.ircAddr)
		if err != nil {
			return f, fmt.Errorf("floor: IRC sender: %w", err)
		}
		defer sender.close()
		ch := w.channels[0]
		if err := sender.join(ctx, ch); err != nil {
			return f, fmt.Errorf("floor: IRC sender joining %s: %w", ch, err)
		}
		var lat []time.Duration
		for i := range warm + n {
			time.Sleep(pace) // the server's flood limit, not synchronisation
			w.drain()
			text := fmt.Sprintf("relay %d %s", i, randName("r"))
			sctx, cancel := context.WithTimeout(ctx, sampleTimeout)
			t0 := time.Now()
			if err := sender.Conn.Privmsg(ch, text); err != nil {
				cancel()
				return f, fmt.Errorf("floor: IRC send: %w", err)
			}
			a, err := w.irc.next(sctx, func(a arrival) bool {
				return a.kind == "PRIVMSG" && a.from == sender.Nick() && a.text == text
			})
			cancel()
			if err != nil {
				return f, fmt.Errorf("floor: IRC relay %d: %w", i, err)
			}
			if i >= warm {
				lat = append(lat, a.at.Sub(t0))
			}
		}
		f.irc = summarize(lat)
	}
	if w.mx != nil {
		u, err := b.hs.Register(ctx, "relay-")
		if err != nil {
			return f, fmt.Errorf("floor: %w", err)
		}
		dir, err := os.MkdirTemp(b.work, "relay-")
		if err != nil {
			return f, fmt.Errorf("floor: relay dir: %w", err)
		}
		sender, err := b.hs.StartObserver(ctx, u, dir)
		if err != nil {
			return f, fmt.Errorf("floor: %w", err)
		}
		defer sender.Close()
		if err := w.mx.invite(ctx, w.room, u.ID); err != nil {
			return f, fmt.Errorf("floor: %w", err)
		}
		if _, err := sender.Client.JoinRoomByID(ctx, w.room); err != nil {
			return f, fmt.Errorf("floor: Matrix sender joining: %w", err)
		}
		jctx, cancel := context.WithTimeout(ctx, sampleTimeout)
		_, err = w.mx.next(jctx, func(a arrival) bool { return a.kind == "join" && a.from == string(u.ID) && a.target == string(w.room) })
		cancel()
		if err != nil {
			return f, fmt.Errorf("floor: waiting for the Matrix sender to join: %w", err)
		}
		var lat []time.Duration
		for i := range warm + n {
			time.Sleep(pace) // as on IRC, for comparable load
			w.drain()
			text := fmt.Sprintf("relay %d %s", i, randName("r"))
			sctx, cancel := context.WithTimeout(ctx, sampleTimeout)
			t0 := time.Now()
			if _, err := mxtest.Send(sctx, sender.Client, w.room, text, nil); err != nil {
				cancel()
				return f, fmt.Errorf("floor: Matrix send: %w", err)
			}
			a, err := w.mx.next(sctx, func(a arrival) bool {
				return a.kind == "message" && a.from == string(u.ID) && a.target == string(w.room) && a.text == text
			})
			cancel()
			if err != nil {
				return f, fmt.Errorf("floor: Matrix relay %d: %w", i, err)
			}
			if i >= warm {
				lat = append(lat, a.at.Sub(t0))
			}
		}
		f.mx = summarize(lat)
	}
	slog.Info("floor measured", "irc", f.irc.String(), "matrix", f.mx.String())
	return f, nil
}

// floorSamples is how many relays a world's floor is measured with.
func (b *bench) floorSamples() int {
	if b.opts.quick {
		return 5
	}
	return 20
}

// against fills a row's floor and ratio columns: lat compared with k
// relays of fl (k = 2 for a command and its reply).
func (r row) against(lat summary, fl summary, k int) row {
	if fl.n == 0 || lat.n == 0 {
		return r
	}
	scaled := summary{n: fl.n, p50: fl.p50 * time.Duration(k), p90: fl.p90 * time.Duration(k), p99: fl.p99 * time.Duration(k), maxd: fl.maxd * time.Duration(k)}
	r.floor = fmt.Sprintf("p50 %s, p99 %s", ms(scaled.p50), ms(scaled.p99))
	if k > 1 {
		r.floor += fmt.Sprintf(" (%d relays)", k)
	}
	r.ratio = fmt.Sprintf("×%s p50, ×%s p99", times(lat.p50, scaled.p50), times(lat.p99, scaled.p99))
	return r
}

// againstOne is against for a single measured duration, compared with the
// floor's median.
func (r row) againstOne(d time.Duration, fl summary) row {
	if fl.n == 0 || d <= 0 {
		return r
	}
	r.floor = "p50 " + ms(fl.p50)
	r.ratio = "×" + times(d, fl.p50) + " p50"
	return r
}

// times formats a/b.
func times(a, b time.Duration) string {
	if b <= 0 {
		return "∞"
	}
	f := float64(a) / float64(b)
	if f < 10 {
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.0f", f)
}
