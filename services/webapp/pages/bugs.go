package pages

import (
	"context"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/bugzilla"
)

// BugSource is an optional capability of Core: the bug association set
// the core already reads (webapp.Server.Bugs), so the pages and the API
// share one cache. Without it the pages read the set from Objects.
type BugSource interface {
	Bugs() *bugzilla.Cache
}

// bugView is a bug as a page shows it: open bugs plain, resolved ones
// struck through, each linking to the Bugzilla when one is configured.
type bugView struct {
	bugzilla.Entry
	URL string
}

// bugsSection is the Bugzilla tab of the signature report and the related
// bugs of the report page.
type bugsSection struct {
	Signature string
	Bugs      []bugView
	// FileURL is the "file a bug" link ("" without a template).
	FileURL string
}

// bugCache picks the core's association set when it has one.
func bugCache(core Core, objects Objects) *bugzilla.Cache {
	if bs, ok := core.(BugSource); ok && bs.Bugs() != nil {
		return bs.Bugs()
	}
	return bugzilla.NewCache(objects, time.Minute)
}

// bugsOf returns the bugs of each signature, open first. A failure to read
// the set is recorded and the page shows no bugs: bug links are not worth
// a failed page.
func (p *Pages) bugsOf(ctx context.Context, c *gin.Context, sigs []string) map[string][]bugView {
	ix, err := p.bugs.Index(ctx)
	if err != nil {
		_ = c.Error(err)
		return nil
	}
	out := map[string][]bugView{}
	for _, sg := range sigs {
		for _, e := range ix.ForSignature(sg) {
			out[sg] = append(out[sg], bugView{Entry: e, URL: bugzilla.BugURL(p.cfg.BugzillaURL, e.ID)})
		}
	}
	return out
}

// bugsSection builds the bug list of one signature with its "file a bug"
// link; crashID, when set, is the crash the link points to (else the
// signature report).
func (p *Pages) bugsSection(ctx context.Context, c *gin.Context, sig, product, crashID string) bugsSection {
	link := p.cfg.PublicURL + "/signature/?signature=" + url.QueryEscape(sig)
	if crashID != "" {
		link = p.cfg.PublicURL + "/report/index/" + crashID
	}
	return bugsSection{Signature: sig, Bugs: p.bugsOf(ctx, c, []string{sig})[sig],
		FileURL: bugzilla.FileBugURL(p.cfg.FileBugURL, product, sig, link)}
}
