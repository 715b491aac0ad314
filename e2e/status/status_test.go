// SPDX-License-Identifier: GPL-3.0-or-later

// Package status tests the status page ([http] status_page) of the real
// ksecbot binary in a real browser (Debian's Chromium through chromedp):
// the page loads without a console error and without a request leaving
// the host, shows the open bugs per tree and the reaction-time plots, and
// never carries a restricted bug's details.
package status

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/browsertest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

var bin string

func TestMain(m *testing.M) {
	need := browsertest.Path() != "" && os.Getenv("KSECBOT_IRC_ADDR") != ""
	os.Exit(e2etest.RunMain(m, "e2e/status", need, &bin))
}

var trees = []e2etest.Tree{
	{Name: "gentoo-sources", Aliases: []string{"gentoo-kernel"}, Packages: []string{"sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel"}, Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"kmaint"}},
	{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Bugzilla: []string{"hardened@gentoo.org"}, IRC: []string{"hmaint"}},
}

func TestStatusPageInChromium(t *testing.T) {
	addr := e2etest.Env(t, irctest.Hint, "KSECBOT_IRC_ADDR")[0]
	browser := browsertest.New(t)

	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	// ksecbot's account is in the security group: it sees the restricted
	// bug, and the page must still withhold it.
	bz.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", APIKey: "key-ksecbot", Groups: []string{"editbugs", "security"}})
	now := time.Now()
	secret := fmt.Sprintf("EMBARGOED-%08x", rand.Uint32())
	// Older bugs: open, in the mirror from the baseline, not announced.
	old := bz.CreateBug(bugzillatest.NewBug{Product: "Gentoo Security", Component: "Kernel",
		Summary: "sys-kernel/gentoo-sources: use-after-free in nf_tables (CVE-2026-1001)", Severity: "major",
		Whiteboard: "A2 [upstream]", Created: now.Add(-20 * 24 * time.Hour)})
	hard := bz.CreateBug(bugzillatest.NewBug{Product: "Gentoo Security", Component: "Kernel",
		Summary: "sys-kernel/hardened-sources: missing RANDSTRUCT hardening", Severity: "normal",
		Created: now.Add(-9 * 24 * time.Hour), CC: []string{"hardened@gentoo.org"}})
	restricted := bz.CreateBug(bugzillatest.NewBug{Product: "Gentoo Security", Component: "Kernel",
		Summary: "sys-kernel/hardened-sources: " + secret + " privilege escalation", Severity: "critical",
		Whiteboard: "A1 " + secret, Alias: []string{"CVE-2026-" + secret[len(secret)-4:]},
		Groups: []string{"security"}, CC: []string{"embargo-" + secret + "@example.org"}, Created: now.Add(-3 * 24 * time.Hour)})

	ch := fmt.Sprintf("#st%06d", rand.IntN(1e6))
	cfg := e2etest.Config{
		Dir:         t.TempDir(),
		BugzillaURL: bz.URL(),
		DigestAfter: 0,
		IRC:         &e2etest.IRC{Server: addr, Nick: fmt.Sprintf("ksbst%04d", rand.IntN(1e4)), Channels: []string{ch}},
		Trees:       trees,
		Extra:       fmt.Sprintf("[http]\nlisten = %q\nstatus_page = true\n", freeAddr(t)),
	}
	proc := e2etest.Start(t, "ksecbot", bin, "--config", cfg.Write(t))
	i := proc.Log.WaitFor(t, 30*time.Second, 0, "the HTTP listener", e2etest.Contains("http listening"))
	m := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(proc.Log.Lines()[i])
	if m == nil {
		t.Fatalf("no address in %q", proc.Log.Lines()[i])
	}
	base := "http://" + m[1]
	proc.Log.WaitFor(t, 30*time.Second, 0, "the Bugzilla baseline", e2etest.Contains("baseline stored"))
	// A bug filed now is announced: the page's plots then have a point.
	fresh := bz.CreateBug(bugzillatest.NewBug{Product: "Gentoo Security", Component: "Kernel",
		Summary: "sys-kernel/gentoo-kernel: out-of-bounds read in io_uring", Severity: "normal"})
	// Once it is announced (delivered to IRC), its reaction time is on the
	// page (the page is rebuilt at most DefaultTTL after a change).
	e2etest.Eventually(t, 40*time.Second, "the announced bug's reaction time on the page", func() bool {
		resp, err := http.Get(base + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "creation → announcement over 1 bugs")
	})

	if err := browser.Do(30*time.Second, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatalf("loading %s/: %v", base, err)
	}
	html, err := browsertest.Run(browser, 10*time.Second, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	text, err := browsertest.Run(browser, 10*time.Second, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Open bugs per tree", "gentoo-sources", "hardened", "use-after-free in nf_tables",
		"missing RANDSTRUCT hardening", "out-of-bounds read in io_uring", fmt.Sprintf("restricted bug %d", restricted), "Health"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if strings.Contains(strings.ToLower(html), strings.ToLower(secret)) {
		t.Errorf("the page carries the restricted bug's details (%s)", secret)
	}
	plots, err := browsertest.Run(browser, 10*time.Second, chromedp.Nodes(chromedp.CSSAll("svg.plot"), chromedp.AtLeast(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(plots) != 3*len(trees) {
		t.Errorf("%d plots on the page, want %d (3 per tree)", len(plots), 3*len(trees))
	}
	points, err := browsertest.Run(browser, 10*time.Second, chromedp.Nodes(chromedp.CSSAll("svg.plot circle.med"), chromedp.AtLeast(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(points) == 0 {
		t.Error("no plot shows a point for the announced bug")
	}
	for _, id := range []int{old, hard, fresh} {
		if !strings.Contains(html, fmt.Sprintf(">%d</a>", id)) {
			t.Errorf("bug %d has no row on the page", id)
		}
	}
	if path := os.Getenv("KSECBOT_STATUS_SCREENSHOT"); path != "" {
		if err := browser.Do(10*time.Second, chromedp.EmulateViewport(1100, 900)); err != nil {
			t.Fatal(err)
		}
		shot, err := browsertest.Run(browser, 20*time.Second, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The tree page, reached as a reader would: by its link.
	if err := browser.Do(30*time.Second, chromedp.Click(chromedp.CSS(`a[href="/tree/hardened"]`)),
		chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatalf("following the hardened link: %v", err)
	}
	loc, err := browsertest.Run(browser, 10*time.Second, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(loc); u == nil || u.Path != "/tree/hardened" {
		t.Errorf("the link led to %s, want /tree/hardened", loc)
	}
	treeText, err := browsertest.Run(browser, 10*time.Second, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(treeText, "missing RANDSTRUCT hardening") || strings.Contains(treeText, "use-after-free in nf_tables") {
		t.Errorf("the hardened page does not list exactly hardened's bugs:\n%s", treeText)
	}
	treeHTML, err := browsertest.Run(browser, 10*time.Second, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(treeHTML), strings.ToLower(secret)) {
		t.Errorf("the tree page carries the restricted bug's details (%s)", secret)
	}

	if c := browser.Console(); len(c) > 0 {
		t.Errorf("console errors or warnings: %q", c)
	}
	if e := browser.Errors(); len(e) > 0 {
		t.Errorf("script errors: %q", e)
	}
	for _, r := range browser.Requests() {
		if !strings.HasPrefix(r, base+"/") {
			t.Errorf("the page made a request off the host: %s", r)
		}
	}
	t.Logf("%d requests, all to %s", len(browser.Requests()), base)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago ([http] listen needs a port of its own).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
