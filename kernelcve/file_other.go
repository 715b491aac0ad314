// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !unix

package kernelcve

// openNoBlock: elsewhere regularFile's check alone keeps FIFOs out.
const openNoBlock = 0
