// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// PauseBaseline makes the watch store a baseline n records per
// transaction and call f after each: a test holds a baseline half way
// to see what is said meanwhile. Call it before the bot runs.
func (w *CVEWatch) PauseBaseline(n int, f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chunk, w.chunkEnd = n, f
}
