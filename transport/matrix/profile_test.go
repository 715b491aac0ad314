// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestProfile checks [matrix] display_name and avatar on the real
// homeserver: another user sees the configured name and the uploaded
// image, and a restart with the same file keeps the same mxc:// URI (the
// file is uploaded once, not at every start).
func TestProfile(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "profbot")
	other := srv.Login(ctx, t, srv.NewUser(ctx, t, "viewer"))

	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(3, 3, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	avatar := filepath.Join(t.TempDir(), "avatar.png")
	if err := os.WriteFile(avatar, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := &Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		DisplayName: "ksecbot (test)", Avatar: avatar}
	run := func() {
		tr, err := New(cfg, Options{Logger: testLogger(t), StateDir: stateDir, Version: "test", RetryMax: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, tr)
		waitFor(t, "the transport to connect", 20*time.Second, tr.Connected)
		r.stop()
	}
	run()
	name, err := other.GetDisplayName(ctx, bot.ID)
	if err != nil || name.DisplayName != "ksecbot (test)" {
		t.Fatalf("display name seen by another user = %+v, %v; want %q", name, err, "ksecbot (test)")
	}
	uri, err := other.GetAvatarURL(ctx, bot.ID)
	if err != nil || uri.IsEmpty() {
		t.Fatalf("avatar seen by another user = %v, %v", uri, err)
	}
	got, err := other.DownloadBytes(ctx, uri)
	if err != nil || !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("the avatar %s holds %d bytes (err %v), want the file's %d", uri, len(got), err, buf.Len())
	}

	run()
	again, err := other.GetAvatarURL(ctx, bot.ID)
	if err != nil || again != uri {
		t.Errorf("after a restart the avatar is %v (err %v), want the same %v: the file was uploaded again", again, err, uri)
	}
}
