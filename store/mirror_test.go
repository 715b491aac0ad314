// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// TestBugsNames: a Names filter is given each bug's tree-naming fields and
// groups (not the rest), combines with the SQL filters, counts every bug
// it accepts and decodes only the page; a page larger than one statement's
// parameters comes whole and in creation order.
func TestBugsNames(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	var bugs []bugzilla.Bug
	for i := 1; i <= 1300; i++ {
		b := kbug(i)
		// newest ids first: creation order is not id order
		b.CreationTime = t0.Add(time.Duration(2000-i) * time.Second)
		b.Summary = fmt.Sprintf("bug %d", i)
		b.Alias = []string{fmt.Sprintf("alias-%d", i)}
		b.Keywords = []string{"SECURITY"}
		if i%3 == 0 {
			b.Groups = []string{"security"}
		}
		if i%5 == 0 {
			b.Resolution, b.IsOpen = "FIXED", false
		}
		bugs = append(bugs, b)
	}
	if err := s.SaveBugs(ctx, bugs, nil, true); err != nil {
		t.Fatal(err)
	}
	var seen []bugzilla.Bug
	even := func(b *bugzilla.Bug) bool {
		seen = append(seen, *b)
		return b.ID%2 == 0
	}
	// open (not a multiple of 5) and even
	want := 0
	for i := 1; i <= 1300; i++ {
		if i%5 != 0 && i%2 == 0 {
			want++
		}
	}
	for _, limit := range []int{0, 20} {
		seen = nil
		got, total, err := s.Bugs(ctx, BugFilter{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}, OpenOnly: true, Names: even, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Errorf("limit %d: total %d, want %d", limit, total, want)
		}
		wantLen := want
		if limit > 0 {
			wantLen = limit
		}
		if len(got) != wantLen {
			t.Fatalf("limit %d: %d bugs, want %d", limit, len(got), wantLen)
		}
		for i, b := range got {
			if b.ID%2 != 0 || b.ID%5 == 0 || b.Product != "Gentoo Security" || len(b.CC) != 1 {
				t.Fatalf("limit %d: bug %+v is not an open even bug decoded whole", limit, b)
			}
			if i > 0 && !got[i-1].CreationTime.Before(b.CreationTime) {
				t.Fatalf("limit %d: bug %d (created %v) after bug %d (created %v)", limit, b.ID, b.CreationTime, got[i-1].ID, got[i-1].CreationTime)
			}
		}
		if limit == 20 && got[0].ID != 1298 {
			t.Errorf("first bug %d, want 1298 (the oldest open even one)", got[0].ID)
		}
		if len(seen) != 1300-260 {
			t.Errorf("limit %d: Names judged %d bugs, want the %d open ones", limit, len(seen), 1300-260)
		}
	}
	i := slices.IndexFunc(seen, func(b bugzilla.Bug) bool { return b.ID == 3 })
	if i < 0 {
		t.Fatal("Names never saw bug 3")
	}
	b := seen[i]
	if b.Summary != "bug 3" || !slices.Equal(b.Alias, []string{"alias-3"}) || !slices.Equal(b.Keywords, []string{"SECURITY"}) ||
		!b.Restricted() || b.Whiteboard != "B3 [glsa]" {
		t.Errorf("Names got %+v, want the summary, whiteboard, alias, keywords and groups", b)
	}
	if b.Product != "" || b.AssignedTo != "" || len(b.CC) != 0 {
		t.Errorf("Names got more than the tree-naming fields: %+v", b)
	}
	if b := seen[slices.IndexFunc(seen, func(b bugzilla.Bug) bool { return b.ID == 2 })]; b.Restricted() {
		t.Errorf("bug 2 is public but Names saw groups %v", b.Groups)
	}
	// With NotCC: the SQL part still applies.
	_, total, err := s.Bugs(ctx, BugFilter{NotCC: []string{"kernel@gentoo.org"}, Names: func(*bugzilla.Bug) bool { return true }})
	if err != nil || total != 0 {
		t.Errorf("NotCC kernel@ with Names: total %d, %v; want 0 (every bug has kernel@ in CC)", total, err)
	}
	_, total, err = s.Bugs(ctx, BugFilter{Names: func(b *bugzilla.Bug) bool { return strings.HasSuffix(b.Summary, " 7") }})
	if err != nil || total != 1 {
		t.Errorf("a Names filter accepting one bug: total %d, %v", total, err)
	}
}
