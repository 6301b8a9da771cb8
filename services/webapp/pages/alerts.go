package pages

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/alerts"
)

// Bounds of the Alerts page: the firings of the last alertDays days, at
// most alertLimit of them.
const (
	alertDays  = 7
	alertLimit = 200
)

type alertsPage struct {
	// Rules is what the alerts cron job last ran (nil: it never ran).
	Rules   *alerts.Published
	Firings []alerts.Firing
	Days    int
	Limit   int
}

// alertsList shows the alert rules read-only, as the cron job publishes
// them, and the recent firings with their deliveries, each linking to the
// signature report.
func (p *Pages) alertsList(c *gin.Context) {
	page := alertsPage{Days: alertDays, Limit: alertLimit}
	if p.alerts != nil {
		ctx, cancel := p.ctx(c)
		defer cancel()
		var err error
		if page.Rules, err = alerts.LoadPublished(ctx, p.alerts); err != nil {
			p.queryFailed(c, err)
			return
		}
		if page.Firings, err = alerts.Recent(ctx, p.alerts, p.now(), alertDays, alertLimit); err != nil {
			p.queryFailed(c, err)
			return
		}
	}
	p.render(c, http.StatusOK, "alerts", "Alerts", page)
}
