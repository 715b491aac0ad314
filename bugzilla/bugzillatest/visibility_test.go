// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReadByIDFollowsVisibility: what ksecbot's reconciliation relies on,
// as Bugzilla 5.0 does it (fixtures 032, 033, 050-055, 080, 097): a search
// by id list returns only the bugs the caller may see now, silently;
// groups hide bugs from accounts outside them; a deleted bug is gone for
// everyone; a moved bug comes back in its new product and component; a
// refused key is an error (306), not anonymous access.
func TestReadByIDFollowsVisibility(t *testing.T) {
	s := newTestServer(t)
	s.AddUser(User{Login: "ksecbot@gentoo.org", APIKey: "key-ksecbot", Groups: []string{"editbugs", "security"}})
	pub := s.CreateBug(NewBug{Summary: "public"})
	sec := s.CreateBug(NewBug{Summary: "in security", Groups: []string{"security"}})
	emb := s.CreateBug(NewBug{Summary: "in an embargo group ksecbot is not in", Groups: []string{"kernel-embargo"}})
	moved := s.CreateBug(NewBug{Summary: "wrangled away"})
	gone := s.CreateBug(NewBug{Summary: "deleted"})
	list := fmt.Sprintf("%d,%d,%d,%d,%d", pub, sec, emb, moved, gone)

	s.set(t0.Add(time.Minute))
	if !s.UpdateBug(moved, func(b *Bug) { b.Product, b.Component = "Gentoo Linux", "Current packages" }) || !s.DeleteBug(gone) {
		t.Fatal("update or delete failed")
	}
	if s.DeleteBug(gone) {
		t.Error("a deleted bug was deleted again")
	}

	search := func(key string, extra url.Values) (int, map[string]any) {
		q := url.Values{"id": {list}, "include_fields": {"id,product,component,groups"}}
		for k, v := range extra {
			q[k] = v
		}
		if key != "" {
			q.Set("Bugzilla_api_key", key)
		}
		return do(t, s.Server, "GET", "/rest/bug", q, nil)
	}
	for _, tc := range []struct {
		who, key string
		want     []int
	}{
		{"ksecbot (security group)", "key-ksecbot", []int{pub, sec, moved}},
		{"hardened (in no group, not CC'd)", "key-hardened", []int{pub, moved}},
		{"anonymous", "", []int{pub, moved}},
	} {
		st, m := search(tc.key, nil)
		if st != http.StatusOK || !slices.Equal(ids(m), tc.want) {
			t.Errorf("%s: search by id list: %d %v, want 200 %v", tc.who, st, ids(m), tc.want)
		}
	}
	// Repeated id parameters work like a comma list (fixture 032).
	q := url.Values{"id": {fmt.Sprint(pub), fmt.Sprint(sec)}, "Bugzilla_api_key": {"key-ksecbot"}}
	if st, m := do(t, s.Server, "GET", "/rest/bug", q, nil); st != 200 || !slices.Equal(ids(m), []int{pub, sec}) {
		t.Errorf("repeated id: %d %v", st, ids(m))
	}
	_, m := search("key-ksecbot", url.Values{"id": {fmt.Sprint(moved)}})
	if bugs, _ := m["bugs"].([]any); len(bugs) != 1 || bugs[0].(map[string]any)["component"] != "Current packages" {
		t.Errorf("the moved bug: %v", m["bugs"])
	}
	_, h := do(t, s.Server, "GET", fmt.Sprintf("/rest/bug/%d/history", moved), nil, nil)
	if got := fmt.Sprint(h["bugs"]); !strings.Contains(got, "field_name:component") || !strings.Contains(got, "added:Current packages") {
		t.Errorf("history of the move: %s", got)
	}

	for _, tc := range []struct {
		name         string
		id           int
		key          string
		status, code int
	}{
		{"embargoed, ksecbot not in its group", emb, "key-ksecbot", 401, 102},
		{"deleted", gone, "key-ksecbot", 404, 101},
		{"deleted, anonymous", gone, "", 404, 101},
	} {
		q := url.Values{}
		if tc.key != "" {
			q.Set("Bugzilla_api_key", tc.key)
		}
		if st, m := do(t, s.Server, "GET", fmt.Sprintf("/rest/bug/%d", tc.id), q, nil); st != tc.status || code(m) != tc.code {
			t.Errorf("%s: GET %d code %d, want %d %d", tc.name, st, code(m), tc.status, tc.code)
		}
	}
	// DELETE is not a REST method of 5.0 (fixture 097).
	if st, m := do(t, s.Server, "DELETE", fmt.Sprintf("/rest/bug/%d", pub), url.Values{"Bugzilla_api_key": {"key-admin"}}, nil); st != 404 || code(m) != 32614 {
		t.Errorf("DELETE: %d code %d, want 404 32614", st, code(m))
	}

	// The key revoked: every request carrying it fails with 306; anonymous
	// requests go on.
	s.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
	if st, m := search("key-ksecbot", nil); st != 400 || code(m) != 306 {
		t.Errorf("refused key: %d code %d, want 400 306", st, code(m))
	}
	s.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	if st, m := search("key-ksecbot", nil); st != 200 || len(ids(m)) != 3 {
		t.Errorf("key back: %d %v", st, ids(m))
	}
}

