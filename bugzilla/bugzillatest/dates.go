// SPDX-License-Identifier: GPL-3.0-or-later

// The dates a search accepts: absolute times in the layouts Bugzilla
// parses, and relative ones ("-1d", "2h").

package bugzillatest

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"20060102T15:04:05",
	"20060102T150405",
	"2006-01-02",
}

// parseTime parses the date formats Bugzilla accepts; times without a zone
// are server local time, which is UTC.
func parseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "now") {
		return now, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse %q: not a date", v)
}

var relRe = regexp.MustCompile(`^-?(\d+)([hdwmy])$`)

// parseRelTime also accepts relative dates like -1h, -2d, 1w.
func parseRelTime(v string, now time.Time) (time.Time, error) {
	if m := relRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(v))); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "h":
			return now.Add(-time.Duration(n) * time.Hour), nil
		case "d":
			return now.AddDate(0, 0, -n), nil
		case "w":
			return now.AddDate(0, 0, -7*n), nil
		case "m":
			return now.AddDate(0, -n, 0), nil
		default:
			return now.AddDate(-n, 0, 0), nil
		}
	}
	return parseTime(v, now)
}

func errBadDate(v string) *apiError {
	return errf(http.StatusBadRequest, 56, "'%s' is not a legal date.", v)
}
