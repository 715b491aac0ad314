// SPDX-License-Identifier: GPL-3.0-or-later

// Package browsertest drives a real headless Chromium (Debian's chromium
// package, installed by scripts/test.sh) through chromedp for tests of
// ksecbot's web pages, and records what the page did: console messages,
// script errors and every network request.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Hint says how to get a browser for the tests.
const Hint = "install Debian's chromium (apt-get install chromium; scripts/test.sh does) or set KSECBOT_CHROMIUM to its path"

// Path returns the browser to run: $KSECBOT_CHROMIUM, else chromium on
// PATH; "" when there is none.
func Path() string {
	if p := os.Getenv("KSECBOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless browser tab and what it recorded.
type Browser struct {
	Ctx context.Context

	mu       sync.Mutex
	console  []string // console messages of level error or warning, and log entries
	errors   []string // uncaught script exceptions
	requests []string // URL of every request the page made
}

// New starts a headless Chromium with a fresh profile and no background
// traffic of its own, and opens a tab. Without a browser the test is
// skipped, or fails when CI=true. The browser stops when the test ends.
func New(t testing.TB) *Browser {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium under CI: " + Hint)
		}
		t.Skip("no Chromium: " + Hint)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	b := &Browser{}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// The listener sees the tab's events from its start; chromedp enables
	// the log and network domains itself.
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.record))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b.Ctx = ctx
	// The first action starts the browser; it must not have a deadline
	// (that would stop the browser with it), so the tab is opened here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

func (b *Browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			s := string(e.Type) + ":"
			for _, a := range e.Args {
				s += " " + string(a.Value) + a.Description
			}
			b.console = append(b.console, s)
		}
	case *runtime.EventExceptionThrown:
		if e.ExceptionDetails == nil {
			b.errors = append(b.errors, "an exception without details")
			return
		}
		s := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			s += " " + e.ExceptionDetails.Exception.Description
		}
		b.errors = append(b.errors, s)
	case *log.EventEntryAdded:
		if e.Entry != nil && (e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning) {
			b.console = append(b.console, string(e.Entry.Level)+": "+e.Entry.Text+" "+e.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		if e.Request != nil {
			b.requests = append(b.requests, e.Request.URL)
		}
	}
}

// Console returns the console errors and warnings (CSP violations and
// failed loads included) recorded so far.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// Errors returns the uncaught script errors recorded so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// Requests returns the URL of every request the pages made so far.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Do runs chromedp actions with a deadline.
func (b *Browser) Do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Run runs one chromedp action that returns a value, with a deadline.
func Run[T any](b *Browser, timeout time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}
