package webapp

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/alerts"
)

// Bounds of the Alerts model.
const (
	maxAlertDays    = 28
	maxAlertFirings = 1000
)

// alertsModel is the Alerts API: the rules the alerts cron job runs (as it
// publishes them: webhooks by name only) and the firings of the last days
// (days=1..28, default 7), newest first, each with its deliveries.
func (s *Server) alertsModel(c *gin.Context) {
	days := 7
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAlertDays {
			apiError(c, http.StatusBadRequest, "days: want 1..%d", maxAlertDays)
			return
		}
		days = n
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	rules, err := alerts.LoadPublished(ctx, s.deps.Crashes)
	if err != nil {
		s.backendError(c, "reading the alert rules", err)
		return
	}
	firings, err := alerts.Recent(ctx, s.deps.Crashes, s.now(), days, maxAlertFirings)
	if err != nil {
		s.backendError(c, "listing alert firings", err)
		return
	}
	if firings == nil {
		firings = []alerts.Firing{}
	}
	c.JSON(http.StatusOK, gin.H{"rules": rules, "firings": firings, "days": days})
}
