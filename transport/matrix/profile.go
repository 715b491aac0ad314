// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// maxAvatarSize bounds an avatar file; homeservers commonly refuse more.
const maxAvatarSize = 4 << 20

// setProfile gives the account the configured display name and avatar
// ([matrix] display_name, avatar) when they differ from what it has. A
// failure is logged and the bot goes on: a profile is not worth not
// announcing.
func (t *Transport) setProfile(ctx context.Context, cli *mautrix.Client, st *state) {
	if name := t.cfg.DisplayName; name != "" {
		cur, err := cli.GetOwnDisplayName(ctx)
		switch {
		case err == nil && cur.DisplayName == name:
		case err != nil && !isNotFound(err):
			t.log.Warn("failed to read the bot's display name", "err", err)
		default:
			if err := cli.SetDisplayName(ctx, name); err != nil {
				t.log.Warn("failed to set the bot's display name", "display_name", name, "err", err)
			} else {
				t.log.Info("display name set", "display_name", name)
			}
		}
	}
	if t.cfg.Avatar == "" {
		return
	}
	uri, err := t.avatarURI(ctx, cli, st)
	if err != nil {
		t.log.Warn("failed to use the configured avatar", "avatar", t.cfg.Avatar, "err", err)
		return
	}
	cur, err := cli.GetOwnAvatarURL(ctx)
	if err != nil && !isNotFound(err) {
		t.log.Warn("failed to read the bot's avatar", "err", err)
		return
	}
	if cur == uri {
		return
	}
	if err := cli.SetAvatarURL(ctx, uri); err != nil {
		t.log.Warn("failed to set the bot's avatar", "avatar", uri, "err", err)
		return
	}
	t.log.Info("avatar set", "avatar", uri)
}

// avatarURI returns the configured avatar as an mxc:// URI: as written,
// or the file uploaded (once per content: the URI of each file's SHA-256
// is kept in the state).
func (t *Transport) avatarURI(ctx context.Context, cli *mautrix.Client, st *state) (id.ContentURI, error) {
	a := t.cfg.Avatar
	if strings.HasPrefix(a, "mxc://") {
		return id.ParseContentURI(a)
	}
	f, err := os.Open(a)
	if err != nil {
		return id.ContentURI{}, fmt.Errorf("failed to open the avatar file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAvatarSize+1))
	if err != nil {
		return id.ContentURI{}, fmt.Errorf("failed to read the avatar file: %w", err)
	}
	if len(data) > maxAvatarSize {
		return id.ContentURI{}, fmt.Errorf("the avatar file is larger than %d MiB", maxAvatarSize>>20)
	}
	ctype := http.DetectContentType(data)
	if !strings.HasPrefix(ctype, "image/") {
		return id.ContentURI{}, fmt.Errorf("the avatar file is %s, not an image", ctype)
	}
	sum := sha256.Sum256(data)
	key := "avatar/" + hex.EncodeToString(sum[:])
	if v, err := st.get(ctx, key); err != nil {
		return id.ContentURI{}, err
	} else if v != "" {
		return id.ParseContentURI(v)
	}
	resp, err := cli.UploadBytes(ctx, data, ctype)
	if err != nil {
		return id.ContentURI{}, fmt.Errorf("failed to upload the avatar: %w", err)
	}
	if err := st.set(ctx, key, resp.ContentURI.String()); err != nil {
		t.log.Warn("failed to remember the uploaded avatar", "err", err)
	}
	t.log.Info("avatar uploaded", "file", a, "avatar", resp.ContentURI.String())
	return resp.ContentURI, nil
}

// isNotFound reports an M_NOT_FOUND answer (a profile without the field).
func isNotFound(err error) bool { return errors.Is(err, mautrix.MNotFound) }
