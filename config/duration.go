// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// UnmarshalText parses a Go duration ("90s", "1h30m") or a duration in days
// or weeks ("3d", "2w", "1w2d12h"). Negative durations are rejected.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in Go syntax ("1h30m0s").
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// ParseDuration parses what Duration accepts: Go durations plus the units
// "d" (24h) and "w" (7d). It rejects negative values.
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid duration %q: %s; write a number and a unit such as \"90s\", \"15m\", \"4h\", \"3d\" or \"2w\"", s, why)
	}
	if s == "" {
		return 0, bad("empty")
	}
	if strings.HasPrefix(s, "-") {
		return 0, bad("negative")
	}
	if v, err := time.ParseDuration(s); err == nil {
		return v, nil
	}
	rest := strings.TrimPrefix(s, "+")
	if rest == "" {
		return 0, bad("missing number")
	}
	var total time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] == '.' || (rest[i] >= '0' && rest[i] <= '9')) {
			i++
		}
		if i == 0 {
			return 0, bad("missing number")
		}
		num := rest[:i]
		rest = rest[i:]
		j := 0
		for j < len(rest) && rest[j] != '.' && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		var part time.Duration
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, bad("bad number " + strconv.Quote(num))
			}
			scale := 24 * time.Hour
			if unit == "w" {
				scale *= 7
			}
			x := f * float64(scale)
			if x >= math.MaxInt64 || math.IsNaN(x) {
				return 0, bad("too large")
			}
			part = time.Duration(x)
		case "":
			return 0, bad("missing unit")
		default:
			v, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, bad("unknown unit " + strconv.Quote(unit))
			}
			part = v
		}
		if total > math.MaxInt64-part {
			return 0, bad("too large")
		}
		total += part
	}
	return total, nil
}
