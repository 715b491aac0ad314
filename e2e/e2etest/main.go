// SPDX-License-Identifier: GPL-3.0-or-later

package e2etest

import (
	"fmt"
	"os"
	"testing"
)

// RunMain is a suite's TestMain body: it builds ksecbot into a temporary
// directory, sets *bin to its path and runs the tests, returning the exit
// code. When need is false (the suite's servers are not configured) and
// CI is not "true", every test would skip, so it runs them unbuilt. Use:
// os.Exit(e2etest.RunMain(m, "e2e/matrix", ok, &bin)).
func RunMain(m *testing.M, suite string, need bool, bin *string) int {
	if !need && os.Getenv("CI") != "true" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ksecbot-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 1
	}
	return m.Run()
}
