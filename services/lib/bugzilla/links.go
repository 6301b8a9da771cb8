package bugzilla

import (
	"net/url"
	"strconv"
	"strings"
)

// BugURL is the page of bug id on the Bugzilla at base ("" without one).
func BugURL(base string, id int64) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/show_bug.cgi?id=" + strconv.FormatInt(id, 10)
}

// FileBugURL fills a "file a bug" URL template: {product}, {signature}
// and {crash_url} are replaced, query-escaped. An empty template gives "".
func FileBugURL(template, product, signature, crashURL string) string {
	if template == "" {
		return ""
	}
	return strings.NewReplacer("{product}", url.QueryEscape(product), "{signature}", url.QueryEscape(signature),
		"{crash_url}", url.QueryEscape(crashURL)).Replace(template)
}
