// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/stats"
)

// Reminders is what !snooze needs of the reminder store. *store.Store
// implements it.
type Reminders interface {
	// SnoozeReminder postpones the "still unclaimed" reminder of a bug.
	SnoozeReminder(ctx context.Context, bugID int, until time.Time) error
}

// maxSnooze bounds !snooze: a reminder is postponed, never silenced.
const maxSnooze = 30 * 24 * time.Hour

func (r *Router) snoozeCommand() Command {
	return Command{
		Name:  "snooze",
		Usage: "snooze <bug> <duration>",
		Help:  `postpone the "still unclaimed" reminder of a bug, e.g. ` + r.prefix + `snooze 123456 2h (at most 30d).`,
		Roles: []string{config.RoleMaintainer, config.RoleSecurity, config.RoleAdmin},
		Run:   r.cmdSnooze,
	}
}

func (r *Router) statsCommand() Command {
	return Command{
		Name:  "stats",
		Usage: "stats [days]",
		Help:  "reaction times over the last days (default 30): median and 90th percentile from bug creation to announcement, first claim and CC per tree.",
		More:  "Per-tree CC times only in private channels.",
		Run:   r.cmdStats,
	}
}

// cmdSnooze implements !snooze <bug> <duration>.
func (r *Router) cmdSnooze(ctx context.Context, req *Request) []chat.Line {
	switch len(req.Args) {
	case 0:
		return []chat.Line{r.argError("snooze", "which bug, and for how long? E.g. "+r.prefix+"snooze 123456 2h")}
	case 1:
		return []chat.Line{r.argError("snooze", "for how long? Give a duration after the bug, e.g. 2h or 3d")}
	case 2:
	default:
		return []chat.Line{r.argError("snooze", "one bug and one duration, not "+strconv.Itoa(len(req.Args))+" words")}
	}
	id, bad := r.bugArg("snooze", req.Args[0])
	if bad != nil {
		return []chat.Line{bad}
	}
	d, err := config.ParseDuration(req.Args[1])
	if err != nil || d <= 0 || d > maxSnooze {
		return []chat.Line{r.argError("snooze", quoteArg(req.Args[1])+" is not a duration between 1m and 30d (e.g. 2h or 3d)")}
	}
	if r.d.Reminders == nil || r.d.Store == nil {
		return []chat.Line{chat.Line{}.Text("Reminders are not kept here; nothing to snooze.")}
	}
	if _, ok, err := r.d.Store.Bug(ctx, id); err != nil {
		return []chat.Line{chat.Line{}.Text("Sorry, I could not read my bug mirror; try again in a minute.")}
	} else if !ok {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d is not one of the watched bugs I know; nothing to snooze.", id))}
	}
	until := r.now().Add(d)
	if err := r.d.Reminders.SnoozeReminder(ctx, id, until); err != nil {
		r.log.Warn("failed to snooze", "bug", id, "err", err)
		return []chat.Line{chat.Line{}.Text("Sorry, I could not save that; try again in a minute.")}
	}
	return []chat.Line{chat.Line{}.Text(fmt.Sprintf("OK: I will remind about bug %d again in %s (%s UTC) if nobody has claimed it.",
		id, announce.Age(d), until.UTC().Format("2006-01-02 15:04")))}
}

// cmdStats implements !stats [days].
func (r *Router) cmdStats(ctx context.Context, req *Request) []chat.Line {
	days := 30
	if len(req.Args) > 0 {
		if len(req.Args) > 1 {
			return []chat.Line{r.argError("stats", "give at most one number of days")}
		}
		n, err := strconv.Atoi(req.Args[0])
		if err != nil || n < 1 || n > 3650 {
			return []chat.Line{r.argError("stats", quoteArg(req.Args[0])+" is not a number of days from 1 to 3650")}
		}
		days = n
	}
	if r.d.Store == nil {
		return []chat.Line{chat.Line{}.Text("Statistics are not kept here.")}
	}
	since := r.now().Add(-time.Duration(days) * 24 * time.Hour)
	rs, err := stats.ReactionTimes(ctx, r.d.Store, r.d.Trees.All(), since)
	if err != nil {
		r.log.Warn("stats", "err", err)
		return []chat.Line{chat.Line{}.Text("Sorry, I could not read the statistics; try again in a minute.")}
	}
	var main, cc []string
	for _, rt := range rs {
		if rt.N == 0 {
			continue
		}
		fig := fmt.Sprintf("median %s, p90 %s (n=%d)", compact(rt.Median), compact(rt.P90), rt.N)
		switch rt.Action {
		case "cc":
			cc = append(cc, rt.Tree+" "+fig)
		case "announced":
			main = append(main, "creation to announcement: "+fig)
		case "claimed":
			main = append(main, "to first claim: "+fig)
		}
	}
	if len(main) == 0 && len(cc) == 0 {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("No bugs in the last %d days yet.", days))}
	}
	l := chat.Line{}.Bold(fmt.Sprintf("Last %d days", days)).Text(": " + strings.Join(main, "; "))
	out := []chat.Line{l}
	// Which trees were CC'd, and when, can tell which tree a restricted
	// bug concerns: per-tree figures only where the policy lets restricted
	// bugs be shown (not in public channels, not in private messages).
	if len(cc) > 0 {
		if !policy.Private(req.In.Channel) {
			out = append(out, chat.Line{}.Text("Per-tree CC times are shown in private channels only."))
		} else {
			out = append(out, chat.Line{}.Text("To CC per tree: "+strings.Join(cc, "; ")))
		}
	}
	if cl := r.cveStatsLine(ctx, since, req.In.Channel); cl != nil {
		out = append(out, cl)
	}
	return out
}

// cveStatsLine is the !stats line about kernel CVE verdicts, or nil.
func (r *Router) cveStatsLine(ctx context.Context, since time.Time, ch chat.Channel) chat.Line {
	q, ok, err := stats.CVEQuietness(ctx, r.d.Store, r.d.Render, since, ch)
	if err != nil {
		r.log.Warn("stats", "err", err)
		return nil
	}
	if !ok || q.WithCVE == 0 {
		return nil
	}
	return chat.Line{}.Text(fmt.Sprintf("Kernel CVE verdicts: %d of %d bugs named a kernel CVE; %d pinged fewer trees (%d highlights of fixed or unaffected trees spared).",
		q.WithCVE, q.Bugs, q.Fewer, q.Spared))
}

// compact renders a duration compactly with sub-minute precision.
func compact(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	default:
		return announce.Age(d)
	}
}
