// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// testServer is a standard world with a settable clock.
type testServer struct {
	*Server
	clk *fakeclock.Clock
}

func newTestServer(t *testing.T, opts ...Option) *testServer {
	t.Helper()
	ts := &testServer{clk: fakeclock.New(t0)}
	ts.Server = New(append([]Option{WithNow(ts.clk.Now)}, opts...)...)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) set(t time.Time) { ts.clk.Set(t) }

// do sends a request and decodes the JSON answer.
func do(t *testing.T, s *Server, method, path string, q url.Values, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	u := s.URL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return resp.StatusCode, m
}

func ids(m map[string]any) []int {
	var out []int
	bugs, _ := m["bugs"].([]any)
	for _, b := range bugs {
		out = append(out, int(b.(map[string]any)["id"].(float64)))
	}
	return out
}

func code(m map[string]any) int {
	c, _ := m["code"].(float64)
	return int(c)
}

func TestSearch(t *testing.T) {
	s := newTestServer(t)
	b1 := s.CreateBug(NewBug{Summary: "sys-kernel/gentoo-sources: use-after-free in net/sched", Alias: []string{"CVE-2026-1"}, Whiteboard: "A2 [upstream]", Created: t0.Add(-3 * time.Hour)})
	b2 := s.CreateBug(NewBug{Summary: "sys-kernel/hardened-sources: leak", Whiteboard: "B3 [noglsa]", AssignedTo: "kernel@gentoo.org", CC: []string{"hardened@gentoo.org"}, Created: t0.Add(-2 * time.Hour)})
	b3 := s.CreateBug(NewBug{Summary: "embargoed io_uring hole", Groups: []string{"security"}, Created: t0.Add(-time.Hour)})
	b4 := s.CreateBug(NewBug{Summary: "fixed one", Status: "RESOLVED", Created: t0.Add(-time.Hour)})
	b5 := s.CreateBug(NewBug{Component: "Vulnerabilities", Summary: "openssl glsa", Whiteboard: "B2 [glsa]", Created: t0})
	s.set(t0.Add(-30 * time.Minute))
	s.UpdateBug(b1, func(b *Bug) { b.Whiteboard = "A2 [ebuild]" })

	at := func(d time.Duration) string { return t0.Add(d).Format(TimeFormat) }
	tests := []struct {
		name string
		q    string
		key  string
		want []int
		code int
	}{
		{"product and component", "product=Gentoo Security&component=Kernel", "", []int{b1, b2, b4}, 0},
		{"restricted visible to security", "product=Gentoo Security&component=Kernel", "key-security", []int{b1, b2, b3, b4}, 0},
		{"restricted hidden from plain user", "summary=io_uring", "key-alice", nil, 0},
		{"restricted visible to its CC", "summary=io_uring", "key-kernel", []int{b3}, 0},
		{"open via resolution ---", "component=Kernel&resolution=---", "", []int{b1, b2}, 0},
		{"__open__", "status=__open__", "", []int{b1, b2, b5}, 0},
		{"repeated statuses", "status=RESOLVED&status=CONFIRMED&component=Kernel", "", []int{b1, b2, b4}, 0},
		{"unknown status dropped", "status=ASSIGNED&component=Kernel", "", []int{b1, b2, b4}, 0},
		{"id comma list", "id=" + fmt.Sprint(b1) + "," + fmt.Sprint(b5), "", []int{b1, b5}, 0},
		{"alias", "alias=CVE-2026-1", "", []int{b1}, 0},
		{"whiteboard allwordssubstr", "whiteboard=glsa", "", []int{b2, b5}, 0},
		{"whiteboard all words", "whiteboard=B3 noglsa", "", []int{b2}, 0},
		{"assigned_to substring", "assigned_to=kernel@", "", []int{b2}, 0},
		{"cc substring", "cc=hardened", "", []int{b2}, 0},
		{"last_change_time is >=", "last_change_time=" + at(-2*time.Hour), "", []int{b1, b2, b4, b5}, 0},
		{"creation_time >= with offset", "creation_time=" + t0.Add(-time.Hour).In(time.FixedZone("", 3600)).Format(time.RFC3339), "", []int{b4, b5}, 0},
		{"chart delta_ts greaterthan is strict", "f1=delta_ts&o1=greaterthan&v1=" + t0.Add(-time.Hour).Format("2006-01-02 15:04:05"), "", []int{b1, b5}, 0},
		{"chart whiteboard regexp", "f1=status_whiteboard&o1=regexp&v1=\\[glsa\\]", "", []int{b5}, 0},
		{"chart assigned_to equals negated", "f1=assigned_to&o1=equals&v1=security@gentoo.org&n1=1", "", []int{b2}, 0},
		{"chart unknown field", "f1=frob&o1=equals&v1=x", "", nil, 108},
		{"bad date", "last_change_time=yesterday-ish", "", nil, 56},
		{"offset without limit", "offset=1", "", nil, 50},
		{"limit offset order", "order=bug_id DESC&limit=2&offset=1", "", []int{b4, b2}, 0},
		{"limit=0 drops offset", "limit=0&offset=3", "", []int{b1, b2, b4, b5}, 0},
		{"order changeddate DESC", "order=changeddate DESC,bug_id&component=Kernel", "", []int{b1, b4, b2}, 0},
		{"order last_change_time ignored", "order=last_change_time DESC&component=Kernel", "", []int{b1, b2, b4}, 0},
		{"quicksearch open only", "quicksearch=sources", "", []int{b1, b2}, 0},
		{"bad key", "product=Gentoo Security", "nope", nil, 306},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(strings.ReplaceAll(tc.q, "+", "%2B"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.key != "" {
				q.Set("Bugzilla_api_key", tc.key)
			}
			st, m := do(t, s.Server, "GET", "/rest/bug", q, nil)
			if tc.code != 0 {
				if st < 400 || code(m) != tc.code {
					t.Fatalf("status %d code %d, want code %d", st, code(m), tc.code)
				}
				return
			}
			if st != 200 || !slices.Equal(ids(m), tc.want) {
				t.Fatalf("status %d ids %v, want %v", st, ids(m), tc.want)
			}
		})
	}
}

