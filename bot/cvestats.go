// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/store"
)

// CVEQuiet is what the kernel CVE verdicts changed in announcements over
// a period (see commands.CVEQuiet, whose !stats reads it).
type CVEQuiet = commands.CVEQuiet

// CVEQuietness counts, from the mirror, the bugs created in the last days
// and what [kernel_cve] highlight = "affected" spared on them. Restricted
// bugs count only when private is true. ok is false when the feature is
// off.
func (b *Bot) CVEQuietness(ctx context.Context, days int, private bool) (q CVEQuiet, ok bool, err error) {
	lv := b.l()
	if lv.render == nil || lv.render.CVE == nil {
		return q, false, nil
	}
	bugs, _, err := b.store.Bugs(ctx, store.BugFilter{})
	if err != nil {
		return q, true, fmt.Errorf("kernel CVE statistics: %w", err)
	}
	since := b.now().Add(-time.Duration(days) * 24 * time.Hour)
	for i := range bugs {
		bug := &bugs[i]
		if bug.CreationTime.Before(since) || bug.Restricted() && !private {
			continue
		}
		q.Bugs++
		note, ok := lv.render.CVE.AnnotateBug(bug)
		if !ok {
			continue
		}
		q.WithCVE++
		spared := 0
		for _, h := range lv.render.Highlights(bug) {
			if note.Quiet[strings.ToLower(h.Tree)] {
				spared++
			}
		}
		if spared > 0 {
			q.Fewer++
			q.Spared += spared
		}
	}
	return q, true, nil
}
