// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
	"github.com/ksecbot/ksecbot/transport"
)

// TestDeviceID checks that [matrix] device_id does what the sample says,
// on the real homeserver: a password login uses that device ID, and an
// access token of another device is refused at start with a message
// naming both.
func TestDeviceID(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u := srv.NewUser(ctx, t, "devbot")
	want := id.DeviceID(mxtest.RandName("KSECBOTDEV"))
	tr, err := New(&Config{Homeserver: srv.URL, UserID: string(u.ID), Password: config.Secret(u.Password), DeviceID: string(want)},
		Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	waitFor(t, "the transport to connect", 20*time.Second, tr.Connected)
	r.stop()
	admin := srv.Login(ctx, t, u)
	devs, err := admin.GetDevicesInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs.Devices {
		found = found || d.DeviceID == want
	}
	if !found {
		t.Errorf("the password login did not use device_id %s; the account's devices: %+v", want, devs.Devices)
	}

	// An access token of the test's own device, with device_id naming
	// another: refused for good at start.
	other, err := New(&Config{Homeserver: srv.URL, UserID: string(u.ID), AccessToken: config.Secret(admin.AccessToken), DeviceID: "NOTTHISDEVICE"},
		Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r2 := start(t, other)
	select {
	case err := <-r2.done:
		stopOnce.Store(r2, true)
		if !errors.Is(err, transport.ErrPermanent) || !strings.Contains(err.Error(), "not matrix.device_id NOTTHISDEVICE") || !strings.Contains(err.Error(), string(admin.DeviceID)) {
			t.Errorf("Run with a token of device %s and device_id NOTTHISDEVICE = %v, want a permanent error naming both", admin.DeviceID, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the transport kept running with an access token of another device")
	}
}
