// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// ccAdded returns the logins the recorded PUTs of bug id added to its CC.
func ccAdded(reqs []bugzillatest.Request, id int) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != "PUT" || !strings.HasPrefix(r.Path, "/rest/bug/") {
			continue
		}
		ids := []int{}
		if v, ok := r.Body["ids"].([]any); ok {
			for _, x := range v {
				ids = append(ids, int(x.(float64)))
			}
		} else {
			var one int
			fmt.Sscanf(strings.TrimPrefix(r.Path, "/rest/bug/"), "%d", &one)
			ids = append(ids, one)
		}
		if !slices.Contains(ids, id) {
			continue
		}
		cc, _ := r.Body["cc"].(map[string]any)
		add, _ := cc["add"].([]any)
		for _, l := range add {
			out = append(out, l.(string))
		}
	}
	slices.Sort(out)
	return out
}

// TestAutoCCFromAFreshRead: auto-CC decides from Bugzilla, not from the
// mirror. Five bugs are filed public while Bugzilla refuses ksecbot's key
// (the anonymous poll announces them; their auto-CC waits), and before the
// key works again one is restricted into a group ksecbot is not in, one
// is closed, one wrangled to another component, one restricted into the
// security group, one left alone. The polls are held up when the key
// returns, so the mirror still has them all public and open: auto-CC's one
// read of the batch decides. The test server's records show the PUTs: the
// restricted bug gets only the [announce] restricted_auto_cc login, the
// public one everything, the others nothing.
func TestAutoCCFromAFreshRead(t *testing.T) {
	h := newHarness(t, "")
	botInSecurityGroup(h)
	h.keyRetry = 100 * time.Millisecond
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	h.cfg.Bugzilla.ReconcileInterval.Duration = time.Hour
	h.cfg.Announce.AutoCC = []string{"bob@gentoo.org", "alice@gentoo.org"}
	h.cfg.Announce.RestrictedAutoCC = []string{"bob@gentoo.org"}
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	settle(t, h)

	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
	var ids []int
	for _, what := range []string{"gone", "closed", "moved", "restricted", "public"} {
		ids = append(ids, h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed during the outage, " + what}))
	}
	fileAndFetch(t, h, b) // polled anonymously
	for _, id := range ids {
		announcementIn(t, rec, id, "test:#gentoo-kernel")
	}
	gone, closed, moved, restricted, public := ids[0], ids[1], ids[2], ids[3], ids[4]
	h.srv.UpdateBug(gone, func(bg *bugzillatest.Bug) { bg.Groups = []string{"kernel-embargo"} })
	h.srv.UpdateBug(closed, func(bg *bugzillatest.Bug) { bg.Status, bg.Resolution = "RESOLVED", "FIXED" })
	h.srv.UpdateBug(moved, func(bg *bugzillatest.Bug) { bg.Component = "Vulnerabilities" })
	h.srv.UpdateBug(restricted, func(bg *bugzillatest.Bug) { bg.Groups = []string{"security"} })
	if n := methodCount(h.srv.Requests(), "PUT", "/rest/bug"); n != 0 {
		t.Fatalf("%d writes while the key was refused", n)
	}

	// The key works again; the searches by product (polls) hang, reads
	// by id do not.
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: "/rest/bug", Query: "product"})
	before := len(h.srv.Requests())
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	waitUntil(t, 20*time.Second, "auto-CC of the public and the restricted bug", func() bool {
		return len(ccAdded(h.srv.Requests(), public)) > 0 && len(ccAdded(h.srv.Requests(), restricted)) > 0
	})
	reqs := h.srv.Requests()
	if got := ccAdded(reqs, restricted); !slices.Equal(got, []string{"bob@gentoo.org"}) {
		t.Errorf("the bug restricted during the outage: PUTs added %v, want only the restricted_auto_cc login [bob@gentoo.org]", got)
	}
	if got := ccAdded(reqs, public); !slices.Equal(got, []string{"alice@gentoo.org", "bob@gentoo.org", "hardened@gentoo.org"}) {
		t.Errorf("the public bug: PUTs added %v, want alice, bob and hardened", got)
	}
	for _, id := range []int{gone, closed, moved} {
		if got := ccAdded(reqs, id); len(got) > 0 {
			t.Errorf("bug %d (gone, closed or moved out) got CC %v", id, got)
		}
	}
	// One read for the batch (the release of held-back logins may read the
	// restricted bug again: the mirror still calls it public).
	batch := 0
	for _, r := range reqs[before:] {
		if freshReads([]bugzillatest.Request{r}) == 1 && r.Query.Get("id") == strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ids)), ","), "[]") {
			batch++
		}
	}
	if batch != 1 {
		t.Errorf("auto-CC read the batch of 5 bugs %d times, want one read by id of them all", batch)
	}
	if bug, _ := h.srv.Bug(restricted); slices.Contains(bug.CC, "hardened@gentoo.org") || slices.Contains(bug.CC, "alice@gentoo.org") {
		t.Errorf("Bugzilla's CC of the restricted bug: %v", bug.CC)
	}
	rec.waitFor(t, 10*time.Second, "the held-back logins named in the private channel", func(m []chat.Outgoing) bool {
		return withText(systemLines(m, "test:#gentoo-security"), fmt.Sprintf("Bug %d: not CC'd while restricted", restricted)) == 1
	})
	h.srv.ClearFault()
}
