package cron

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/lib/bugzilla/bugzillatest"
)

// TestBugAssociationsRealStore runs bugassociations through the runner on
// MinIO against a local Bugzilla REST server: the first import, paging, a
// changed signature list, a removed signature, a 500 and a timeout (both
// retried), and a page that keeps failing (the run fails and the stored
// set is left exactly as it was).
func TestBugAssociationsRealStore(t *testing.T) {
	ctx := context.Background()
	b := realBucket(t)
	bz := bugzillatest.New()
	defer bz.Close()
	bz.APIKey = "secret"
	start := time.Now().UTC()
	bz.Put(bugzillatest.Bug{ID: 1, Product: "Firefox", CrashSignature: "[@ X] [@ Y]", Status: "NEW", Summary: "crash in X"})
	bz.Put(bugzillatest.Bug{ID: 2, Product: "Firefox", CrashSignature: "[@ X]\n[@ broken", Status: "RESOLVED", Resolution: "FIXED"})
	bz.Put(bugzillatest.Bug{ID: 3, Product: "Firefox", CrashSignature: "[@ Z]", Status: "ASSIGNED"})
	bz.Put(bugzillatest.Bug{ID: 4, Product: "Thunderbird", CrashSignature: "[@ X]", Status: "NEW"})
	bz.Put(bugzillatest.Bug{ID: 5, Product: "Firefox", Status: "NEW"})
	client, err := bugzilla.NewClient(bugzilla.Config{URL: bz.URL, APIKey: "secret", Products: []string{"Firefox"},
		PageSize: 1, Timeout: 500 * time.Millisecond, Attempts: 3, Backoff: 5 * time.Millisecond})
	require.NoError(t, err)
	r := NewRunner(testConfig(), b, []Job{BugAssociations(b, client, zerolog.Nop())}, zerolog.Nop(), nil)
	now := start
	r.now = func() time.Time { return now }
	pairs := func() []bugzilla.Pair {
		s, err := bugzilla.LoadSet(ctx, b)
		require.NoError(t, err)
		return bugzilla.NewIndex(s).BySignatures([]string{"X", "Y", "Z"})
	}

	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []bugzilla.Pair{{ID: 1, Signature: "X"}, {ID: 1, Signature: "Y"}, {ID: 2, Signature: "X"}, {ID: 3, Signature: "Z"}}, pairs(),
		"first import: every bug of the product with a signature, one page at a time; the malformed part skipped")
	assert.NotContains(t, bz.Requests()[0], "last_change_time", "the first import is not windowed")

	// Bug 1 drops X; bug 3's field is emptied; bug 6 is new. A 500 and a
	// timeout on the way are retried.
	now = start.Add(time.Hour)
	changed := now.Add(-time.Minute) // Bugzilla's clock follows the runner's
	bz.Put(bugzillatest.Bug{ID: 1, Product: "Firefox", CrashSignature: "[@ Y]", Status: "NEW", LastChange: changed})
	bz.Put(bugzillatest.Bug{ID: 3, Product: "Firefox", Status: "ASSIGNED", LastChange: changed})
	bz.Put(bugzillatest.Bug{ID: 6, Product: "Firefox", CrashSignature: "[@ Z ]", Status: "NEW", LastChange: changed})
	bz.FailNext(http.StatusInternalServerError)
	bz.StallNext(2 * time.Second)
	require.NoError(t, r.Tick(ctx))
	want := []bugzilla.Pair{{ID: 1, Signature: "Y"}, {ID: 2, Signature: "X"}, {ID: 6, Signature: "Z"}}
	assert.Equal(t, want, pairs())
	reqs := bz.Requests()
	assert.Contains(t, reqs[len(reqs)-1], "last_change_time=")

	// A page that keeps failing: the run fails after its retries and the
	// stored set is byte-for-byte what it was.
	before, err := b.GetBytes(ctx, bugzilla.AssociationsKey, 1<<20)
	require.NoError(t, err)
	now = start.Add(2 * time.Hour)
	bz.Put(bugzillatest.Bug{ID: 2, Product: "Firefox", Status: "RESOLVED", Resolution: "FIXED", LastChange: now.Add(-time.Minute)})
	bz.Put(bugzillatest.Bug{ID: 7, Product: "Firefox", CrashSignature: "[@ W]", Status: "NEW", LastChange: now.Add(-time.Minute)})
	bz.FailOffset(1, http.StatusInternalServerError)
	require.Error(t, r.Tick(ctx))
	after, err := b.GetBytes(ctx, bugzilla.AssociationsKey, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
	st, err := r.State(ctx, "bugassociations")
	require.NoError(t, err)
	assert.Equal(t, 1, st.Failures)
	assert.Contains(t, st.LastError, "HTTP 500")

	// Healed, three hours on: the missed periods are backfilled and bug 2's
	// removal lands.
	bz.FailOffset(1, 0)
	now = start.Add(5 * time.Hour)
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []bugzilla.Pair{{ID: 1, Signature: "Y"}, {ID: 6, Signature: "Z"}}, pairs())
	st, err = r.State(ctx, "bugassociations")
	require.NoError(t, err)
	assert.Equal(t, latestDue(NewJob("bugassociations", time.Hour, true, nil), now), st.LastPeriod)
}