func TestIncludeFieldsAndEmailFilter(t *testing.T) {
	s := newTestServer(t, WithEmailFilter())
	id := s.CreateBug(NewBug{Summary: "x"})
	q := url.Values{"id": {fmt.Sprint(id)}, "include_fields": {"id,assigned_to,cc"}}
	_, m := do(t, s.Server, "GET", "/rest/bug", q, nil)
	b := m["bugs"].([]any)[0].(map[string]any)
	var keys []string
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"assigned_to", "assigned_to_detail", "cc", "cc_detail", "id"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if b["assigned_to"] != "security" || b["cc"].([]any)[0] != "kernel" {
		t.Errorf("anonymous with email filter: assigned_to %v cc %v", b["assigned_to"], b["cc"])
	}
	q.Set("Bugzilla_api_key", "key-alice")
	_, m = do(t, s.Server, "GET", "/rest/bug", q, nil)
	if got := m["bugs"].([]any)[0].(map[string]any)["assigned_to"]; got != "security@gentoo.org" {
		t.Errorf("logged in: assigned_to %v", got)
	}
}

func TestGetBugAndAccess(t *testing.T) {
	s := newTestServer(t)
	pub := s.CreateBug(NewBug{Summary: "public", Alias: []string{"CVE-2026-7"}})
	sec := s.CreateBug(NewBug{Summary: "secret", Groups: []string{"security"}})
	tests := []struct {
		name, path, key string
		status, code    int
	}{
		{"by id", fmt.Sprintf("/rest/bug/%d", pub), "", 200, 0},
		{"by alias", "/rest/bug/CVE-2026-7", "", 200, 0},
		{"missing", "/rest/bug/999", "", 404, 101},
		{"bad alias", "/rest/bug/nope", "", 400, 100},
		{"restricted anonymous", fmt.Sprintf("/rest/bug/%d", sec), "", 401, 102},
		{"restricted alice", fmt.Sprintf("/rest/bug/%d", sec), "key-alice", 401, 102},
		{"restricted admin", fmt.Sprintf("/rest/bug/%d", sec), "key-admin", 200, 0},
		{"restricted comments", fmt.Sprintf("/rest/bug/%d/comment", sec), "", 401, 102},
		{"whoami is 5.0: absent", "/rest/whoami", "key-ksecbot", 404, 32614},
		{"unknown resource", "/rest/frob", "", 404, 32614},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			if tc.key != "" {
				q.Set("Bugzilla_api_key", tc.key)
			}
			st, m := do(t, s.Server, "GET", tc.path, q, nil)
			if st != tc.status || code(m) != tc.code {
				t.Fatalf("status %d code %d, want %d %d (%v)", st, code(m), tc.status, tc.code, m["message"])
			}
		})
	}

	// The X-BUGZILLA-API-KEY header is ignored: served as anonymous.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/rest/bug/%d", s.URL(), sec), nil)
	req.Header.Set("X-BUGZILLA-API-KEY", "key-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("header key: status %d, want 401", resp.StatusCode)
	}

	w := newTestServer(t, WithWhoami())
	st, m := do(t, w.Server, "GET", "/rest/whoami", url.Values{"Bugzilla_api_key": {"key-ksecbot"}}, nil)
	if st != 200 || m["name"] != "ksecbot@gentoo.org" {
		t.Errorf("whoami with option: %d %v", st, m)
	}
}

