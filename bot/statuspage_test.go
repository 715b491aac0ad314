// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
)

// The status page is off unless [http] status_page is set, and a reload
// turns it on without a restart. (Its content is tested in package status
// and in a real browser in e2e/status.)
func TestStatusPageSwitch(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	id := h.srv.CreateBug(bugzillatest.NewBug{Product: "Gentoo Security", Component: "Kernel",
		Summary: "sys-kernel/gentoo-sources: a bug on the status page"})
	rec := newRecorder("test", "#gentoo-kernel")
	b, _, _ := h.startAt(nil, rec)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	waitPolls(t, b, 1)

	get := func() (int, string) {
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(); code != http.StatusNotFound || !strings.Contains(body, "status_page = true") {
		t.Errorf("status page off: GET / = %d %q, want 404 saying how to turn it on", code, body)
	}
	cfg, err := config.Parse([]byte(baseConfig+"\n[http]\nstatus_page = true\n"), "test.toml", nets...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bugzilla = h.cfg.Bugzilla
	b.Live.Reload(cfg)
	code, body := get()
	if code != http.StatusOK || !strings.Contains(body, "a bug on the status page") || !strings.Contains(body, ">"+strconv.Itoa(id)+"</a>") {
		t.Errorf("status page on: GET / = %d, want 200 with bug %d:\n%s", code, id, body)
	}
}
