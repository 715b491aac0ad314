// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3" // SQLite driver for the state file
	"maunium.net/go/mautrix/id"
)

// state is the transport's own SQLite file: the session (access token and
// device ID, so restarts reuse the device and the transaction scope), the
// sync token and filter, and the keys of messages the homeserver accepted.
// The crypto state lives in a separate file managed by mautrix.
type state struct {
	db *sql.DB
}

const stateSchema = `
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sent (
	key TEXT PRIMARY KEY,
	room_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	sent_at INTEGER NOT NULL
);`

func openState(path string) (*state, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the state directory: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("failed to open matrix state %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(stateSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("failed to create matrix state schema: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("failed to protect matrix state: %w", err)
	}
	return &state{db: db}, nil
}

func (s *state) Close() error { return s.db.Close() }

func (s *state) get(ctx context.Context, k string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = ?`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read matrix state %q: %w", k, err)
	}
	return v, nil
}

func (s *state) set(ctx context.Context, k, v string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v)
	if err != nil {
		return fmt.Errorf("failed to write matrix state %q: %w", k, err)
	}
	return nil
}

// sentEvent returns the event ID recorded for an outgoing key, or "".
func (s *state) sentEvent(ctx context.Context, key string) (string, error) {
	var ev string
	err := s.db.QueryRowContext(ctx, `SELECT event_id FROM sent WHERE key = ?`, key).Scan(&ev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read sent message: %w", err)
	}
	return ev, nil
}

func (s *state) recordSent(ctx context.Context, key, room, ev string, at int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO sent (key, room_id, event_id, sent_at) VALUES (?, ?, ?, ?)`, key, room, ev, at)
	if err != nil {
		return fmt.Errorf("failed to record sent message: %w", err)
	}
	return nil
}

// SaveFilterID implements mautrix.SyncStore.
func (s *state) SaveFilterID(ctx context.Context, u id.UserID, filterID string) error {
	return s.set(ctx, "filter/"+string(u), filterID)
}

// LoadFilterID implements mautrix.SyncStore.
func (s *state) LoadFilterID(ctx context.Context, u id.UserID) (string, error) {
	return s.get(ctx, "filter/"+string(u))
}

// SaveNextBatch implements mautrix.SyncStore.
func (s *state) SaveNextBatch(ctx context.Context, u id.UserID, token string) error {
	return s.set(ctx, "next_batch/"+string(u), token)
}

// LoadNextBatch implements mautrix.SyncStore.
func (s *state) LoadNextBatch(ctx context.Context, u id.UserID) (string, error) {
	return s.get(ctx, "next_batch/"+string(u))
}
