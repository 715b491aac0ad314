// SPDX-License-Identifier: GPL-3.0-or-later

package transport_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ksecbot/ksecbot/"

// forbidden are the packages a transport must not be built with: the core
// (store, announcements, commands, the Bugzilla client, package bot itself),
// the SQLite driver and the Prometheus client. An entry ending in "/" matches
// every package below it; the others match exactly.
var forbidden = []string{
	module + "bot",
	module + "store",
	module + "announce",
	module + "commands",
	module + "bugzilla",
	module + "policy",
	"github.com/mattn/go-sqlite3",
	"github.com/prometheus/",
}

// exception is a forbidden package that one transport may not avoid, with the
// package through which it must come in. The test fails when the exception
// is no longer needed, so that it gets removed.
type exception struct {
	pkg, via, why string
}

var exceptions = map[string][]exception{
	// mautrix's end-to-end encryption store: cryptohelper opens its crypto
	// and state stores with dbutil's "sqlite3-fk-wal" dialect, which
	// go.mau.fi/util/dbutil/litestream registers on top of go-sqlite3 (in
	// every cgo build). The transport's own state file (state.go) uses the
	// same driver.
	module + "transport/matrix": {{
		pkg: "github.com/mattn/go-sqlite3",
		via: "go.mau.fi/util/dbutil/litestream",
		why: "mautrix cryptohelper's SQLite crypto store",
	}},
}

// TestTransportsBuildWithoutCore: the network packages depend on the
// contract (this package) and chat, not on the core, the SQLite driver or
// Prometheus.
func TestTransportsBuildWithoutCore(t *testing.T) {
	for _, pkg := range []string{module + "transport/irc", module + "transport/matrix", module + "transport/console", module + "transport"} {
		t.Run(strings.TrimPrefix(pkg, module), func(t *testing.T) {
			deps := listDeps(t, pkg)
			allowed := map[string]exception{}
			for _, e := range exceptions[pkg] {
				allowed[e.pkg] = e
			}
			for _, f := range forbidden {
				for _, d := range deps {
					if !matches(d, f) {
						continue
					}
					e, ok := allowed[d]
					if !ok {
						t.Errorf("%s is built with %s; a transport may depend only on package transport, chat and config of ksecbot", pkg, d)
						continue
					}
					if !slices.Contains(deps, e.via) {
						t.Errorf("%s is built with %s, allowed only through %s (%s), which it no longer uses", pkg, d, e.via, e.why)
					}
				}
			}
			for _, e := range exceptions[pkg] {
				if !slices.Contains(deps, e.pkg) {
					t.Errorf("%s no longer needs %s: remove its exception", pkg, e.pkg)
				}
			}
		})
	}
}

// contract are the packages of ksecbot a network may be built with: the
// contract itself, the neutral message types, the configuration (whose
// Network and Section a network registers) and the shared backoff.
var contract = []string{"transport", "chat", "config", "internal/backoff"}

// TestNetworksDependOnlyOnTheContract: every network package under
// transport/ (found by go list, so a new one is checked too) is built
// with no package of ksecbot but the contract and its own.
func TestNetworksDependOnlyOnTheContract(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "goolm", module+"transport/...").Output()
	if err != nil {
		t.Fatalf("go list transport/...: %v", err)
	}
	var nets []string
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != module+"transport" {
			nets = append(nets, pkg)
		}
	}
	if len(nets) < 3 {
		t.Fatalf("go list found %d network packages under transport/ (%q), want irc, matrix, console at least", len(nets), nets)
	}
	for _, pkg := range nets {
		for _, d := range listDeps(t, pkg) {
			rel, ours := strings.CutPrefix(d, module)
			if ours && d != pkg && !slices.Contains(contract, rel) {
				t.Errorf("%s is built with %s; a network may depend only on %q of ksecbot", strings.TrimPrefix(pkg, module), rel, contract)
			}
		}
	}
}

// TestConfigImportsNoNetwork: package config is built with no other
// package of ksecbot, so it cannot know a network; the networks register
// their keys with it instead.
func TestConfigImportsNoNetwork(t *testing.T) {
	for _, d := range listDeps(t, module+"config") {
		if strings.HasPrefix(d, module) && d != module+"config" {
			t.Errorf("package config is built with %s", d)
		}
	}
}

// TestContractImportsNoCore checks that package transport itself imports
// nothing of ksecbot but chat and config.
func TestContractImportsNoCore(t *testing.T) {
	for _, d := range listDeps(t, module+"transport") {
		if strings.HasPrefix(d, module) && d != module+"chat" && d != module+"config" && d != module+"transport" {
			t.Errorf("package transport is built with %s", d)
		}
	}
}

func listDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-tags", "goolm", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, pkg) {
		t.Fatalf("go list -deps %s did not list the package itself: %q", pkg, out)
	}
	return deps
}

func matches(dep, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(dep, pattern)
	}
	return dep == pattern
}

// TestFourthTransportNeedsOnlyTheContract checks that the test-only network
// internal/memnet, which passes the conformance suite and registers its
// own configuration, is built from the contract alone: a new network
// needs nothing else of ksecbot.
func TestFourthTransportNeedsOnlyTheContract(t *testing.T) {
	for _, d := range listDeps(t, module+"internal/memnet") {
		if rel, ours := strings.CutPrefix(d, module); ours && rel != "internal/memnet" && !slices.Contains(contract, rel) {
			t.Errorf("internal/memnet is built with %s", d)
		}
	}
}
