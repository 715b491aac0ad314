// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrBusy is returned by a scan that found the clone's git checkout
// changing (a git pull under way): the files seen may be half old, half
// new. Scan again in a moment.
var ErrBusy = errors.New("the clone is being updated (a git pull under way)")

// gitState identifies the clone's checkout: its index (rewritten by every
// checkout) and whether git holds the index lock. Without .git (not a git
// clone) it is empty and never busy.
func (s *Store) gitState() (state string, busy bool) {
	git := filepath.Join(s.root, ".git")
	if _, err := os.Stat(filepath.Join(git, "index.lock")); err == nil {
		return "", true
	}
	st, err := os.Stat(filepath.Join(git, "index"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		return err.Error(), false
	}
	return fmt.Sprintf("%d %d", st.ModTime().UnixNano(), st.Size()), false
}
