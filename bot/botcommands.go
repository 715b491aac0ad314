// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
)

// maxSnooze bounds !snooze: a reminder is postponed, never silenced.
const maxSnooze = 30 * 24 * time.Hour

// registerCommands adds the commands that need the core's state
// (reminders, statistics) to a router.
func (b *Bot) registerCommands(r *commands.Router) {
	r.Register(commands.Command{
		Name:  "snooze",
		Usage: "snooze <bug> <duration>",
		Help:  `postpone the "still unclaimed" reminder of a bug, e.g. !snooze 123456 2h (at most 30d).`,
		Roles: []string{config.RoleMaintainer, config.RoleSecurity, config.RoleAdmin},
		Run:   b.cmdSnooze,
	})
	r.Register(commands.Command{
		Name:  "stats",
		Usage: "stats [days]",
		Help:  "reaction times over the last days (default 30): median and 90th percentile from bug creation to announcement, first claim and CC per tree.",
		Run:   b.cmdStats,
	})
}

func (b *Bot) cmdSnooze(ctx context.Context, req *commands.Request) []chat.Line {
	usage := chat.Line{}.Text("Usage: " + req.Name + " <bug> <duration>, e.g. 2h or 3d.")
	if len(req.Args) != 2 {
		return []chat.Line{usage}
	}
	id, err := strconv.Atoi(strings.TrimPrefix(req.Args[0], "#"))
	if err != nil || id <= 0 {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("%q is not a bug number. ", chat.Clean(req.Args[0], 20))).Text(usage.Plain(""))}
	}
	d, err := config.ParseDuration(req.Args[1])
	if err != nil || d <= 0 || d > maxSnooze {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("%q is not a duration between 1m and 30d. ", chat.Clean(req.Args[1], 20))).Text(usage.Plain(""))}
	}
	if _, ok, err := b.store.Bug(ctx, id); err != nil {
		return []chat.Line{chat.Line{}.Text("Sorry, I could not read my bug mirror; try again in a minute.")}
	} else if !ok {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d is not one of the watched bugs I know; nothing to snooze.", id))}
	}
	until := b.now().Add(d)
	if err := b.store.SnoozeReminder(ctx, id, until); err != nil {
		b.log.Warn("failed to snooze", "bug", id, "err", err)
		return []chat.Line{chat.Line{}.Text("Sorry, I could not save that; try again in a minute.")}
	}
	return []chat.Line{chat.Line{}.Text(fmt.Sprintf("OK: I will remind about bug %d again in %s (%s UTC) if nobody has claimed it.",
		id, announce.Age(d), until.UTC().Format("2006-01-02 15:04")))}
}

func (b *Bot) cmdStats(ctx context.Context, req *commands.Request) []chat.Line {
	days := 30
	if len(req.Args) > 0 {
		n, err := strconv.Atoi(req.Args[0])
		if err != nil || n < 1 || n > 3650 {
			return []chat.Line{chat.Line{}.Text("Usage: " + req.Name + " [days], with days from 1 to 3650.")}
		}
		days = n
	}
	rs, err := b.ReactionTimes(ctx, days)
	if err != nil {
		b.log.Warn("stats", "err", err)
		return []chat.Line{chat.Line{}.Text("Sorry, I could not read the statistics; try again in a minute.")}
	}
	var main, cc []string
	for _, r := range rs {
		if r.N == 0 {
			continue
		}
		fig := fmt.Sprintf("median %s, p90 %s (n=%d)", short(r.Median), short(r.P90), r.N)
		switch r.Action {
		case "cc":
			cc = append(cc, r.Tree+" "+fig)
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
	// bug concerns: per-tree figures only where restricted bugs may be
	// shown (policy.Hidden of a restricted bug).
	if len(cc) > 0 {
		if policy.Hidden(&bugzilla.Bug{Groups: []string{"any"}}, req.In.Channel) && !req.In.Direct {
			out = append(out, chat.Line{}.Text("Per-tree CC times are shown in private channels only."))
		} else {
			out = append(out, chat.Line{}.Text("To CC per tree: "+strings.Join(cc, "; ")))
		}
	}
	if cl := b.cveStatsLine(ctx, days, req.In.Channel); cl != nil {
		out = append(out, cl)
	}
	return out
}

// short renders a duration compactly with sub-minute precision.
func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	default:
		return announce.Age(d)
	}
}