// TestServerTime: /rest/time and every response's Date header follow the
// server's clock; a change stamped in the future (UpdateBugAt) is found by
// a last_change_time search like any other.
func TestServerTime(t *testing.T) {
	s := newTestServer(t)
	id := s.CreateBug(NewBug{Summary: "stamped in the future"})
	future := t0.Add(24 * time.Hour)
	s.UpdateBugAt(id, future, func(b *Bug) { b.Whiteboard = "B2" })
	s.set(t0.Add(90 * time.Second))

	q := url.Values{"last_change_time": {"2026-11-27T10:01:00Z"}, "include_fields": {"id,last_change_time"}}
	req, _ := http.NewRequest("GET", s.URL()+"/rest/bug?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(t0.Add(90*time.Second)) {
		t.Errorf("Date %q (%v), want the server clock %s", resp.Header.Get("Date"), err, t0.Add(90*time.Second))
	}
	_, m := do(t, s.Server, "GET", "/rest/bug", q, nil)
	bugs, _ := m["bugs"].([]any)
	if len(bugs) != 1 || bugs[0].(map[string]any)["last_change_time"] != "2026-11-28T10:00:00Z" {
		t.Errorf("search: %v", m["bugs"])
	}
	if _, m := do(t, s.Server, "GET", "/rest/time", nil, nil); m["db_time"] != "2026-11-27T10:01:30Z" {
		t.Errorf("/rest/time: %v", m)
	}
}

// TestFaultByQueryAndRecordedBodies: a fault may hit only the requests
// that carry a parameter (polls by product, not reads by id), and the
// records keep each write's body without its credentials.
func TestFaultByQueryAndRecordedBodies(t *testing.T) {
	s := newTestServer(t)
	id := s.CreateBug(NewBug{Summary: "x"})
	s.SetFault(Fault{Mode: Fault500, Path: "/rest/bug", Query: "product"})
	resp, err := http.Get(s.URL() + "/rest/bug?product=Gentoo+Security")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("search by product under the fault: %d, want 500", resp.StatusCode)
	}
	if st, m := do(t, s.Server, "GET", "/rest/bug", url.Values{"id": {fmt.Sprint(id)}}, nil); st != 200 || len(ids(m)) != 1 {
		t.Errorf("read by id under the fault: %d %v, want it served", st, m)
	}
	s.ClearFault()
	body := map[string]any{"cc": map[string]any{"add": []string{"bob@gentoo.org"}}, "Bugzilla_api_key": "key-admin"}
	if st, m := do(t, s.Server, "PUT", fmt.Sprintf("/rest/bug/%d", id), nil, body); st != 200 {
		t.Fatalf("PUT: %d %v", st, m)
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != "PUT" || fmt.Sprint(last.Body["cc"]) != "map[add:[bob@gentoo.org]]" || last.Body["Bugzilla_api_key"] != nil {
		t.Errorf("recorded PUT %s %v, want its cc change and no key", last.Method, last.Body)
	}
}