func TestUpdate(t *testing.T) {
	s := newTestServer(t)
	id := s.CreateBug(NewBug{Summary: "s", Whiteboard: "A2", Created: t0})
	path := fmt.Sprintf("/rest/bug/%d", id)
	key := func(k string) url.Values { return url.Values{"Bugzilla_api_key": {k}} }
	t1 := t0.Add(time.Minute)
	s.set(t1)

	st, m := do(t, s.Server, "PUT", path, key("key-ksecbot"), map[string]any{
		"cc": map[string]any{"add": []string{"hardened@gentoo.org", "bob@gentoo.org"}}, "assigned_to": "bob@gentoo.org",
		"comment": map[string]any{"body": "claimed from chat"},
	})
	if st != 200 {
		t.Fatalf("update: %d %v", st, m)
	}
	r := m["bugs"].([]any)[0].(map[string]any)
	wantChanges := map[string]any{
		"cc":          map[string]any{"added": "bob@gentoo.org, hardened@gentoo.org", "removed": ""},
		"assigned_to": map[string]any{"added": "bob@gentoo.org", "removed": "security@gentoo.org"},
	}
	if got, _ := json.Marshal(r["changes"]); string(got) != mustJSON(wantChanges) || r["last_change_time"] != t1.Format(TimeFormat) {
		t.Errorf("changes %s at %v, want %s at %v", got, r["last_change_time"], mustJSON(wantChanges), t1.Format(TimeFormat))
	}
	b, _ := s.Bug(id)
	if b.AssignedTo != "bob@gentoo.org" || len(b.Comments) != 2 || b.Comments[1].Text != "claimed from chat" || b.Comments[1].Creator != "ksecbot@gentoo.org" {
		t.Errorf("bug after update: %+v", b)
	}

	// No-op: changes {} and last_change_time unchanged.
	s.set(t1.Add(time.Minute))
	_, m = do(t, s.Server, "PUT", path, key("key-ksecbot"), map[string]any{"cc": map[string]any{"add": []string{"bob@gentoo.org"}}})
	r = m["bugs"].([]any)[0].(map[string]any)
	if len(r["changes"].(map[string]any)) != 0 || r["last_change_time"] != t1.Format(TimeFormat) {
		t.Errorf("no-op: %v", r)
	}

	// reset_assigned_to goes back to the component default.
	_, m = do(t, s.Server, "PUT", path, key("key-ksecbot"), map[string]any{"reset_assigned_to": true})
	if b, _ := s.Bug(id); b.AssignedTo != "security@gentoo.org" {
		t.Errorf("reset_assigned_to: assignee %q (%v)", b.AssignedTo, m)
	}

	errs := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		code   int
	}{
		{"unknown cc fails whole update", "key-ksecbot", map[string]any{"whiteboard": "zzz", "cc": map[string]any{"add": []string{"nobody@gentoo.org"}}}, 404, 51},
		{"unknown assignee", "key-ksecbot", map[string]any{"assigned_to": "nobody@gentoo.org"}, 404, 51},
		{"no auth", "", map[string]any{"whiteboard": "x"}, 401, 410},
		{"plain user may not edit", "key-alice", map[string]any{"whiteboard": "x"}, 401, 115},
		{"plain user may not cc others", "key-alice", map[string]any{"cc": map[string]any{"add": []string{"ksecbot@gentoo.org"}}}, 401, 115},
		{"resolved needs resolution", "key-ksecbot", map[string]any{"status": "RESOLVED"}, 400, 121},
		{"unknown status", "key-ksecbot", map[string]any{"status": "ASSIGNED"}, 404, 51},
		{"unknown resolution", "key-ksecbot", map[string]any{"status": "RESOLVED", "resolution": "NOTABUG"}, 404, 51},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			if tc.key != "" {
				q = key(tc.key)
			}
			st, m := do(t, s.Server, "PUT", path, q, tc.body)
			if st != tc.status || code(m) != tc.code {
				t.Fatalf("status %d code %d, want %d %d (%v)", st, code(m), tc.status, tc.code, m["message"])
			}
		})
	}
	if b, _ := s.Bug(id); b.Whiteboard != "A2" {
		t.Errorf("failed update changed the whiteboard to %q", b.Whiteboard)
	}

	// A plain user may CC herself and comment; key in the JSON body works.
	st, _ = do(t, s.Server, "PUT", path, nil, map[string]any{"Bugzilla_api_key": "key-alice", "cc": map[string]any{"add": []string{"alice@gentoo.org"}}})
	st2, m2 := do(t, s.Server, "POST", path+"/comment", key("key-alice"), map[string]any{"comment": "me too"})
	if st != 200 || st2 != 201 || m2["id"] == nil {
		t.Errorf("alice cc-self %d, comment %d %v", st, st2, m2)
	}
	st, m = do(t, s.Server, "POST", path+"/comment", key("key-alice"), map[string]any{"comment": "  "})
	if st != 400 || code(m) != 50 {
		t.Errorf("empty comment: %d %v", st, m)
	}

	// Close it.
	st, m = do(t, s.Server, "PUT", path, key("key-ksecbot"), map[string]any{"status": "RESOLVED", "resolution": "FIXED"})
	if b, _ := s.Bug(id); st != 200 || b.Status != "RESOLVED" || b.Resolution != "FIXED" {
		t.Errorf("resolve: %d %v, bug %s/%s", st, m, b.Status, b.Resolution)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCommentsNewSinceAndHistory(t *testing.T) {
	s := newTestServer(t)
	id := s.CreateBug(NewBug{Summary: "s", Created: t0})
	t1 := t0.Add(time.Minute)
	s.set(t1)
	path := fmt.Sprintf("/rest/bug/%d", id)
	do(t, s.Server, "POST", path+"/comment", url.Values{"Bugzilla_api_key": {"key-bob"}}, map[string]any{"comment": "second"})
	for _, tc := range []struct {
		since string
		want  int
	}{{t0.Format(TimeFormat), 1}, {t1.Format(TimeFormat), 0}, {"", 2}} {
		q := url.Values{}
		if tc.since != "" {
			q.Set("new_since", tc.since)
		}
		_, m := do(t, s.Server, "GET", path+"/comment", q, nil)
		list := m["bugs"].(map[string]any)[fmt.Sprint(id)].(map[string]any)["comments"].([]any)
		if len(list) != tc.want {
			t.Errorf("new_since=%q: %d comments, want %d", tc.since, len(list), tc.want)
		}
	}
	do(t, s.Server, "PUT", path, url.Values{"Bugzilla_api_key": {"key-bob"}}, map[string]any{"whiteboard": "B1"})
	_, m := do(t, s.Server, "GET", path+"/history", nil, nil)
	h := m["bugs"].([]any)[0].(map[string]any)["history"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["who"] != "bob@gentoo.org" {
		t.Errorf("history %v", h)
	}
}

func TestETag(t *testing.T) {
	s := newTestServer(t)
	id := s.CreateBug(NewBug{Summary: "s"})
	u := fmt.Sprintf("%s/rest/bug/%d", s.URL(), id)
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("Etag")
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("etag %q, second status %d", etag, resp.StatusCode)
	}
	s.set(t0.Add(time.Hour))
	s.UpdateBug(id, func(b *Bug) { b.Whiteboard = "A1" })
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after a change: status %d, want 200", resp.StatusCode)
	}
}

