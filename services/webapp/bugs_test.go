package webapp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/lib/bugzilla/bugzillatest"
)

type pairsAnswer struct {
	Hits  []bugzilla.Pair `json:"hits"`
	Total int             `json:"total"`
}

func (f *fixture) pairs(t *testing.T, target string) pairsAnswer {
	t.Helper()
	rec := f.do(http.MethodGet, target, "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var a pairsAnswer
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
	return a
}

// TestBugsFollowTheCronJob: after bugassociations reads the local
// Bugzilla, Bugs?signatures=X answers the bugs whose field lists X; once a
// bug's field drops X and the job runs again, it no longer does.
func TestBugsFollowTheCronJob(t *testing.T) {
	bz := bugzillatest.New()
	defer bz.Close()
	f := newFixture(t, func(c *Config) { c.BugsRefresh, c.BugzillaURL = time.Nanosecond, bz.URL })
	client, err := bugzilla.NewClient(bugzilla.Config{URL: bz.URL, PageSize: 2})
	require.NoError(t, err)
	job := cron.BugAssociations(f.crashes, client, zerolog.Nop())
	ctx := context.Background()
	hour := time.Now().UTC().Truncate(time.Hour)

	empty := f.pairs(t, "/api/Bugs/?signatures=X")
	assert.Equal(t, pairsAnswer{Hits: []bugzilla.Pair{}}, empty, "before any run: no bugs, not an error")

	bz.Put(bugzillatest.Bug{ID: 100, CrashSignature: "[@ X] [@ Y]", Status: "NEW", Summary: "crash in X"})
	bz.Put(bugzillatest.Bug{ID: 101, CrashSignature: "[@ X]", Status: "RESOLVED", Resolution: "FIXED"})
	bz.Put(bugzillatest.Bug{ID: 102, CrashSignature: "[@ Z]", Status: "NEW"})
	require.NoError(t, job.Run(ctx, hour))
	assert.Equal(t, pairsAnswer{Hits: []bugzilla.Pair{{ID: 100, Signature: "X"}, {ID: 101, Signature: "X"}}, Total: 2},
		f.pairs(t, "/api/Bugs/?signatures=X"))
	assert.Equal(t, pairsAnswer{Hits: []bugzilla.Pair{{ID: 100, Signature: "X"}, {ID: 100, Signature: "Y"}, {ID: 102, Signature: "Z"}}, Total: 3},
		f.pairs(t, "/api/SignaturesByBugs/?bug_ids=100&bug_ids=102&bug_ids=999"))

	bz.Put(bugzillatest.Bug{ID: 100, CrashSignature: "[@ Y]", Status: "NEW"})
	require.NoError(t, job.Run(ctx, hour))
	assert.Equal(t, pairsAnswer{Hits: []bugzilla.Pair{{ID: 101, Signature: "X"}}, Total: 1}, f.pairs(t, "/api/Bugs/?signatures[]=X"))

	f.badRequests(t, map[string]string{
		"/api/Bugs/":                        "signatures: required",
		"/api/SignaturesByBugs/?bug_ids=x1": "is not a bug number",
		"/api/BugzillaBugInfo/":             "bugs: required",
	})
}

// TestBugzillaBugInfo asks the local Bugzilla once per bug and hour.
func TestBugzillaBugInfo(t *testing.T) {
	bz := bugzillatest.New()
	defer bz.Close()
	bz.Put(bugzillatest.Bug{ID: 7, Status: "RESOLVED", Resolution: "DUPLICATE", Summary: "crash <in> X"})
	f := newFixture(t, func(c *Config) { c.BugzillaURL = bz.URL })
	q := url.Values{"bugs": {"7", "8"}}
	for i := 0; i < 2; i++ {
		rec := f.do(http.MethodGet, "/api/BugzillaBugInfo/?"+q.Encode(), "", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"bugs":[{"id":7,"status":"RESOLVED","resolution":"DUPLICATE","summary":"crash <in> X"}]}`, rec.Body.String())
	}
	assert.Len(t, bz.Requests(), 2, "bug 7 is cached; bug 8, unknown to Bugzilla, is asked again")

	off := newFixture(t, nil)
	rec := off.do(http.MethodGet, "/api/BugzillaBugInfo/?bugs=7", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "-webapp.bugzilla.url")
}
