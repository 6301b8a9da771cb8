package pages

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// catalogueVersion is one entry of the catalogue.
type catalogueVersion struct {
	Product string    `json:"product"`
	Version string    `json:"version"`
	Channel string    `json:"release_channel"`
	Crashes uint64    `json:"crashes"`
	Last    time.Time `json:"last_crash"`
}

// productInfo is one product of the home page.
type productInfo struct {
	Name     string
	Crashes  int64
	Versions []catalogueVersion
	// Featured are the versions with the most crashes in the catalogue
	// (at most featuredVersions), the product's default top-crashers view.
	Featured []catalogueVersion
}

// featuredVersions is how many versions a product features.
const featuredVersions = 3

// FeaturedURL is the top crashers of the featured versions.
func (pi productInfo) FeaturedURL() string {
	v := url.Values{"product": {pi.Name}}
	for _, f := range pi.Featured {
		v.Add("version", f.Version)
	}
	return "/topcrashers/?" + v.Encode()
}

// catalogue reads cron/versions.json; a missing catalogue (cron has not run
// yet) is empty, not an error.
func (p *Pages) catalogue(ctx context.Context) ([]catalogueVersion, error) {
	b, err := p.objects.GetBytes(ctx, objectstore.VersionsKey, 8<<20)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Versions []catalogueVersion `json:"versions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil // a corrupt catalogue only loses the version menus
	}
	return doc.Versions, nil
}

// daysParam reads days (1..90, default def) for the dashboards.
func daysParam(c *gin.Context, def int) int {
	n, err := strconv.Atoi(c.Query("days"))
	if err != nil || n < 1 || n > 90 {
		return def
	}
	return n
}

// volume is crashes per day of the last days (whole UTC days, today
// included) split by "product" or, for one product, by "version", from the
// daily aggregates (Reader.DailyVolume); it returns the chart and the
// split's totals, largest first (at most 200).
func (p *Pages) volume(ctx context.Context, days int, split, product string) (Chart, []clickhouse.Bucket, error) {
	today := p.now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, 1-days), today.AddDate(0, 0, 1)
	buckets, err := p.crashes.DailyVolume(ctx, split, product, from, to)
	if err != nil {
		return Chart{}, nil, err
	}
	sums := map[string]int64{}
	for _, b := range buckets {
		sums[b.Term] += b.Count
	}
	facet := make([]clickhouse.Bucket, 0, len(sums))
	for t, c := range sums {
		facet = append(facet, clickhouse.Bucket{Term: t, Count: c})
	}
	sort.Slice(facet, func(i, j int) bool {
		if facet[i].Count != facet[j].Count {
			return facet[i].Count > facet[j].Count
		}
		return facet[i].Term < facet[j].Term
	})
	return dailyChart(buckets, from, to), facet[:min(200, len(facet))], nil
}

// productsByVolume lists the products with crashes in the last 7 days,
// busiest first, each with its catalogue versions; the empty product (a
// report without ProductName) is left out.
func (p *Pages) productsByVolume(ctx context.Context, viewPII bool, vers []catalogueVersion) ([]productInfo, error) {
	_, facet, err := p.volume(ctx, 7, "product", "")
	if err != nil {
		return nil, err
	}
	listed, _ := p.cfg.listed(mergeProducts(facet, vers))
	return listed, nil
}

// listed splits products into those the site lists (featured, or all
// when none is configured; never hidden ones) and the others.
func (c Config) listed(products []productInfo) (listed, others []productInfo) {
	for _, pi := range products {
		switch {
		case slices.Contains(c.Hidden, pi.Name):
		case len(c.Featured) == 0 || slices.Contains(c.Featured, pi.Name):
			listed = append(listed, pi)
		default:
			others = append(others, pi)
		}
	}
	return listed, others
}

// mergeProducts joins the product facet (crash counts) with the version
// catalogue: products ordered by volume, then catalogue-only ones; at most
// 10 versions each.
func mergeProducts(facet []clickhouse.Bucket, vers []catalogueVersion) []productInfo {
	byName := map[string]*productInfo{}
	var order []string
	get := func(name string) *productInfo {
		if byName[name] == nil {
			byName[name] = &productInfo{Name: name}
			order = append(order, name)
		}
		return byName[name]
	}
	for _, b := range facet {
		get(b.Term).Crashes = b.Count
	}
	for _, v := range vers {
		pi := get(v.Product)
		if len(pi.Versions) < 10 {
			pi.Versions = append(pi.Versions, v)
		}
	}
	var out []productInfo
	for _, n := range order {
		if n != "" {
			pi := *byName[n]
			for _, v := range pi.Versions {
				if v.Version != "" { // a crash without Version has no version to feature
					pi.Featured = append(pi.Featured, v)
				}
			}
			sort.SliceStable(pi.Featured, func(i, j int) bool { return pi.Featured[i].Crashes > pi.Featured[j].Crashes })
			pi.Featured = pi.Featured[:min(featuredVersions, len(pi.Featured))]
			out = append(out, pi)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Crashes > out[j].Crashes })
	return out
}

type homePage struct {
	Days     int
	Chart    Chart
	Products []productInfo
	// Others are product names with crashes that are not featured.
	Others []productInfo
}

// dashboard reads what the home and product pages show: the crash volume
// of the last days split by a facet (of one product, or of all when product
// is empty) and the version catalogue.
func (p *Pages) dashboard(ctx context.Context, days int, split, product string) (Chart, []clickhouse.Bucket, []catalogueVersion, error) {
	chart, facet, err := p.volume(ctx, days, split, product)
	if err != nil {
		return Chart{}, nil, nil, err
	}
	vers, err := p.catalogue(ctx)
	return chart, facet, vers, err
}

// home lists the products, their versions and the crash volume per product.
func (p *Pages) home(c *gin.Context) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	days := daysParam(c, 14)
	chart, facet, vers, err := p.dashboard(ctx, days, "product", "")
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	page := homePage{Days: days, Chart: chart}
	page.Products, page.Others = p.cfg.listed(mergeProducts(facet, vers))
	p.render(c, http.StatusOK, "home", "Crash Stats", page)
}

type productPage struct {
	Product  string
	Days     int
	Chart    Chart
	Versions []clickhouse.Bucket
	Channels map[string]string
}

// product is one product's dashboard: crashes per day by version.
func (p *Pages) product(c *gin.Context) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	product := c.Param("product")
	if product == "" || len(product) > 256 {
		p.fail(c, http.StatusNotFound, "No such product.")
		return
	}
	days := daysParam(c, 14)
	chart, facet, vers, err := p.dashboard(ctx, days, "version", product)
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	channels := map[string]string{}
	for _, v := range vers {
		if v.Product == product {
			channels[v.Version] = v.Channel
		}
	}
	p.render(c, http.StatusOK, "product", product, productPage{Product: product, Days: days, Chart: chart, Versions: facet, Channels: channels})
}
