// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// TestKeyBackWhileItsCheckIsUnderWay: the bot starts while Bugzilla
// refuses its key, and its first poll meets the refusal while the start-up
// key check is still on its way; Bugzilla accepts the key again before
// that check arrives. The client's refusal thus begins and ends without
// the key loop ever seeing it refused. The watcher must still read again
// with the key what it could not see meanwhile, at once, not at the next
// poll an hour later: a restricted bug filed during the outage reaches the
// private channel. (TestEmbargoProperty met this after a restart under
// load, and waited in vain for the key back in the mirror.)
func TestKeyBackWhileItsCheckIsUnderWay(t *testing.T) {
	h := newHarness(t, "")
	h.keyRetry = 100 * time.Millisecond
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	botInSecurityGroup(h)
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	b, _, stop := h.startAt(nil, rec)
	waitPolls(t, b, 1)
	settle(t, h)
	stop()

	// While the bot is down: the key is revoked, a restricted and a
	// public bug are filed (the anonymous poll finds the public one).
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed restricted during the outage", Groups: []string{"security"}})
	h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed public during the outage"})
	// The start-up key check hangs until the key works again.
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: "/rest/whoami"})
	b, st, _ := h.startAt(nil, rec)
	waitUntil(t, 10*time.Second, "the first poll to meet the refusal", func() bool {
		_, _, ok, err := st.Outage(context.Background())
		return err == nil && ok
	})
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	h.srv.ClearFault()

	rec.waitFor(t, 10*time.Second, "the restricted bug announced in the private channel", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-security", id)) == 1
	})
	waitUntil(t, 10*time.Second, "the outage over", func() bool {
		_, _, ok, err := st.Outage(context.Background())
		return err == nil && !ok && !slices.ContainsFunc(b.Intake.Problems(), func(p string) bool { return strings.Contains(p, "API key refused") })
	})
}
