package pages

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bugSetJSON is the association set of newEnv: two bugs of "OOM | small",
// the resolved one with the higher number.
var bugSetJSON = []byte(`{"bugs":[
 {"id":1001,"signatures":["OOM | small"],"status":"NEW","resolution":"","summary":"OOM <small> crash"},
 {"id":1009,"signatures":["OOM | small","other"],"status":"RESOLVED","resolution":"FIXED","summary":"fixed one"}]}`)

func TestBugLinks(t *testing.T) {
	e := newEnv(t, Config{BugzillaURL: "https://bugzilla.example", PublicURL: "https://crash-stats.example",
		FileBugURL: "https://bugzilla.example/enter_bug.cgi?product={product}&cf_crash_signature=[@+{signature}]&comment={crash_url}"})
	open := `<a class="bug" data-bug="1001" href="https://bugzilla.example/show_bug.cgi?id=1001" title="NEW: OOM &lt;small&gt; crash">1001</a>`
	resolved := `<a class="bug resolved" data-bug="1009" href="https://bugzilla.example/show_bug.cgi?id=1009" title="RESOLVED FIXED: fixed one"><s>1009</s></a>`

	w := e.do(http.MethodGet, "/topcrashers/?product=Firefox&days=7&version=", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	cell := regexp.MustCompile(`(?s)<td class="bugs" data-bugs-for="OOM \| small">(.*?)</td>`).FindStringSubmatch(w.Body.String())
	require.NotNil(t, cell, "the Bugs cell of OOM | small")
	assert.Equal(t, open+" "+resolved, cell[1], "open bugs first, resolved struck through")

	w = e.do(http.MethodGet, "/signature/?signature=OOM+%7C+small&tab=bugzilla", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	assert.Contains(t, body, `id="tab-bugzilla" href="/signature/?signature=OOM&#43;%7C&#43;small&amp;tab=bugzilla" class="on"`)
	assert.Contains(t, body, open)
	assert.Contains(t, body, "<s>fixed one</s>")
	assert.Contains(t, body, `class="filebug" href="https://bugzilla.example/enter_bug.cgi?product=Firefox&amp;cf_crash_signature=[@&#43;OOM&#43;%7C&#43;small]&amp;comment=https%3A%2F%2Fcrash-stats.example%2Fsignature%2F%3Fsignature%3DOOM%2B%257C%2Bsmall"`)

	w = e.do(http.MethodGet, "/report/index/"+crashID, "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	body = w.Body.String()
	assert.Contains(t, body, open)
	assert.Contains(t, body, "comment=https%3A%2F%2Fcrash-stats.example%2Freport%2Findex%2F"+crashID)

	// Without a Bugzilla: numbers without links, no "file a bug".
	e = newEnv(t, Config{})
	body = e.do(http.MethodGet, "/signature/?signature=OOM+%7C+small&tab=bugzilla", "-", nil).Body.String()
	assert.Contains(t, body, `<a class="bug" data-bug="1001"  title=`)
	assert.NotContains(t, body, "filebug")
	body = e.do(http.MethodGet, "/signature/?signature=nobugs&tab=bugzilla", "-", nil).Body.String()
	assert.Contains(t, body, "No bug is linked to this signature yet.")
}
