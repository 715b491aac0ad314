// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// TestFullRepository runs the .dyad cross-check over a complete clone of
// the vulns repository, named by KSECBOT_VULNS (skipped without it):
// Judge must never give a confident verdict that the record's own .dyad
// contradicts, and IsAffected (the JSON alone) is counted against the
// .dyad to show what the cross-check changes. E.g.
//
//	git clone https://git.kernel.org/pub/scm/linux/security/vulns.git /tmp/vulns
//	KSECBOT_VULNS=/tmp/vulns go test ./kernelcve -run TestFullRepository -v
func TestFullRepository(t *testing.T) {
	root := os.Getenv("KSECBOT_VULNS")
	if root == "" {
		t.Skip("KSECBOT_VULNS (a clone of the vulns repository) is not set")
	}
	st := NewStore(root)
	entries, err := st.Scan()
	if err != nil {
		t.Fatal(err)
	}
	var records, probes, jsonWrong, unknown, fromDyad, several, inconsistent, confidentWrong int
	examples := map[string][]string{}
	note := func(kind, s string) {
		if len(examples[kind]) < 5 {
			examples[kind] = append(examples[kind], s)
		}
	}
	for _, e := range entries {
		if e.Rejected || e.Err != nil || e.Stamp.DyadSize == 0 {
			continue
		}
		rec, err := st.Lookup(e.ID)
		if err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		pairs := readOraclePairs(t, DyadPath(e.Stamp.Path))
		records++
		for _, v := range probesOf(rec, pairs) {
			probes++
			want := dyadAffected(pairs, v)
			if rec.IsAffected(v) != want {
				jsonWrong++
			}
			j := rec.Judge(v)
			switch {
			case j.Status == Unknown:
				unknown++
				switch {
				case strings.Contains(j.Note, "several fixes"):
					several++
					note("several", e.ID+" "+v.String()+": "+j.Note)
				case strings.Contains(j.Note, "inconsistent"):
					inconsistent++
					note("inconsistent", e.ID+" "+v.String()+": "+j.Note)
				default:
					note("other unknown", e.ID+" "+v.String()+": "+j.Note)
				}
			case (j.Status == Affected) != want:
				confidentWrong++
				note("confident and wrong", e.ID+" "+v.String()+": "+string(j.Status)+" "+j.Note)
			}
			if strings.HasPrefix(j.Note, "from the .dyad") {
				fromDyad++
			}
		}
	}
	t.Logf("%d published records with a .dyad, %d version probes", records, probes)
	t.Logf("the JSON alone disagrees with the .dyad on %d probes (%.3f%%)", jsonWrong, 100*float64(jsonWrong)/float64(max(probes, 1)))
	t.Logf("Judge: %d unknown (%d between several fixes, %d record inconsistent), %d taken from the .dyad, %d confident and contradicted by the .dyad",
		unknown, several, inconsistent, fromDyad, confidentWrong)
	kinds := make([]string, 0, len(examples))
	for k := range examples {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		for _, s := range examples[k] {
			t.Logf("%s: %s", k, s)
		}
	}
	if confidentWrong > 0 {
		t.Errorf("%d confident verdicts contradict the record's own .dyad", confidentWrong)
	}
}
