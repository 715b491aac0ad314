// SPDX-License-Identifier: GPL-3.0-or-later

//go:build unix

package config

import "syscall"

// access reports whether this process may read and write the file, or
// (dir) create files in the folder, at path, as access(2) decides for
// the real user, without opening it.
func access(path string, dir bool) error {
	mode := uint32(4 | 2) // R_OK | W_OK
	if dir {
		mode = 2 | 1 // W_OK | X_OK
	}
	return syscall.Access(path, mode)
}
