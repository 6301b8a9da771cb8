package bugzilla_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/lib/bugzilla/bugzillatest"
)

func TestParseSignatures(t *testing.T) {
	for _, tc := range []struct {
		field     string
		want      []string
		malformed int
	}{
		{"", nil, 0},
		{"no brackets here", nil, 0},
		{"[@ OOM | small]", []string{"OOM | small"}, 0},
		{"  [@   foo::bar  ]\r\n[@ baz]  [@ foo::bar]", []string{"baz", "foo::bar"}, 0},
		// The signature runs to the last "]" of its part, as Socorro reads it.
		{"[@ js::Foo[2] ]", []string{"js::Foo[2]"}, 0},
		{"[@ unterminated [@ ok]", []string{"ok"}, 1},
		{"[@ ] [@]", nil, 2},
		{"text before [@ a] text after", []string{"a"}, 0},
	} {
		got, bad := bugzilla.ParseSignatures(tc.field)
		assert.Equal(t, tc.want, got, tc.field)
		assert.Equal(t, tc.malformed, bad, tc.field)
	}
}

func TestApplyKeepsTheSetExact(t *testing.T) {
	var s bugzilla.Set
	ch := s.Apply([]bugzilla.Bug{{ID: 1, CrashSignature: "[@ a] [@ b]"}, {ID: 2, CrashSignature: "[@ b]", Resolution: "FIXED"}, {ID: 3}})
	assert.Equal(t, bugzilla.Change{Read: 3, Added: 3}, ch)
	ch = s.Apply([]bugzilla.Bug{{ID: 1, CrashSignature: "[@ b] [@ c"}, {ID: 2}})
	assert.Equal(t, bugzilla.Change{Read: 2, Removed: 2, Malformed: 1}, ch)
	ix := bugzilla.NewIndex(&s)
	assert.Equal(t, []bugzilla.Pair{{ID: 1, Signature: "b"}}, ix.BySignatures([]string{"a", "b", "b"}))
	assert.Empty(t, ix.ByBugs([]int64{2}))
	require.Len(t, s.Bugs, 1)
}

func TestIndexOpenFirst(t *testing.T) {
	var s bugzilla.Set
	s.Apply([]bugzilla.Bug{{ID: 10, CrashSignature: "[@ x]", Resolution: "FIXED"}, {ID: 5, CrashSignature: "[@ x]"}, {ID: 7, CrashSignature: "[@ x]"}})
	var ids []int64
	for _, e := range bugzilla.NewIndex(&s).ForSignature("x") {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, []int64{7, 5, 10}, ids)
}

func newClient(t *testing.T, srv *bugzillatest.Server, mod func(*bugzilla.Config)) *bugzilla.Client {
	cfg := bugzilla.Config{URL: srv.URL, PageSize: 2, Timeout: 300 * time.Millisecond, Attempts: 3, Backoff: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := bugzilla.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func TestClientPagesAndFilters(t *testing.T) {
	for _, totals := range []bool{false, true} {
		srv := bugzillatest.New()
		srv.Totals = totals
		srv.APIKey = "k3y"
		old := time.Now().Add(-48 * time.Hour)
		for i := int64(1); i <= 5; i++ {
			srv.Put(bugzillatest.Bug{ID: i, Product: "Firefox", CrashSignature: "[@ s]", Status: "NEW"})
		}
		srv.Put(bugzillatest.Bug{ID: 6, Product: "Other", CrashSignature: "[@ s]"})
		srv.Put(bugzillatest.Bug{ID: 7, Product: "Firefox", CrashSignature: "[@ s]", LastChange: old})
		c := newClient(t, srv, func(c *bugzilla.Config) { c.APIKey, c.Products = "k3y", []string{"Firefox"} })
		bugs, err := c.ChangedSince(context.Background(), time.Now().Add(-time.Hour))
		require.NoError(t, err)
		var ids []int64
		for _, b := range bugs {
			ids = append(ids, b.ID)
		}
		assert.Equal(t, []int64{1, 2, 3, 4, 5}, ids, "totals=%v", totals)
		reqs := srv.Requests()
		assert.Len(t, reqs, map[bool]int{false: 4, true: 3}[totals], "pages of 2, then an empty page unless total_matches says it is done")
		assert.Contains(t, reqs[0], "include_fields=id%2Ccf_crash_signature%2Cstatus%2Cresolution%2Csummary")
		// The first import reads every bug with a signature, however old.
		bugs, err = c.ChangedSince(context.Background(), time.Time{})
		require.NoError(t, err)
		assert.Len(t, bugs, 6)
		srv.Close()
	}
}

func TestClientRetriesThenFails(t *testing.T) {
	srv := bugzillatest.New()
	defer srv.Close()
	srv.Put(bugzillatest.Bug{ID: 1, CrashSignature: "[@ s]"})
	c := newClient(t, srv, nil)
	ctx := context.Background()
	srv.FailNext(http.StatusInternalServerError)
	srv.StallNext(2 * time.Second)
	bugs, err := c.ChangedSince(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err, "a 500 and a timeout are retried")
	assert.Len(t, bugs, 1)

	srv.FailOffset(0, http.StatusBadGateway)
	_, err = c.ChangedSince(ctx, time.Now().Add(-time.Hour))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 502")

	srv.FailOffset(0, 0)
	c = newClient(t, srv, func(c *bugzilla.Config) { c.APIKey = "wrong" })
	srv.APIKey = "right"
	srv.Requests()
	_, err = c.ChangedSince(ctx, time.Now().Add(-time.Hour))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "API key")
	assert.Len(t, srv.Requests(), 1, "a refused key is not retried")
}

func TestClientBugInfo(t *testing.T) {
	srv := bugzillatest.New()
	defer srv.Close()
	srv.Put(bugzillatest.Bug{ID: 1, CrashSignature: "[@ s]", Status: "RESOLVED", Resolution: "FIXED", Summary: "crash in s"})
	srv.Put(bugzillatest.Bug{ID: 2, Status: "NEW", Summary: "other"})
	bugs, err := newClient(t, srv, nil).Bugs(context.Background(), []int64{1, 3})
	require.NoError(t, err)
	require.Len(t, bugs, 1)
	assert.Equal(t, bugzilla.Bug{ID: 1, Status: "RESOLVED", Resolution: "FIXED", Summary: "crash in s"}, bugs[0])
	assert.False(t, bugs[0].Open())
	_, err = bugzilla.NewClient(bugzilla.Config{URL: "ftp://x"})
	assert.True(t, err != nil && strings.Contains(err.Error(), "http(s)"))
}
