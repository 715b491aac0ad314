package main

import (
	"errors"
	"io"
)

// generateTrees prints [[tree]] entries for the kernel trees of a Gentoo
// repository checkout (SPEC F16).
func generateTrees(repo string, w io.Writer) error {
	return errors.New("trees: not built yet")
}