func TestFaultsAndAccounting(t *testing.T) {
	s := newTestServer(t)
	get := func(ctx context.Context) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/rest/bug?product=Gentoo%20Security", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	ctx := context.Background()
	s.FailNext(2, 503)
	for i, want := range []int{503, 503, 200} {
		if st, _, err := get(ctx); err != nil || st != want {
			t.Errorf("request %d: %d %v, want %d", i, st, err, want)
		}
	}
	s.SetFault(Fault{Mode: Fault500})
	if st, _, _ := get(ctx); st != 500 {
		t.Errorf("Fault500: %d", st)
	}
	s.SetFault(Fault{Mode: FaultTruncate})
	if st, body, _ := get(ctx); st != 200 || json.Valid([]byte(body)) || !strings.HasPrefix(body, "{") {
		t.Errorf("FaultTruncate: %d %q", st, body)
	}
	s.SetFault(Fault{Mode: FaultHang})
	hctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _, err := get(hctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FaultHang: %v", err)
	}
	s.ClearFault()
	if st, _, _ := get(ctx); st != 200 {
		t.Errorf("after ClearFault: %d", st)
	}
	if n := s.SearchCount(); n != 7 {
		t.Errorf("SearchCount %d, want 7", n)
	}
	reqs := s.Requests()
	if len(reqs) != 7 || reqs[0].Path != "/rest/bug" || reqs[0].Query.Get("product") != "Gentoo Security" {
		t.Errorf("Requests: %+v", reqs)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newTestServer(t)
	id := s.CreateBug(NewBug{Summary: "s"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login := []string{"alice", "bob", "kernel", "hardened"}[i%4] + "@gentoo.org"
			body := strings.NewReader(`{"cc":{"add":["` + login + `"]}}`)
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/rest/bug/%d?Bugzilla_api_key=key-admin", s.URL(), id), body)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("PUT cc %s: %v", login, err)
			} else {
				resp.Body.Close()
			}
			if resp, err := http.Get(s.URL() + "/rest/bug?cc=" + url.QueryEscape(login)); err == nil {
				resp.Body.Close()
			}
			s.Bug(id)
		}()
	}
	wg.Wait()
	b, _ := s.Bug(id)
	if want := []string{"alice@gentoo.org", "bob@gentoo.org", "hardened@gentoo.org", "kernel@gentoo.org"}; !slices.Equal(b.CC, want) {
		t.Errorf("CC %v, want %v", b.CC, want)
	}
}

