// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// oraclePair is one line of a .dyad file: vuln_ver:vuln_sha:fix_ver:fix_sha.
type oraclePair struct {
	vuln, fix         Version
	vulnZero, fixZero bool
}

func readOraclePairs(t *testing.T, path string) []oraclePair {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []oraclePair
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, ":")
		if len(fs) != 4 {
			t.Fatalf("%s: bad dyad line %q", path, line)
		}
		var p oraclePair
		p.vulnZero = fs[0] == "0"
		p.fixZero = fs[2] == "0"
		if !p.vulnZero {
			p.vuln = MustVersion(fs[0])
		}
		if !p.fixZero {
			p.fix = MustVersion(fs[2])
		}
		out = append(out, p)
	}
	return out
}

// dyadAffected is the oracle, written from the .dyad semantics alone and
// independent of the JSON. A pair is vulnerable from vuln (0: since
// forever) up to, not including, fix (0: no fix). A version on branch B
// is decided by the pairs that belong to B (a stable fix on B, or a
// backport into B) when there are any. Otherwise by the pairs whose
// vulnerable side is a mainline release (or unknown): a pair with a
// mainline fix covers vuln up to that fix; a pair whose fix is a stable
// release of another branch covers vuln up to the first mainline fix
// above vuln (none: no end).
func dyadAffected(pairs []oraclePair, v Version) bool {
	br := v.Branch()
	var branch, mainline []oraclePair
	for _, p := range pairs {
		switch {
		case (!p.fixZero && p.fix.Stable() && p.fix.Branch() == br) ||
			(!p.vulnZero && p.vuln.Stable() && p.vuln.Branch() == br):
			branch = append(branch, p)
		case p.vulnZero || !p.vuln.Stable():
			mainline = append(mainline, p)
		}
	}
	in := func(p oraclePair, end *Version) bool {
		return (p.vulnZero || Compare(v, p.vuln) >= 0) && (end == nil || Compare(v, *end) < 0)
	}
	if len(branch) > 0 {
		for _, p := range branch {
			var end *Version
			if !p.fixZero {
				end = &p.fix
			}
			if in(p, end) {
				return true
			}
		}
		return false
	}
	for _, p := range mainline {
		var end *Version
		switch {
		case !p.fixZero && !p.fix.Stable():
			end = &p.fix
		default: // no fix, or a stable fix on another branch
			for _, q := range pairs {
				if !q.fixZero && !q.fix.Stable() && (p.vulnZero || Compare(q.fix, p.vuln) > 0) &&
					(end == nil || Compare(q.fix, *end) < 0) {
					f := q.fix
					end = &f
				}
			}
		}
		if in(p, end) {
			return true
		}
	}
	return false
}

