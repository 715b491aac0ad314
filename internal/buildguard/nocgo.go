// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !cgo

package buildguard

// Without cgo go-sqlite3 compiles to a stub and the daemon would die at
// start, and mautrix's crypto finds no olm implementation. The import
// below names the fix and fails while go loads packages, before anything
// is compiled, so the build stops at once. Fix: install gcc and build with
// CGO_ENABLED=1 (the default when gcc is found) and -tags goolm.
import _ "ksecbot_must_be_built_with_cgo__install_gcc_and_set_CGO_ENABLED_1"
