package pages

import "github.com/crashstream/crashstream/services/webapp"

// FromServer builds the pages on the webapp core; it is a webapp.NewPages,
// passed to webapp.New by the binary. The core's configuration gives the
// source-link template, the query timeout and the product list.
func FromServer(s *webapp.Server) (webapp.PageSet, error) {
	d, cfg := s.Deps(), s.Config()
	p, err := New(Config{SourceURL: cfg.SourceURLTemplate, Timeout: cfg.RequestTimeout,
		Featured: cfg.FeaturedProducts, Hidden: cfg.HiddenProducts,
		BugzillaURL: cfg.BugzillaURL, FileBugURL: cfg.FileBugURLTemplate, PublicURL: cfg.PublicURL}, d.Reader, d.Crashes, s, d.Fields)
	if err != nil {
		return nil, err
	}
	p.alerts = d.Crashes
	if d.Correlations != nil {
		p.correlations = d.Correlations
	}
	return p, nil
}

// The core limits page views and lists the reprocess jobs.
var (
	_ PageLimiter = (*webapp.Server)(nil)
	_ JobLister   = (*webapp.Server)(nil)
)
