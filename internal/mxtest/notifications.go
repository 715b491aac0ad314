// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"encoding/json"
	"fmt"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Notification is one entry of a user's GET /notifications: an event that
// the homeserver's push rules decided to notify that user about, with the
// actions of the rule that matched.
//
// Dendrite v0.13.8 evaluates the push rules itself for every event in a
// room with local members and stores the result, so /notifications is what
// the user's clients and push gateway are told. It knows the legacy mention
// rules only (.m.rule.contains_display_name, .m.rule.contains_user_name:
// the body contains the display name or the localpart), not the
// m.mentions rules (.m.rule.is_user_mention), and .m.rule.suppress_notices
// comes first, so an m.notice never notifies.
type Notification struct {
	EventID id.EventID
	RoomID  id.RoomID
	// Highlight is the highlight tweak of the matched rule: the message
	// is shown as a mention and pings.
	Highlight bool
	// Actions are the matched rule's actions as the server sent them.
	Actions []json.RawMessage
	// Event is the notified event as the server sent it (not decrypted).
	Event *event.Event
}

// Notifications returns cli's user's latest notifications (up to 100),
// newest first, from GET /_matrix/client/v3/notifications. Test users are
// fresh, so one page is all of them.
func Notifications(ctx context.Context, cli *mautrix.Client) ([]Notification, error) {
	url := cli.BuildURLWithQuery(mautrix.ClientURLPath{"v3", "notifications"}, map[string]string{"limit": "100"})
	var resp struct {
		Notifications []struct {
			Actions []json.RawMessage `json:"actions"`
			Event   *event.Event      `json:"event"`
			RoomID  id.RoomID         `json:"room_id"`
		} `json:"notifications"`
	}
	if _, err := cli.MakeRequest(ctx, "GET", url, nil, &resp); err != nil {
		return nil, fmt.Errorf("failed to read the notifications of %s: %w", cli.UserID, err)
	}
	out := make([]Notification, 0, len(resp.Notifications))
	for _, n := range resp.Notifications {
		if n.Event == nil {
			continue
		}
		out = append(out, Notification{EventID: n.Event.ID, RoomID: n.RoomID, Highlight: highlightTweak(n.Actions), Actions: n.Actions, Event: n.Event})
	}
	return out, nil
}

// highlightTweak reports whether actions set the highlight tweak: a
// {"set_tweak": "highlight"} whose value is true or absent.
func highlightTweak(actions []json.RawMessage) bool {
	for _, raw := range actions {
		var a struct {
			SetTweak string          `json:"set_tweak"`
			Value    json.RawMessage `json:"value"`
		}
		if json.Unmarshal(raw, &a) != nil || a.SetTweak != "highlight" {
			continue
		}
		if len(a.Value) == 0 || string(a.Value) == "true" || string(a.Value) == "null" {
			return true
		}
	}
	return false
}

// FindNotification returns the notification about ev in list, or false.
func FindNotification(list []Notification, ev id.EventID) (Notification, bool) {
	for _, n := range list {
		if n.EventID == ev {
			return n, true
		}
	}
	return Notification{}, false
}

// Search asks the homeserver's full-text search (/search, room events)
// for term in room, as cli's user, and returns the IDs of the events it
// finds. The homeserver indexes only what it can read: unencrypted rooms.
func Search(ctx context.Context, cli *mautrix.Client, room id.RoomID, term string) ([]id.EventID, error) {
	url := cli.BuildClientURL("v3", "search")
	req := map[string]any{"search_categories": map[string]any{"room_events": map[string]any{
		"search_term": term,
		"filter":      map[string]any{"rooms": []id.RoomID{room}},
	}}}
	var resp struct {
		SearchCategories struct {
			RoomEvents struct {
				Results []struct {
					Result struct {
						ID id.EventID `json:"event_id"`
					} `json:"result"`
				} `json:"results"`
			} `json:"room_events"`
		} `json:"search_categories"`
	}
	if _, err := cli.MakeRequest(ctx, "POST", url, req, &resp); err != nil {
		return nil, fmt.Errorf("failed to search %s for %q: %w", room, term, err)
	}
	var out []id.EventID
	for _, r := range resp.SearchCategories.RoomEvents.Results {
		out = append(out, r.Result.ID)
	}
	return out, nil
}
