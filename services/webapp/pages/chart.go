package pages

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

// Chart is a line chart of crashes per day, computed here and drawn as
// inline SVG by chart.html: every coordinate is a number, every label goes
// through the template's escaping.
type Chart struct {
	Width, Height int
	// Plot area.
	Left, Top, Right, Bottom int
	Series                   []Series
	XLabels, YLabels         []Label
	Empty                    bool
}

// Series is one line.
type Series struct {
	Name    string
	Color   string
	Points  string // "x,y x,y ..." for <polyline points>
	Total   int64
	LegendY int
}

// Label is an axis tick.
type Label struct {
	X, Y int
	Text string
}

// palette is colour-blind-safe (Okabe-Ito); "other" is grey.
func palette(i int) string {
	p := [...]string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}
	return p[i%len(p)]
}

// maxSeries bounds the lines of a chart; the rest is summed as "other".
const maxSeries = 7

// dailyChart builds a chart of days [from, to) from histogram buckets
// (Group = day "YYYY-MM-DD...", Term = series name), one line per term,
// the largest maxSeries terms kept and the rest summed into "other".
func dailyChart(buckets []clickhouse.Bucket, from, to time.Time) Chart {
	var days []string
	for d := from.UTC().Truncate(24 * time.Hour); d.Before(to) && len(days) < 400; d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006-01-02"))
	}
	dayIdx := make(map[string]int, len(days))
	for i, d := range days {
		dayIdx[d] = i
	}
	counts := map[string][]int64{}
	totals := map[string]int64{}
	for _, b := range buckets {
		d := b.Group
		if len(d) > 10 {
			d = d[:10]
		}
		i, ok := dayIdx[d]
		if !ok {
			continue
		}
		name := b.Term
		if name == "" {
			name = "(none)"
		}
		if counts[name] == nil {
			counts[name] = make([]int64, len(days))
		}
		counts[name][i] += b.Count
		totals[name] += b.Count
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > maxSeries {
		other := make([]int64, len(days))
		var total int64
		for _, n := range names[maxSeries:] {
			for i, c := range counts[n] {
				other[i] += c
			}
			total += totals[n]
		}
		names = append(names[:maxSeries], "other")
		counts["other"], totals["other"] = other, total
	}
	c := Chart{Width: 760, Height: 240, Left: 56, Top: 12, Right: 600, Bottom: 200}
	var max int64
	for _, n := range names {
		for _, v := range counts[n] {
			if v > max {
				max = v
			}
		}
	}
	if len(days) == 0 || max == 0 {
		c.Empty = true
		return c
	}
	top := niceCeil(max)
	w, h := c.Right-c.Left, c.Bottom-c.Top
	x := func(i int) int {
		if len(days) == 1 {
			return c.Left + w/2
		}
		return c.Left + i*w/(len(days)-1)
	}
	y := func(v int64) int { return c.Bottom - int(int64(h)*v/top) }
	for k, n := range names {
		var pts []string
		for i, v := range counts[n] {
			pts = append(pts, strconv.Itoa(x(i))+","+strconv.Itoa(y(v)))
		}
		col := palette(k)
		if n == "other" {
			col = "#999999"
		}
		c.Series = append(c.Series, Series{Name: n, Color: col, Points: strings.Join(pts, " "), Total: totals[n], LegendY: c.Top + 8 + k*18})
	}
	step := (len(days) + 6) / 7
	for i := 0; i < len(days); i += step {
		c.XLabels = append(c.XLabels, Label{X: x(i), Y: c.Bottom + 16, Text: days[i][5:]})
	}
	ticks := int64(1)
	for _, k := range []int64{4, 5, 2} {
		if top%k == 0 {
			ticks = k
			break
		}
	}
	for i := int64(0); i <= ticks; i++ {
		v := top * i / ticks
		c.YLabels = append(c.YLabels, Label{X: c.Left - 6, Y: y(v) + 4, Text: fmt.Sprint(v)})
	}
	return c
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so the axis has
// round ticks.
func niceCeil(v int64) int64 {
	p := int64(1)
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int64{1, 2, 4, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
