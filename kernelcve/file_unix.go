// SPDX-License-Identifier: GPL-3.0-or-later

//go:build unix

package kernelcve

import "syscall"

// openNoBlock makes open(2) return at once on a FIFO.
const openNoBlock = syscall.O_NONBLOCK
