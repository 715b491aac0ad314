// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import "sync"

// Wake carries the core's wake-ups between its parts: the watcher stored
// bugs (the announcer runs), the outbox grew (the deliverers and the
// auto-CC loop run). A wake-up that finds one pending is dropped: the
// woken loop reads everything there is. Safe for concurrent use.
type Wake struct {
	stored chan struct{} // the watcher stored bugs: run the announcer
	queued chan struct{} // the outbox grew: run auto-CC

	mu      sync.Mutex
	deliver map[string]chan struct{}   // per network: wake its deliverer
	back    map[string]map[string]bool // per network: channels it is in again (ChannelBack)
}

// NewWake returns the wake-ups of one core.
func NewWake() *Wake {
	return &Wake{stored: make(chan struct{}, 1), queued: make(chan struct{}, 1), deliver: map[string]chan struct{}{}}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Stored says the watcher stored bugs.
func (w *Wake) Stored() { signal(w.stored) }

// Queued says the outbox grew: every deliverer and the auto-CC loop look.
func (w *Wake) Queued() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.deliver {
		signal(c)
	}
	signal(w.queued)
}

// ChannelBack says a transport is in channel key of network again (it
// was let back in after a ban or a kick, or was invited): the network's
// deliverer forgets the channel's retry delay and looks at once, so the
// messages waiting for it do not wait out a delay grown while it was out.
func (w *Wake) ChannelBack(network, key string) {
	w.mu.Lock()
	if w.back == nil {
		w.back = map[string]map[string]bool{}
	}
	if w.back[network] == nil {
		w.back[network] = map[string]bool{}
	}
	w.back[network][key] = true
	c := w.deliver[network]
	w.mu.Unlock()
	if c != nil {
		signal(c)
	}
}

// takeBack returns and forgets the channels of network that ChannelBack
// named.
func (w *Wake) takeBack(network string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var keys []string
	for k := range w.back[network] {
		keys = append(keys, k)
	}
	delete(w.back, network)
	return keys
}

// deliverer returns the wake-up of the network's deliverer.
func (w *Wake) deliverer(network string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.deliver[network]
	if c == nil {
		c = make(chan struct{}, 1)
		w.deliver[network] = c
	}
	return c
}
