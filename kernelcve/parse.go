// SPDX-License-Identifier: GPL-3.0-or-later

// Reading a CVE JSON 5 record into a Record: the fields ksecbot reads,
// the affected[] version ranges, and the title.

package kernelcve

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The CVE JSON 5 fields ksecbot reads. encoding/json matches names without
// regard to case, so "cveId" also reads the older "cveID".
type cveJSON struct {
	CVEMetadata struct {
		CVEID string `json:"cveId"`
	} `json:"cveMetadata"`
	Containers struct {
		CNA struct {
			Title        string `json:"title"`
			Descriptions []struct {
				Lang  string `json:"lang"`
				Value string `json:"value"`
			} `json:"descriptions"`
			ProblemTypes []struct {
				Descriptions []struct {
					Description string `json:"description"`
				} `json:"descriptions"`
			} `json:"problemTypes"`
			Affected []struct {
				DefaultStatus string `json:"defaultStatus"`
				Versions      []struct {
					Version         string `json:"version"`
					LessThan        string `json:"lessThan"`
					LessThanOrEqual string `json:"lessThanOrEqual"`
					Status          string `json:"status"`
					VersionType     string `json:"versionType"`
				} `json:"versions"`
			} `json:"affected"`
		} `json:"cna"`
	} `json:"containers"`
}

// ErrNotCVE is returned for JSON that is not a CVE record.
var ErrNotCVE = errors.New("not a CVE record (no cveMetadata.cveId)")

var cveIDRe = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,7}$`)

// ValidID reports whether s looks like a CVE id ("CVE-2025-21638"); it
// accepts any case and is what Store.Lookup requires.
func ValidID(s string) bool { return cveIDRe.MatchString(strings.ToUpper(s)) }

// Parse reads one CVE JSON 5 record. It never panics; a record whose
// version items cannot be read is an error (its verdict is Unknown).
func Parse(data []byte) (*Record, error) {
	var j cveJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("CVE record: %w", err)
	}
	id := strings.ToUpper(strings.TrimSpace(j.CVEMetadata.CVEID))
	if !cveIDRe.MatchString(id) {
		return nil, ErrNotCVE
	}
	r := &Record{ID: id, Title: title(&j)}
	hasRange, hasAffectedDefault := false, false
	for ei, a := range j.Containers.CNA.Affected {
		e := entry{defaultStatus: Unaffected}
		switch a.DefaultStatus {
		case "affected":
			e.defaultStatus = Affected
			hasAffectedDefault = true
		case "unknown":
			// CVE JSON 5: the status of versions no item names is not
			// known. Such versions are unknown, never unaffected.
			e.defaultStatus = Unknown
			hasAffectedDefault = true
		case "unaffected", "":
		default:
			return nil, fmt.Errorf("%s: affected[%d]: unknown defaultStatus %q", id, ei, a.DefaultStatus)
		}
		for vi, v := range a.Versions {
			if v.VersionType == "git" {
				continue
			}
			st := Status(v.Status)
			if st != Affected && st != Unaffected {
				if v.Status == "unknown" {
					continue
				}
				return nil, fmt.Errorf("%s: affected[%d].versions[%d]: unknown status %q", id, ei, vi, v.Status)
			}
			from, err := ParseVersion(v.Version)
			if err != nil {
				return nil, fmt.Errorf("%s: affected[%d].versions[%d]: %w", id, ei, vi, err)
			}
			it := rangeItem{from: from, status: st}
			switch {
			case v.LessThan != "":
				it.kind = lessThan
				if it.to, err = ParseVersion(v.LessThan); err != nil {
					return nil, fmt.Errorf("%s: affected[%d].versions[%d]: lessThan: %w", id, ei, vi, err)
				}
			case v.LessThanOrEqual == "*":
				it.kind = leEverything
			case strings.HasSuffix(v.LessThanOrEqual, ".*"):
				it.kind = leBranch
				it.prefix = strings.TrimSuffix(v.LessThanOrEqual, ".*")
				if _, err := ParseVersion(it.prefix); err != nil {
					return nil, fmt.Errorf("%s: affected[%d].versions[%d]: lessThanOrEqual: %w", id, ei, vi, err)
				}
			case v.LessThanOrEqual != "":
				it.kind = leVersion
				if it.to, err = ParseVersion(v.LessThanOrEqual); err != nil {
					return nil, fmt.Errorf("%s: affected[%d].versions[%d]: lessThanOrEqual: %w", id, ei, vi, err)
				}
			default:
				it.kind = noBound
			}
			if it.kind != noBound {
				hasRange = true
			}
			e.items = append(e.items, it)
			r.collect(it, a.DefaultStatus == "affected")
		}
		r.entries = append(r.entries, e)
	}
	r.noData = !hasRange && !hasAffectedDefault
	sortUnique(&r.Introduced)
	sortUnique(&r.StableFixes)
	return r, nil
}

// collect records introductions and fixes from one item.
func (r *Record) collect(it rangeItem, affectedEntry bool) {
	switch {
	case it.kind == noBound && it.status == Affected && affectedEntry && !it.from.IsZero():
		r.Introduced = append(r.Introduced, it.from)
	case it.kind == leEverything && it.status == Unaffected:
		if !r.HasMainlineFix || Compare(it.from, r.MainlineFix) < 0 {
			r.MainlineFix, r.HasMainlineFix = it.from, true
		}
	case it.kind == leBranch && it.status == Unaffected:
		r.StableFixes = append(r.StableFixes, it.from)
	case it.kind == lessThan && it.status == Affected:
		// X.Y.Z lessThan X.Y.Z': fixed at X.Y.Z' on that branch.
		// 0 lessThan X.Y.Z: introduction unknown, fixed at X.Y.Z.
		// X.Y.Z lessThan X.(Y+1): no fix on that branch.
		if it.to.Stable() && (it.from.IsZero() || it.from.Branch() == it.to.Branch()) {
			r.StableFixes = append(r.StableFixes, it.to)
		}
	}
}

func sortUnique(vs *[]Version) {
	slices.SortFunc(*vs, Compare)
	*vs = slices.CompactFunc(*vs, func(a, b Version) bool { return Compare(a, b) == 0 })
}

// title is the record's title, else the fix subject from the
// description, else the problem type, else the description's first line.
func title(j *cveJSON) string {
	c := &j.Containers.CNA
	if t := strings.TrimSpace(c.Title); t != "" {
		return t
	}
	for _, d := range c.Descriptions {
		if _, rest, ok := strings.Cut(d.Value, "has been resolved:"); ok {
			for _, l := range strings.Split(rest, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					return l
				}
			}
		}
	}
	for _, p := range c.ProblemTypes {
		for _, d := range p.Descriptions {
			if t := strings.TrimSpace(d.Description); t != "" {
				return t
			}
		}
	}
	for _, d := range c.Descriptions {
		for _, l := range strings.Split(d.Value, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				return l
			}
		}
	}
	return ""
}
