// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bot/console"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/coretest"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// The tests run the core as internal/coretest wires it; the daemon runs
// it as wire does. Both must build every part and run the same jobs, so
// that the tests test what runs.
func TestWiringMatchesCoretest(t *testing.T) {
	cfg, err := config.Parse([]byte(`
[bugzilla]
url = "http://127.0.0.1:1/"

[[watch]]
product = "Gentoo Security"
component = "Kernel"
`), "wire.toml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ksecbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: cfg.Bugzilla.URL})
	if err != nil {
		t.Fatal(err)
	}
	o := bot.Options{Config: cfg, Store: st, Bugzilla: bz, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Transports: []transport.Transport{console.New(console.Options{In: strings.NewReader(""), Out: io.Discard})}}
	daemon, err := wire(o)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := coretest.Wire(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*bot.Bot{daemon, tests} {
		v := reflect.ValueOf(b).Elem()
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.Kind() == reflect.Pointer && f.IsNil() {
				t.Errorf("bot.Bot.%s not wired", v.Type().Field(i).Name)
			}
		}
	}
	names := func(b *bot.Bot) []string {
		var out []string
		for _, l := range b.Loops() {
			out = append(out, l.Name)
		}
		for _, d := range b.Deliverers {
			out = append(out, d.Transport().Network()+" deliverer")
		}
		return out
	}
	if d, c := names(daemon), names(tests); !slices.Equal(d, c) {
		t.Errorf("the daemon runs %q, the tests' core %q", d, c)
	}
	if _, err := wire(bot.Options{Config: cfg}); err == nil {
		t.Error("wire without a store and a Bugzilla client: no error")
	}
}
