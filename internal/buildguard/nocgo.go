// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !cgo

package buildguard

// Without cgo go-sqlite3 compiles to a stub and the daemon would die at
// start: the compiler stops here with "undefined:
// ksecbot_must_be_built_with_cgo". Fix: install gcc and build with
// CGO_ENABLED=1 (the default when gcc is found).
var _ = ksecbot_must_be_built_with_cgo__install_gcc_and_set_CGO_ENABLED_1
