// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"io"

	"github.com/ksecbot/ksecbot/treegen"
)

// generateTrees prints [[tree]] entries for the kernel trees of a Gentoo
// repository checkout (`ksecbot trees --repo`).
func generateTrees(repo string, w io.Writer) error {
	entries, err := treegen.Scan(repo)
	if err != nil {
		return fmt.Errorf("trees --repo %s: %w", repo, err)
	}
	return treegen.Write(w, entries, netConfigs()...)
}
