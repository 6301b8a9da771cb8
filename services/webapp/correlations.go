package webapp

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

// Correlator answers correlations (*clickhouse.Correlator): precomputed by
// the cron job for the top signatures, computed on demand for others. Its
// attributes come from public fields only (clickhouse.NewCorrelator
// refuses protected ones), so the answer needs no redaction.
type Correlator interface {
	Correlations(ctx context.Context, p clickhouse.CorrelationParams) (*clickhouse.CorrelationsResult, error)
}

// ParseCorrelations reads the parameters of a correlations request (the
// API and the page share it).
func ParseCorrelations(q map[string][]string) (clickhouse.CorrelationParams, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	p := clickhouse.CorrelationParams{Signature: get("signature"), Product: get("product"), Channel: get("channel")}
	for name, dst := range map[string]*int{"days": &p.Days, "limit": &p.Limit} {
		if v := get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return p, errors.New(name + ": want a number")
			}
			*dst = n
		}
	}
	return p, nil
}

// correlations is the Correlations API model: signature, product,
// channel, days (1, 3, 7, 14 or 28; default 7), limit → the attributes
// ranked by score, each with its share in the signature and overall.
func (s *Server) correlations(c *gin.Context) {
	p, err := ParseCorrelations(c.Request.URL.Query())
	if err == nil {
		err = p.Validate(s.now())
	}
	if err != nil {
		apiError(c, http.StatusBadRequest, "%v", err)
		return
	}
	if s.deps.Correlations == nil {
		apiError(c, http.StatusServiceUnavailable, "correlations are not configured")
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	res, err := s.deps.Correlations.Correlations(ctx, p)
	if err != nil {
		s.backendError(c, "correlations", err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// addCorrelationPath describes the model in the OpenAPI document.
func addCorrelationPath(paths obj, sec []obj) {
	paths["/api/Correlations/"] = obj{"get": obj{"summary": "Attributes whose frequency differs most between a signature's crashes and all crashes of the product (and channel): loaded modules with versions, add-ons, CPU and GPU vendor, OS version, process type and selected public fields; precomputed daily for the top signatures, computed on demand for others", "security": sec,
		"parameters": []obj{qp("signature", "the signature", true, str()), qp("product", "product name", true, str()),
			qp("channel", "release channel (default all)", false, str()), qp("days", "1, 3, 7 (default), 14 or 28 days ending today", false, intS()),
			qp("limit", "attributes answered, 1..500 (default 50)", false, intS())},
		"responses": std(jsonResp("signature_total, overall_total, precomputed, correlations: [{attribute, value, signature_count, overall_count, signature_share, overall_share, score}] ranked by score (share in the signature minus share in the other crashes; 0 when a chi-squared test at 95% does not tell it from chance)"), nil)}}
}
