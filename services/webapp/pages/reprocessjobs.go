package pages

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/webapp/internal/reprocjobs"
)

// JobLister is an optional capability of Core: the symbol arrivals'
// reprocess jobs, newest first (ok false: jobs are off).
type JobLister interface {
	ReprocessJobs(ctx context.Context, limit int) (jobs []reprocjobs.Job, ok bool, err error)
}

type jobsPage struct {
	Allowed, Enabled bool
	SignIn           string
	Jobs             []reprocjobs.Job
}

// reprocessJobs shows the reprocess jobs to callers with upload_symbols
// (the API route's permission).
func (p *Pages) reprocessJobs(c *gin.Context) {
	page := jobsPage{SignIn: p.core.SignInPath()}
	lister, ok := p.core.(JobLister)
	if page.Allowed = p.core.Caller(c).Has(auth.UploadSymbols); page.Allowed && ok {
		ctx, cancel := p.ctx(c)
		defer cancel()
		jobs, enabled, err := lister.ReprocessJobs(ctx, 200)
		if err != nil {
			p.queryFailed(c, err)
			return
		}
		page.Jobs, page.Enabled = jobs, enabled
	}
	status := http.StatusOK
	if !page.Allowed {
		status = http.StatusForbidden
	}
	p.render(c, status, "reprocessjobs", "Reprocess jobs", page)
}
