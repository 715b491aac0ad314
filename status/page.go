// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/url"
	"strings"
)

//go:embed page.tmpl
var pageTemplate string

var pages = template.Must(template.New("page").Funcs(template.FuncMap{"dur": Duration}).Parse(pageTemplate))

// indexRows is how many open bugs of a tree the front page lists; the
// tree's own page lists up to MaxRows (Bugzilla's search has the rest).
const indexRows = 10

// view is what the templates read.
type view struct {
	Title    string
	Back     bool
	S        *Snapshot
	Summary  []summaryRow
	Sections []section
	Section  *section
	Missing  string
}

type summaryRow struct {
	Name, Href                string
	Unsupported               bool
	Open, Unclaimed, NotCC    int
	Announce, Claim, Exposure string
}

type section struct {
	ID, Name, Href string
	Open           int
	More           bool
	Bugs           bugTable
	Plots          []plot
	Exposure       *Exposure
}

type bugTable struct {
	Caption string
	Rows    []Bug
}

type plot struct {
	SVG     template.HTML
	Caption string
	Weeks   []Week
}

// TreeHref is the path of a tree's page.
func TreeHref(name string) string { return "/tree/" + url.PathEscape(name) }

func newSection(t *Tree, i int, limit int) section {
	sec := section{ID: fmt.Sprintf("tree-%d", i), Name: t.Name, Href: TreeHref(t.Name), Open: t.NOpen, Exposure: t.Exposure}
	rows := t.Open
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	sec.More = len(rows) < t.NOpen
	sec.Bugs = bugTable{Rows: rows, Caption: fmt.Sprintf("Open bugs that concern %s: %d, %d unclaimed, %d without %s in CC.", t.Name, t.NOpen, t.Unclaimed, t.NotCC, t.Name)}
	if sec.More {
		sec.Bugs.Caption += fmt.Sprintf(" The %d oldest are shown.", len(rows))
	}
	for j, s := range t.Reaction {
		cap := fmt.Sprintf("%s: median %s, 90th percentile %s over %d bugs", s.Label, Duration(s.Median), Duration(s.P90), s.N)
		if s.N == 0 {
			cap = s.Label + ": no bug measured"
		}
		sec.Plots = append(sec.Plots, plot{SVG: Plot(s, t.Name, fmt.Sprintf("p%d-%d", i, j)), Caption: cap, Weeks: s.Weeks})
	}
	return sec
}

// RenderIndex renders the front page: health, every tree's open bugs and
// reaction times, the restricted bugs by number.
func RenderIndex(s *Snapshot, title string) ([]byte, error) {
	v := view{Title: title, S: s}
	for i := range s.Trees {
		t := &s.Trees[i]
		row := summaryRow{Name: t.Name, Href: TreeHref(t.Name), Unsupported: t.Unsupported, Open: t.NOpen, Unclaimed: t.Unclaimed, NotCC: t.NotCC,
			Announce: "–", Claim: "–", Exposure: "–"}
		for _, r := range t.Reaction {
			if r.N == 0 {
				continue
			}
			switch r.Action {
			case "announced":
				row.Announce = Duration(r.Median)
			case "claimed":
				row.Claim = Duration(r.Median)
			}
		}
		if e := t.Exposure; e != nil && e.Version != "" {
			row.Exposure = fmt.Sprint(e.Affected)
		}
		v.Summary = append(v.Summary, row)
		v.Sections = append(v.Sections, newSection(t, i, indexRows))
	}
	return execute("index", v)
}

// RenderTree renders the page of the tree named name (case-insensitive);
// found is false when there is no such tree (the page then says so).
func RenderTree(s *Snapshot, title, name string) (page []byte, found bool, err error) {
	for i := range s.Trees {
		t := &s.Trees[i]
		if strings.EqualFold(t.Name, name) {
			sec := newSection(t, i, MaxRows)
			page, err := execute("tree", view{Title: title + ": " + t.Name, Back: true, S: s, Section: &sec})
			return page, true, err
		}
	}
	page, err = execute("notfound", view{Title: title, Back: true, S: s, Missing: name})
	return page, false, err
}

func execute(name string, v view) ([]byte, error) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, v); err != nil {
		return nil, fmt.Errorf("status page %s: %w", name, err)
	}
	return b.Bytes(), nil
}