// around returns versions on both sides of a boundary b: the boundary,
// the patch release before and after, the first and last rc before a
// mainline release and, for a mainline release, a late stable release of
// the branch before it.
func around(b Version) []Version {
	var out []Version
	add := func(s string) {
		if v, err := ParseVersion(s); err == nil {
			out = append(out, v)
		}
	}
	out = append(out, b)
	br := b.Branch()
	switch {
	case b.RC():
		add(br)
		if b.rc > 1 {
			add(br + "-rc" + itoa(b.rc-1))
		}
		add(br + "-rc" + itoa(b.rc+1))
	case b.Stable():
		last := b.parts[b.n-1]
		add(br + "." + itoa(last-1))
		add(br + "." + itoa(last+1))
		add(br + "." + itoa(last+40))
	default: // a mainline release X.Y
		add(br + "-rc1")
		add(br + "-rc7")
		add(br + ".1")
		add(br + ".250")
		if b.parts[0] >= 3 && b.parts[1] > 0 {
			add(itoa(b.parts[0]) + "." + itoa(b.parts[1]-1) + ".250")
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(max(n, 0)) }

// staleDyad are the records whose .dyad no longer describes the JSON:
// both are rejected, and the .dyad was regenerated for another commit
// while the JSON kept its last content. TestVerdictTable covers them.
var staleDyad = map[string]string{
	"CVE-2025-38030": "rejected; the .dyad holds only the revert (6.15 introduced and fixed in 6.15), the JSON the earlier ranges",
	"CVE-2026-45992": "rejected; the .dyad is for fix 0a7b5221 (7.1, stable fixes 5.10.258...), the JSON for 7.1-rc1 -> 7.1-rc2",
}

// jsonDisagrees are the records whose JSON contradicts their own .dyad
// (and announcement): IsAffected, which reads the JSON alone, differs from
// the .dyad for them; Judge settles them (TestJudgeAgainstDyad).
var jsonDisagrees = map[string]string{
	"CVE-2025-40039": "the JSON has nothing for 6.1; the .dyad: vulnerable since 6.1.71, no fix",
	"CVE-2023-53012": "the JSON has nothing for 5.15 and 6.1; the .dyad: vulnerable since 5.15.86 and 6.1.2, no fix",
	"CVE-2022-48833": "the JSON fixes 5.15 at 5.15.31; the .dyad also has 5.15.11 with no fix: 5.15.31 and later still vulnerable",
	"CVE-2023-52920": "three fixes on 6.6 (6.6.64, 6.6.70, 6.6.140): the JSON reads 6.6.65 as fixed, the .dyad as vulnerable",
}

// allRecords lists testdata/vulns/cve/*/*/*.json.
func allRecords(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/vulns/cve/*/*/CVE-*.json")
	if err != nil || len(files) != 46 {
		t.Fatalf("want the 46 records in testdata/vulns/cve, got %d (%v)", len(files), err)
	}
	sort.Strings(files)
	return files
}

// TestVerdictAgainstDyad checks IsAffected, read from the JSON, against
// the .dyad oracle on every record that has a .dyad file, at versions on
// both sides of every boundary the dyad names (introductions, stable
// fixes, mainline fixes, rc) and of the JSON's own range ends (gaps,
// backport ends).
func TestVerdictAgainstDyad(t *testing.T) {
	st := NewStore("testdata/vulns")
	checked := 0
	for _, path := range allRecords(t) {
		id := strings.TrimSuffix(filepath.Base(path), ".json")
		dyad := strings.TrimSuffix(path, ".json") + ".dyad"
		if _, err := os.Stat(dyad); err != nil {
			continue // CVE-2025-0927: a Vulnogram record, no dyad (tested below)
		}
		rec, err := st.Lookup(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if why, ok := staleDyad[id]; ok {
			t.Logf("%s: not checked against its .dyad: %s", id, why)
			continue
		}
		if why, ok := jsonDisagrees[id]; ok {
			t.Logf("%s: its JSON disagrees with its .dyad: %s", id, why)
			continue
		}
		pairs := readOraclePairs(t, dyad)
		for _, v := range probesOf(rec, pairs) {
			want := dyadAffected(pairs, v)
			if got := rec.IsAffected(v); got != want {
				t.Errorf("%s %s: affected=%v, the .dyad says %v", id, v, got, want)
			}
			checked++
		}
	}
	t.Logf("%d version probes checked against the .dyad files", checked)
}

// probesOf are versions on both sides of every boundary the .dyad names
// (introductions, stable fixes, mainline fixes, rc) and of the JSON's own
// range ends (gaps, backport ends), and a few far ones.
func probesOf(rec *Record, pairs []oraclePair) []Version {
	var probes []Version
	for _, p := range pairs {
		if !p.vulnZero {
			probes = append(probes, around(p.vuln)...)
		}
		if !p.fixZero {
			probes = append(probes, around(p.fix)...)
		}
	}
	for _, e := range rec.entries {
		for _, it := range e.items {
			if !it.from.IsZero() {
				probes = append(probes, around(it.from)...)
			}
			if it.kind == lessThan {
				probes = append(probes, around(it.to)...)
			}
		}
	}
	return append(probes, MustVersion("2.6.12"), MustVersion("4.19.300"), MustVersion("99.0"))
}

// TestDyadJudgeMatchesOracle: the production reading of the .dyad
// (Dyad.judge) against the oracle above, written separately, on every
// record with a .dyad, the inconsistent ones included.
func TestDyadJudgeMatchesOracle(t *testing.T) {
	st := NewStore("testdata/vulns")
	checked := 0
	for _, path := range allRecords(t) {
		id := strings.TrimSuffix(filepath.Base(path), ".json")
		dyadPath := strings.TrimSuffix(path, ".json") + ".dyad"
		if _, err := os.Stat(dyadPath); err != nil {
			continue
		}
		rec, err := st.Lookup(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !rec.HasDyad() {
			t.Fatalf("%s: Lookup did not read its .dyad", id)
		}
		pairs := readOraclePairs(t, dyadPath)
		for _, v := range probesOf(rec, pairs) {
			if got, want := rec.dyad.judge(v).affected, dyadAffected(pairs, v); got != want {
				t.Errorf("%s %s: the .dyad read as affected=%v, the oracle says %v", id, v, got, want)
			}
			checked++
		}
	}
	t.Logf("%d probes", checked)
}

// TestJudgeAgainstDyad: Judge, which cross-checks the JSON with the
// .dyad, never gives a confident verdict the .dyad contradicts. On the
// records whose files agree it is the JSON's plain verdict; on the ones
// that disagree it follows the .dyad where the JSON lacks the branch and
// says unknown, with a note, where both speak and differ.
func TestJudgeAgainstDyad(t *testing.T) {
	st := NewStore("testdata/vulns")
	unknowns := 0
	for _, path := range allRecords(t) {
		id := strings.TrimSuffix(filepath.Base(path), ".json")
		dyadPath := strings.TrimSuffix(path, ".json") + ".dyad"
		if _, err := os.Stat(dyadPath); err != nil {
			continue
		}
		rec, err := st.Lookup(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if _, stale := staleDyad[id]; stale || rec.Rejected {
			continue
		}
		pairs := readOraclePairs(t, dyadPath)
		_, inconsistent := jsonDisagrees[id]
		for _, v := range probesOf(rec, pairs) {
			j := rec.Judge(v)
			want := dyadAffected(pairs, v)
			switch {
			case j.Status == Unknown:
				unknowns++
				if !inconsistent {
					t.Errorf("%s %s: unknown (%s) on a record whose files agree", id, v, j.Note)
				}
				if j.Note == "" {
					t.Errorf("%s %s: unknown without a note saying why", id, v)
				}
			case (j.Status == Affected) != want:
				t.Errorf("%s %s: %s (%s), the .dyad says affected=%v", id, v, j.Status, j.Note, want)
			case !inconsistent && (j.Status == Affected) != rec.IsAffected(v):
				t.Errorf("%s %s: %s differs from the JSON's reading on a record whose files agree", id, v, j.Status)
			}
		}
	}
	if unknowns == 0 {
		t.Error("no version was unknown: the inconsistent records were not told apart")
	}
}

// TestJudgeExamples: the cases a maintainer reported, each read as the
// .dyad and the announcement say.
func TestJudgeExamples(t *testing.T) {
	st := NewStore("testdata/vulns")
	for _, c := range []struct {
		id, v string
		want  Status
		fix   string // "" : no fix for this version's branch
		note  string // a part of the note; "" : no note
	}{
		// The branch's own fix wins over the mainline one: 5.16.5 is not
		// "fixed (fix 5.2)", branch 5.16 is fixed only at 5.16.19.
		{"CVE-2021-47644", "5.16.5", Affected, "5.16.19", ""},
		{"CVE-2021-47644", "5.16.19", Fixed, "5.16.19", ""},
		{"CVE-2021-47644", "5.1.20", Affected, "", ""}, // no fix on 5.1
		{"CVE-2021-47644", "5.3", Fixed, "5.2", ""},
		// The JSON has nothing for 6.1; the .dyad says vulnerable since
		// 6.1.71 with no fix (rt-sources 6.1.112).
		{"CVE-2025-40039", "6.1.112", Affected, "", "from the .dyad: the JSON has nothing about 6.1"},
		{"CVE-2025-40039", "6.1.70", Unaffected, "", ""}, // both say so
		{"CVE-2025-40039", "5.15.150", Affected, "", ""},
		{"CVE-2025-40039", "6.6.122", Affected, "6.6.123", ""},
		{"CVE-2025-40039", "6.6.123", Fixed, "6.6.123", ""},
		// Three fixes on 6.6: before the first affected, between them
		// unknown, from the last fixed; the note names them.
		{"CVE-2023-52920", "6.6.63", Affected, "6.6.64", "several fixes on 6.6 (6.6.64, 6.6.70, 6.6.140)"},
		{"CVE-2023-52920", "6.6.65", Unknown, "6.6.140", "may be vulnerable again; certain from 6.6.140"},
		{"CVE-2023-52920", "6.6.139", Unknown, "6.6.140", "several fixes on 6.6"},
		{"CVE-2023-52920", "6.6.140", Fixed, "6.6.140", "several fixes on 6.6"},
		{"CVE-2023-52920", "6.12.9", Fixed, "6.8", ""},
		// Both files speak of 5.15 and disagree after 5.15.31: record
		// inconsistent, never a confident verdict.
		{"CVE-2022-48833", "5.15.48", Unknown, "", "record inconsistent on 5.15: the JSON says not affected, the .dyad affected"},
		{"CVE-2022-48833", "5.15.20", Affected, "5.15.31", ""},
		{"CVE-2022-48833", "5.15.5", Unaffected, "", ""},
		{"CVE-2022-48833", "5.16.10", Affected, "5.16.17", ""},
		{"CVE-2022-48833", "5.17.3", Fixed, "5.17", ""},
		// Stable-only bug; the JSON names only 6.0.
		{"CVE-2023-53012", "5.15.90", Affected, "", "from the .dyad: the JSON has nothing about 5.15"},
		{"CVE-2023-53012", "6.1.5", Affected, "", "from the .dyad"},
		{"CVE-2023-53012", "6.0.20", Affected, "", ""},
		{"CVE-2023-53012", "6.6.9", Unaffected, "", ""},
	} {
		rec, err := st.Lookup(c.id)
		if err != nil {
			t.Fatal(err)
		}
		j := rec.Judge(MustVersion(c.v))
		fix := ""
		if j.HasFix {
			fix = j.Fix.String()
		}
		if j.Status != c.want || fix != c.fix || (c.note == "") != (j.Note == "") || !strings.Contains(j.Note, c.note) {
			t.Errorf("%s %s: %s, fix %q, note %q; want %s, fix %q, note with %q", c.id, c.v, j.Status, fix, j.Note, c.want, c.fix, c.note)
		}
	}
}
