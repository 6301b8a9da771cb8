package webapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/services/webapp/internal/reprocjobs"
	"github.com/crashstream/crashstream/services/webapp/internal/symupload"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// ReprocessJob is a symbol arrival's reprocess job as the API and the
// pages show it (reprocjobs.Job without its crash ids and lease).
type ReprocessJob = reprocjobs.Job

// newJobs builds the reprocess job manager, or nil when the deployment
// gave no job store or finder, or the settings turn jobs off.
func (s *Server) newJobs() *reprocjobs.Manager {
	cfg := reprocjobs.Config{
		Window: time.Duration(s.cfg.RequeueDays) * 24 * time.Hour, Max: s.cfg.RequeueMax, Rate: s.cfg.ReprocessRate,
		Tick: time.Second, Lease: 30 * time.Second, DoneEvery: 5 * time.Second, DoneWait: s.cfg.ReprocessDoneWait,
		ScanEvery: s.cfg.ReprocessScan, MaxAttempts: 10,
	}
	if s.deps.JobStore == nil || s.deps.JobFinder == nil || !cfg.Enabled() {
		return nil
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	send := func(ctx context.Context, crashID, detail, by string, at time.Time) error {
		v, err := s.deps.Serde.Marshal(&schemas.ProcessRequest{
			CrashID: crashID, Reason: protocol.ReasonSymbols, Ruleset: protocol.RulesetDefault,
			RequestedAt: at.UTC(), RequestedBy: by, Detail: detail,
		})
		if err != nil {
			return err
		}
		if err := s.deps.Publisher.Send(ctx, s.deps.Topics.Reprocess, []byte(crashID), v); err != nil {
			return err
		}
		s.m.reprocess.Inc()
		return nil
	}
	return reprocjobs.New(cfg, s.deps.JobStore, s.deps.Symbols, s.deps.JobFinder, send, hex.EncodeToString(b),
		s.deps.Logger, s.now)
}

// probeFound is how long a module a symbol server had is not asked of
// any server again (a debug id's symbol file rarely changes).
const probeFound = 24 * time.Hour

// newProber builds the symbol-server probe of the jobs; nil, with the
// reason, when it is off (Run says which in one log line).
func (s *Server) newProber() (*reprocjobs.Prober, string) {
	cfg := reprocjobs.ProbeConfig{
		URLs: s.cfg.SymbolURLs, Every: s.cfg.ProbePeriod, Modules: 200, MaxProbes: s.cfg.ProbeMax,
		Recheck: s.cfg.ProbeRecheck, Found: max(probeFound, s.cfg.ProbeRecheck), Timeout: 10 * time.Second, MaxFailures: 3,
	}
	switch {
	case len(cfg.URLs) == 0:
		return nil, "no -webapp.symbols.url"
	case cfg.Every == 0:
		return nil, "-webapp.symbols.probe-period is 0"
	case s.jobs == nil:
		return nil, "reprocess jobs are off"
	}
	return reprocjobs.NewProber(cfg, s.jobs, &http.Client{}, func(outcome string) { s.m.probes.WithLabelValues(outcome).Inc() }), ""
}

// startJobs starts (or finds) the reprocess job of every stored file. A
// failure does not undo the upload: it is reported, and the bucket scan
// starts the missing jobs later when it is on.
func (s *Server) startJobs(ctx context.Context, files []symupload.File, source string) ([]JobRef, string) {
	refs := []JobRef{}
	if s.jobs == nil {
		return refs, ""
	}
	for _, f := range files {
		info, err := s.deps.Symbols.Stat(ctx, f.Key)
		if err == nil {
			var j reprocjobs.Job
			var isNew bool
			j, isNew, err = s.jobs.Create(ctx, protocol.ModuleKey(f.Module.DebugFile, f.Module.DebugID), f.Key, info.ETag, source)
			if err == nil {
				refs = append(refs, JobRef{ID: j.ID, Module: j.Module, New: isNew, State: j.State, URL: "/api/ReprocessJobs/?id=" + j.ID})
				continue
			}
		}
		s.deps.Logger.Warn().Err(err).Str("key", f.Key).Msg("starting a reprocess job after a symbol upload")
		return refs, "starting reprocess jobs failed; the crashes can be reprocessed with the Reprocessing API"
	}
	return refs, ""
}

// ReprocessJobs lists the newest reprocess jobs (for the pages); ok is
// false when jobs are off.
func (s *Server) ReprocessJobs(ctx context.Context, limit int) (jobs []ReprocessJob, ok bool, err error) {
	if s.jobs == nil {
		return nil, false, nil
	}
	jobs, err = s.jobs.List(ctx, limit)
	return jobs, true, err
}

// reprocessJobsPageSize bounds the jobs listed by the API and the page.
const reprocessJobsPageSize = 200

// reprocessJobs is the ReprocessJobs model (upload_symbols): the newest
// jobs, or with id= one job.
func (s *Server) reprocessJobs(c *gin.Context) {
	if s.jobs == nil {
		apiError(c, http.StatusServiceUnavailable, "reprocess jobs are off (no job store, or -webapp.symbols.requeue-days / requeue-max is 0)")
		return
	}
	ctx, cancel := s.withTimeout(c)
	defer cancel()
	if id := c.Query("id"); id != "" {
		if _, err := objectstore.ReprocessJobKey(id); err != nil {
			apiError(c, http.StatusBadRequest, "id: not a reprocess job id")
			return
		}
		j, err := s.jobs.Get(ctx, id)
		switch {
		case errors.Is(err, objectstore.ErrNotFound):
			apiError(c, http.StatusNotFound, "no reprocess job %s", id)
		case err != nil:
			s.backendError(c, "reading a reprocess job", err)
		default:
			j.CrashIDs, j.Holder = nil, ""
			c.JSON(http.StatusOK, j)
		}
		return
	}
	jobs, err := s.jobs.List(ctx, reprocessJobsPageSize)
	if err != nil {
		s.backendError(c, "listing reprocess jobs", err)
		return
	}
	for i := range jobs {
		jobs[i].Holder = ""
	}
	c.JSON(http.StatusOK, gin.H{"total": len(jobs), "hits": jobs})
}
