// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// partReason is the PART message for a channel removed from the
// configuration.
const partReason = "channel removed from ksecbot's configuration"

var _ transport.ChannelReloader = (*Transport)(nil)

// ReloadChannels implements transport.ChannelReloader: it joins the channels
// the new [irc] section adds (with their keys), parts the ones it removes and takes the
// new private, notice and previews flags of the others, without
// reconnecting. Channel names are compared under the server's casemapping.
// Channels returns the new list at once, and a later reconnect joins it.
// needRestart reports that another [irc] setting (server, nick, SASL,
// flood…) differs from the running one; those keep their old values. An
// invalid channel list is an error and changes nothing. A nil section is
// ignored (the core reports the removed table). Safe for concurrent use
// with Run and Send.
func (t *Transport) ReloadChannels(sec config.Section) (needRestart bool, err error) {
	cfg, _ := sec.(*Config)
	if cfg == nil {
		return false, nil
	}
	t.mu.Lock()
	chanCfg, channels, err := buildChannels(cfg.Channels, t.casemap)
	if err != nil {
		t.mu.Unlock()
		return false, err
	}
	was := map[string]bool{}
	for _, c := range t.chanCfg {
		was[Fold(t.casemap, c.Name)] = true
	}
	now := map[string]bool{}
	var join []Channel
	for _, c := range chanCfg {
		f := Fold(t.casemap, c.Name)
		now[f] = true
		if !was[f] {
			join = append(join, c)
		}
	}
	var part []string
	for _, c := range t.chanCfg {
		if f := Fold(t.casemap, c.Name); !now[f] {
			part = append(part, c.Name)
			delete(t.kicks, f)
		}
	}
	t.chanCfg, t.channels = chanCfg, channels
	// The SASL password applies from the next connection: a network
	// stopped by a refused password is retried on SIGHUP with the fixed one.
	t.saslSecret = cfg.SASLPassword
	// While disconnected nothing is sent: the next connection joins the
	// new list. Lines queued for this connection are dropped if it ends
	// before they are written, and the next one joins the new list too.
	connected, gen := t.conn != nil, t.gen
	t.mu.Unlock()

	if connected {
		for _, name := range part {
			t.enqueueControl(gen, "PART", name, partReason)
		}
		for _, c := range join {
			t.join(gen, c)
		}
	}
	joined := make([]string, len(join))
	for i, c := range join {
		joined[i] = c.Name
	}
	t.log.Info("channels reloaded", "channels", len(channels), "join", joined, "part", part, "connected", connected)
	return !sameExceptChannels(t.cfg, cfg), nil
}

// sameExceptChannels reports whether a and b differ in nothing but their
// channels and the SASL password (which the next connection uses).
func sameExceptChannels(a, b *Config) bool {
	x, y := *a, *b
	x.Channels, y.Channels = nil, nil
	x.SASLPassword, y.SASLPassword = "", ""
	x.SASLPasswordFile, y.SASLPasswordFile = "", ""
	return reflect.DeepEqual(x, y)
}

// buildChannels checks the [[irc.channel]] entries and returns them with
// their chat.Channel, in order. Names that fold to the same one under
// casemap are an error.
func buildChannels(cfgs []Channel, casemap string) ([]Channel, []chat.Channel, error) {
	var (
		chanCfg  []Channel
		channels []chat.Channel
		seen     = map[string]bool{}
	)
	for _, c := range cfgs {
		if c.Name == "" || strings.ContainsAny(c.Name, " ,\x07\r\n\x00") {
			return nil, nil, fmt.Errorf("irc: invalid channel name %q", c.Name)
		}
		f := Fold(casemap, c.Name)
		if seen[f] {
			return nil, nil, fmt.Errorf("irc: channel %q is listed twice", c.Name)
		}
		seen[f] = true
		chanCfg = append(chanCfg, c)
		channels = append(channels, chat.Channel{
			Key:      chat.ChannelKey(Name, c.Name),
			Network:  Name,
			Name:     c.Name,
			Private:  c.Private,
			Previews: c.Previews == nil || *c.Previews,
			Notice:   c.Notice,
			CVEFeed:  c.CVEFeed,
			Terse:    true,
		})
	}
	return chanCfg, channels, nil
}
