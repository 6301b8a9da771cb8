package pages

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/objectstore"
)

type missingModule struct {
	DebugFile string `json:"debug_file"`
	DebugID   string `json:"debug_id"`
	Filename  string `json:"filename"`
	CodeID    string `json:"code_id"`
	Crashes   int    `json:"crashes"`
}

type missingPage struct {
	Found   bool
	Day     string          `json:"day"`
	Read    int             `json:"crashes_read"`
	Modules []missingModule `json:"modules"`
}

// missingSymbols shows the cron job's report of modules most often
// without symbols in crashing stacks.
func (p *Pages) missingSymbols(c *gin.Context) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	var page missingPage
	b, err := p.objects.GetBytes(ctx, objectstore.MissingSymbolsKey, 16<<20)
	switch {
	case isNotFound(err):
	case err != nil:
		p.queryFailed(c, err)
		return
	default:
		if err := json.Unmarshal(b, &page); err != nil {
			_ = c.Error(err)
			p.fail(c, http.StatusInternalServerError, "The missing-symbols report could not be read.")
			return
		}
		page.Found = true
	}
	p.render(c, http.StatusOK, "missingsymbols", "Missing symbols", page)
}
