// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import "strings"

// SameLogin compares Bugzilla logins case-insensitively. Anonymous REST
// callers get bare login names ("kernel" for "kernel@gentoo.org") when the
// site filters e-mail addresses, so a login without a domain matches the
// same local part with one; two full addresses must be equal.
func SameLogin(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	la, _, fa := strings.Cut(a, "@")
	lb, _, fb := strings.Cut(b, "@")
	if fa && fb {
		return false
	}
	return la == lb
}

// LoginIn reports whether login is in list, by SameLogin.
func LoginIn(login string, list []string) bool {
	for _, l := range list {
		if SameLogin(l, login) {
			return true
		}
	}
	return false
}