func TestSeedDemo(t *testing.T) {
	s := newTestServer(t)
	SeedDemo(s.Server, t0)
	all := s.BugIDs()
	if len(all) < 10 {
		t.Fatalf("%d bugs", len(all))
	}
	restricted := 0
	for _, id := range all {
		b, _ := s.Bug(id)
		if len(b.Groups) > 0 {
			restricted++
		}
		if !b.CreationTime.Before(t0) || !strings.HasPrefix(b.Alias[0], "CVE-") {
			t.Errorf("bug %d: created %v alias %v", id, b.CreationTime, b.Alias)
		}
	}
	b3, _ := s.Bug(3)
	if restricted != 1 || b3.AssignedTo != "security@gentoo.org" || isClosed(b3.Status) || len(b3.Groups) > 0 {
		t.Errorf("restricted %d, bug 3 %s %s %v", restricted, b3.AssignedTo, b3.Status, b3.Groups)
	}
	n1, n2 := DemoBug(0), DemoBug(1)
	if n1.Summary == n2.Summary || n1.Alias[0] == n2.Alias[0] {
		t.Errorf("DemoBug repeats: %q %q", n1.Summary, n2.Summary)
	}
	id := s.CreateBug(n1)
	if b, _ := s.Bug(id); b.Component != "Kernel" || !slices.Contains(b.CC, "kernel@gentoo.org") {
		t.Errorf("demo bug %+v", b)
	}
}
