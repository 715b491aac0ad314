// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !goolm

package buildguard

// Without the goolm tag mautrix uses libolm through cgo, which ksecbot does
// not support. The import below names the fix and fails while go loads
// packages, before anything is compiled. Fix: go build -tags goolm.
import _ "ksecbot_must_be_built_with_tags_goolm__run_go_build_tags_goolm"
