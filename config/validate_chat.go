// SPDX-License-Identifier: GPL-3.0-or-later

// Checks of the chat networks: [irc] (server, nick, SASL, TLS, channels,
// flood, admins) and [matrix] (homeserver, user ID, login, rooms, admins).

package config

import (
	"fmt"
	"regexp"
	"strings"
)

func (v *validator) irc(i *IRC) {
	if i.Server == "" {
		v.add("irc.server", `is required (e.g. "irc.libera.chat:6697")`)
	} else {
		v.hostPort("irc.server", i.Server, false)
	}
	if i.Nick == "" {
		v.add("irc.nick", "is required")
	} else if !validNick(i.Nick) {
		v.add("irc.nick", "%q is not a valid IRC nick", i.Nick)
	}
	if strings.ContainsAny(i.User, " @\r\n\x00") {
		v.add("irc.user", "%q is not a valid IRC user name", i.User)
	}
	switch i.SASLMech {
	case "PLAIN":
		hasPass := i.SASLPasswordFile != "" || i.SASLPasswordEnv != ""
		if i.SASLUser != "" && !hasPass {
			v.add("irc.sasl_user", "needs sasl_password_file or sasl_password_env")
		}
	case "EXTERNAL":
		if i.TLSCertFile == "" {
			v.add("irc.tls_cert_file", "is required by sasl_mech = \"EXTERNAL\"")
		}
		if !i.TLS {
			v.add("irc.tls", "must be true for sasl_mech = \"EXTERNAL\"")
		}
	default:
		v.add("irc.sasl_mech", "must be PLAIN or EXTERNAL; got %q", i.SASLMech)
	}
	v.secretSource("irc.sasl_password", i.SASLPasswordFile, i.SASLPasswordEnv)
	if (i.TLSCertFile == "") != (i.TLSKeyFile == "") {
		v.add("irc.tls_key_file", "tls_cert_file and tls_key_file go together")
	}
	seen := map[string]int{}
	for k, ch := range i.Channels {
		key := nth("irc.channel", k, "name")
		switch {
		case ch.Name == "":
			v.add(key, "is required (e.g. \"#gentoo-kernel\")")
		case ch.Name[0] != '#' && ch.Name[0] != '&':
			v.add(key, "%q must start with # or &", ch.Name)
		case strings.ContainsAny(ch.Name, " ,:\a\x00\r\n") || len(ch.Name) < 2:
			v.add(key, "%q is not a valid channel name", ch.Name)
		default:
			fold := strings.ToLower(ch.Name)
			if prev, dup := seen[fold]; dup {
				v.add(key, "%q is already listed as irc.channel[%d]", ch.Name, prev+1)
			} else {
				seen[fold] = k
			}
		}
		if ch.Key != "" && ch.KeyFile != "" {
			v.add(nth("irc.channel", k, "key_file"), "set key or key_file, not both")
		}
		if strings.ContainsAny(ch.Key, " ,\r\n\x00") {
			v.add(nth("irc.channel", k, "key"), "must not contain spaces, commas or control characters")
		}
	}
	if !i.Flood.Disabled {
		if i.Flood.Burst < 1 {
			v.add("irc.flood.burst", "must be at least 1; got %d", i.Flood.Burst)
		}
		v.positive("irc.flood.interval", i.Flood.Interval)
	}
	v.positive("irc.reconnect_max", i.ReconnectMax)
	for k, a := range i.Admins {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " ,*?!@\r\n\x00") {
			v.add(fmt.Sprintf("irc.admins[%d]", k+1), "%q is not a services account name", a)
		}
	}
}

func validNick(n string) bool {
	if n == "" || strings.ContainsAny(n, nickBadRune) || n[0] == '$' || n[0] == '-' || (n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func (v *validator) matrix(m *Matrix) {
	if m.Homeserver == "" {
		v.add("matrix.homeserver", `is required (e.g. "https://matrix.org")`)
	} else {
		v.httpURL("matrix.homeserver", m.Homeserver)
	}
	if m.UserID == "" {
		v.add("matrix.user_id", `is required (e.g. "@ksecbot:example.org")`)
	} else if !mxidRE.MatchString(m.UserID) {
		v.add("matrix.user_id", "%q is not a Matrix user ID like @name:server", m.UserID)
	}
	// An access token logs in; a password logs in when there is no
	// token, and otherwise only answers the homeserver's password check
	// when the bot sets up cross-signing (README "Matrix device trust").
	if m.AccessTokenFile == "" && m.AccessTokenEnv == "" && m.PasswordFile == "" && m.PasswordEnv == "" {
		v.add("matrix", "set one of access_token_file, access_token_env, password_file, password_env; none is set")
	}
	if m.AccessTokenFile != "" && m.AccessTokenEnv != "" {
		v.add("matrix.access_token_env", "set one of access_token_file and access_token_env, not both")
	}
	if m.PasswordFile != "" && m.PasswordEnv != "" {
		v.add("matrix.password_env", "set one of password_file and password_env, not both")
	}
	v.secretSource("matrix.access_token", m.AccessTokenFile, m.AccessTokenEnv)
	v.secretSource("matrix.password", m.PasswordFile, m.PasswordEnv)
	seen := map[string]int{}
	for k, r := range m.Rooms {
		key := nth("matrix.room", k, "id")
		switch {
		case r.ID == "":
			v.add(key, `is required (e.g. "#gentoo-kernel:matrix.org" or "!abc:matrix.org")`)
		case !roomRE.MatchString(r.ID):
			v.add(key, "%q is not a room ID (!id:server) or alias (#name:server)", r.ID)
		default:
			if prev, dup := seen[r.ID]; dup {
				v.add(key, "%q is already listed as matrix.room[%d]", r.ID, prev+1)
			} else {
				seen[r.ID] = k
			}
		}
	}
	for k, a := range m.Admins {
		if !mxidRE.MatchString(a) {
			v.add(fmt.Sprintf("matrix.admins[%d]", k+1), "%q is not a Matrix user ID like @name:server", a)
		}
	}
	switch m.ShareKeys {
	case ShareKeysCrossSigned, ShareKeysAll:
	default:
		v.add("matrix.share_keys", "%q is not %q (private rooms' keys only to devices their owners cross-signed) or %q", m.ShareKeys, ShareKeysCrossSigned, ShareKeysAll)
	}
	if len(m.DisplayName) > 256 || !printable(m.DisplayName) {
		v.add("matrix.display_name", "must be at most 256 bytes of printable text")
	}
	switch {
	case m.Avatar == "":
	case strings.HasPrefix(m.Avatar, "mxc://"):
		if !mxcRE.MatchString(m.Avatar) {
			v.add("matrix.avatar", "%q is not an mxc://server/media-id URL", m.Avatar)
		}
	case strings.Contains(m.Avatar, "://"):
		v.add("matrix.avatar", "%q: give an mxc:// URL or the path of an image file (uploaded once), not a web URL", m.Avatar)
	}
}

var mxcRE = regexp.MustCompile(`^mxc://[^/\s]+/[A-Za-z0-9_-]+$`)

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}
