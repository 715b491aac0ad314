// SPDX-License-Identifier: GPL-3.0-or-later

// Package buildguard makes a build with the wrong settings fail at compile
// time with an error that names the fix, instead of failing later in a C
// header (olm/olm.h, without the goolm tag) or at run time (the go-sqlite3
// stub, with CGO_ENABLED=0). cmd/ksecbot imports it for that side effect
// only. Build ksecbot with cgo on (gcc installed) and the goolm tag:
//
//	go build -tags goolm ./cmd/ksecbot
package buildguard
