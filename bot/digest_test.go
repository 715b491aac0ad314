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

// TestBurstDigest files a burst in Bugzilla and checks what each channel
// shows: one line per bug up to announce.digest_after (5 in baseConfig),
// one digest line beyond it, and A0-A2 bugs one by one in any case.
func TestBurstDigest(t *testing.T) {
	plainN := func(n int) []string { return slices.Repeat([]string{"B2 [upstream]"}, n) }
	tests := []struct {
		name       string
		whiteboard []string // one bug each, filed in this order
		singles    []int    // indexes into whiteboard announced one by one
		digest     []int    // indexes in the digest (nil: no digest)
	}{
		{"exactly digest_after", plainN(5), []int{0, 1, 2, 3, 4}, nil},
		{"digest_after+1", plainN(6), nil, []int{0, 1, 2, 3, 4, 5}},
		{"A0-A2 one by one inside a burst",
			[]string{"B2", "A1 [upstream]", "C1", "A0", "B3", "A3", "~2", "A2", "B1"},
			[]int{1, 3, 7}, []int{0, 2, 4, 5, 6, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "")
			h.cfg.Bugzilla.PollInterval.Duration = time.Hour // the burst arrives in one poke
			rec := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
			b, st, _ := h.startAt(nil, rec)
			waitPolls(t, b, 1)
			var bugs []bugzillatest.NewBug
			for i, wb := range tc.whiteboard {
				pkg := []string{"sys-kernel/gentoo-sources", "sys-kernel/hardened-sources"}[i%2]
				bugs = append(bugs, bugzillatest.NewBug{Summary: fmt.Sprintf("%s: burst bug %d", pkg, i), Whiteboard: wb})
			}
			ids := fileAndFetch(t, h, b, bugs...)
			want := len(tc.singles)
			if tc.digest != nil {
				want++
			}
			rec.waitFor(t, 10*time.Second, fmt.Sprintf("%d messages per channel", want), func(m []chat.Outgoing) bool {
				return len(m) >= 2*want
			})
			waitDelivered(t, st)
			pick := func(idx []int) []int {
				var out []int
				for _, i := range idx {
					out = append(out, ids[i])
				}
				return out
			}
			for _, ch := range rec.channels {
				var singles []int
				var digests []chat.Outgoing
				for _, m := range rec.sentCopy() {
					if m.Channel != ch.Key {
						continue
					}
					switch m.Kind {
					case chat.KindAnnounce:
						singles = append(singles, m.BugIDs...)
					case chat.KindDigest:
						digests = append(digests, m)
					}
				}
				slices.Sort(singles)
				if w := pick(tc.singles); !slices.Equal(singles, w) {
					t.Errorf("%s: bugs announced one by one %v, want %v", ch.Name, singles, w)
				}
				if tc.digest == nil {
					if len(digests) != 0 {
						t.Errorf("%s: unexpected digest %v", ch.Name, plain(digests))
					}
					continue
				}
				if len(digests) != 1 {
					t.Fatalf("%s: %d digests, want 1: %v", ch.Name, len(digests), plain(digests))
				}
				w := pick(tc.digest)
				checkDigest(t, digests[0], w)
			}
		})
	}
}

// checkDigest checks the digest line as a reader sees it: the count, each
// id, one buglist link and each tree's maintainers highlighted once.
func checkDigest(t *testing.T, m chat.Outgoing, ids []int) {
	t.Helper()
	if got := slices.Sorted(slices.Values(m.BugIDs)); !slices.Equal(got, ids) {
		t.Errorf("digest names bugs %v, want %v", got, ids)
	}
	line := m.Plain("irc")[0]
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = fmt.Sprint(id)
	}
	for _, want := range []string{
		fmt.Sprintf("%d new kernel security bugs", len(ids)),
		strings.Join(strs, ", "),
		"https://bugs.gentoo.org/buglist.cgi?bug_id=" + strings.Join(strs, "%2C"),
	} {
		if !strings.Contains(line, want) {
			t.Errorf("digest line %q lacks %q", line, want)
		}
	}
	for _, nick := range []string{"mpagano", "blueness", "zorry"} {
		if n := strings.Count(line, nick); n != 1 {
			t.Errorf("digest line %q highlights %s %d times, want once", line, nick, n)
		}
	}
	if n := strings.Count(line, "buglist.cgi"); n != 1 {
		t.Errorf("digest line %q has %d buglist links, want 1", line, n)
	}
}
