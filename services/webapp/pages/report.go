package pages

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Bounds of the report page: a processed crash larger than maxProcessed is
// refused; threads and frames beyond these counts are cut (with a note).
const (
	maxProcessed       = 64 << 20
	maxThreads         = 256
	maxFramesPerThread = 200
)

// frame is one stack frame as the page shows it.
type frame struct {
	Index          int
	Module         string
	Function       string
	File           string
	Line           int64
	SourceURL      string
	Offset         string
	ModuleOffset   string
	Trust          string
	MissingSymbols bool
}

// thread is one thread of the stack.
type thread struct {
	Index     int
	Name      string
	Frames    []frame
	Truncated int // frames not shown
}

// annotation is one field of the crash the caller may see.
type annotation struct {
	Name, Value string
	Protected   bool
}

// crashDetails are the stack walker's findings about the faulting
// instruction (json_dump.crash_info), as Socorro's report shows them.
type crashDetails struct {
	Instruction     string
	AdjustedAddress string
	MemoryAccesses  []string
	IPUpdate        string
	BitFlips        []string
}

type reportPage struct {
	ID             string
	Crash          *schemas.ProcessedCrash
	Details        crashDetails
	Crashing       *thread
	Others         []thread
	ThreadsCut     int
	Modules        []schemas.Module
	MissingModules int
	Annotations    []annotation
	CanRawDump     bool
	CanReprocess   bool
	Reprocessed    bool
	RawDumpURL     string
	RawCrashURL    string
	CSRF           string
	Bugs           bugsSection
}

// stackwalk is the part of json_dump (minidump-stackwalk's schema) the
// page reads.
type stackwalk struct {
	CrashInfo struct {
		CrashingThread  *int    `json:"crashing_thread"`
		Instruction     *string `json:"instruction"`
		AdjustedAddress *struct {
			Kind    string  `json:"kind"`
			Address *string `json:"address"`
			Offset  *string `json:"offset"`
		} `json:"adjusted_address"`
		MemoryAccesses []struct {
			Address    string  `json:"address"`
			Size       *int    `json:"size"`
			AccessType *string `json:"access_type"`
			GuardPage  bool    `json:"is_likely_guard_page"`
		} `json:"memory_accesses"`
		InstructionPointerUpdate *struct {
			Address string `json:"address"`
		} `json:"instruction_pointer_update"`
		PossibleBitFlips []struct {
			Address        string  `json:"address"`
			Confidence     float64 `json:"confidence"`
			SourceRegister *string `json:"source_register"`
		} `json:"possible_bit_flips"`
	} `json:"crash_info"`
	Threads []struct {
		ThreadName *string `json:"thread_name"`
		Frames     []struct {
			Frame          int     `json:"frame"`
			Module         *string `json:"module"`
			Function       *string `json:"function"`
			File           *string `json:"file"`
			Line           *int64  `json:"line"`
			Offset         *string `json:"offset"`
			ModuleOffset   *string `json:"module_offset"`
			Trust          *string `json:"trust"`
			MissingSymbols bool    `json:"missing_symbols"`
		} `json:"frames"`
	} `json:"threads"`
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// report is /report/index/<crash id>: the processed crash, or the pending
// page (with a priority request) while it is being processed, or 404.
func (p *Pages) report(c *gin.Context) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	id := strings.TrimPrefix(c.Param("id"), "bp-")
	if err := objectstore.CheckCrashID(id, false); err != nil {
		p.notFound(c, id)
		return
	}
	key, _ := objectstore.ProcessedCrashKey(id)
	data, err := p.objects.GetBytes(ctx, key, maxProcessed)
	if isNotFound(err) {
		p.pendingOrMissing(c, id)
		return
	}
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	var pc schemas.ProcessedCrash
	if err := json.Unmarshal(data, &pc); err != nil {
		_ = c.Error(err)
		p.fail(c, http.StatusInternalServerError, "The stored processed crash could not be read.")
		return
	}
	caller := p.core.Caller(c)
	if !caller.Has(auth.ViewPII) {
		red, err := p.redactor.Processed(&pc)
		if err != nil {
			_ = c.Error(err)
			p.fail(c, http.StatusInternalServerError, "The stored processed crash could not be read.")
			return
		}
		pc = *red
	}
	page := reportPage{ID: id, Crash: &pc, CanRawDump: caller.Has(auth.ViewRawDump), CanReprocess: caller.Has(auth.ReprocessCrashes),
		Reprocessed: c.Query("reprocessed") == "1", Modules: pc.Modules}
	if page.CanReprocess {
		page.CSRF = p.core.CSRFToken(c)
	}
	if page.CanRawDump {
		page.RawDumpURL = "/api/RawCrash/?" + url.Values{"crash_id": {id}, "format": {"raw"}, "name": {objectstore.MainDumpField}}.Encode()
		page.RawCrashURL = "/api/RawCrash/?" + url.Values{"crash_id": {id}}.Encode()
	}
	for _, m := range pc.Modules {
		if m.MissingSymbols {
			page.MissingModules++
		}
	}
	p.threads(&page, &pc)
	page.Annotations = p.annotations(&pc, caller.Has(auth.ViewPII))
	page.Bugs = p.bugsSection(ctx, c, pc.Signature, pc.Product, id)
	p.render(c, http.StatusOK, "report", "Crash report "+id, page)
}

// threads fills the crashing thread and the others from json_dump, or from
// the typed crashing-thread frames when there is no stackwalk output.
func (p *Pages) threads(page *reportPage, pc *schemas.ProcessedCrash) {
	crashing := -1
	if pc.CrashingThread != nil {
		crashing = int(*pc.CrashingThread)
	}
	var sw stackwalk
	if pc.JSONDump != "" && json.Unmarshal([]byte(pc.JSONDump), &sw) == nil {
		page.Details = crashDetailsOf(&sw)
	}
	if len(sw.Threads) > 0 {
		if crashing < 0 && sw.CrashInfo.CrashingThread != nil {
			crashing = *sw.CrashInfo.CrashingThread
		}
		for i, t := range sw.Threads {
			if i >= maxThreads {
				page.ThreadsCut = len(sw.Threads) - maxThreads
				break
			}
			th := thread{Index: i, Name: str(t.ThreadName)}
			for j, f := range t.Frames {
				if j >= maxFramesPerThread {
					th.Truncated = len(t.Frames) - maxFramesPerThread
					break
				}
				fr := frame{Index: f.Frame, Module: str(f.Module), Function: str(f.Function), File: str(f.File), Offset: str(f.Offset),
					ModuleOffset: str(f.ModuleOffset), Trust: str(f.Trust), MissingSymbols: f.MissingSymbols}
				if f.Line != nil {
					fr.Line = *f.Line
				}
				fr.SourceURL = p.sourceURL(fr.File, fr.Line)
				th.Frames = append(th.Frames, fr)
			}
			if i == crashing {
				page.Crashing = &th
			} else {
				page.Others = append(page.Others, th)
			}
		}
		return
	}
	if len(pc.CrashingThreadFrames) > 0 {
		th := thread{Index: max(crashing, 0), Name: pc.CrashingThreadName}
		for _, f := range pc.CrashingThreadFrames {
			fr := frame{Index: int(f.Frame), Module: f.Module, Function: f.Function, File: f.File, Offset: f.Offset,
				ModuleOffset: f.ModuleOffset, Trust: f.Trust, MissingSymbols: f.MissingSymbols}
			if f.Line != nil {
				fr.Line = *f.Line
			}
			fr.SourceURL = p.sourceURL(fr.File, fr.Line)
			th.Frames = append(th.Frames, fr)
		}
		page.Crashing = &th
	}
}

// sourceURL fills the configured template; "" without a template or file.
func (p *Pages) sourceURL(file string, line int64) string {
	if p.cfg.SourceURL == "" || file == "" {
		return ""
	}
	esc := strings.ReplaceAll(url.PathEscape(file), "%2F", "/")
	return strings.NewReplacer("{file}", esc, "{line}", strconv.FormatInt(line, 10)).Replace(p.cfg.SourceURL)
}

// epochFields are the annotations holding seconds since the Unix epoch,
// shown as dates.
var epochFields = map[string]bool{"crash_time": true, "install_time": true, "startup_time": true}

// annotations lists the non-empty scalar fields the caller may see, in
// registry order: the registry's Visible list is the only source, so a
// protected field cannot reach a caller without view_pii.
func (p *Pages) annotations(pc *schemas.ProcessedCrash, viewPII bool) []annotation {
	b, err := json.Marshal(pc)
	if err != nil {
		return nil
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil
	}
	var out []annotation
	for _, f := range p.registry.Visible(viewPII) {
		if f.Type == fields.Object || f.Name == "json_dump" {
			continue
		}
		v := valueText(doc[f.Name])
		if epochFields[f.Name] && v != "" {
			v = epochText(doc[f.Name])
		}
		if v != "" {
			out = append(out, annotation{Name: f.Name, Value: v, Protected: !f.IsPublic()})
		}
	}
	return out
}

// pendingOrMissing answers for a crash without a processed crash: pending
// (and a priority request, which the core sends at most once a minute per
// crash) when the raw crash exists, else not found.
func (p *Pages) pendingOrMissing(c *gin.Context, id string) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	key, _ := objectstore.RawCrashKey(id)
	ok, err := p.objects.Exists(ctx, key)
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	if !ok {
		p.notFound(c, id)
		return
	}
	if err := p.core.PriorityRequest(ctx, id); err != nil {
		_ = c.Error(err) // the page still says pending; the next view retries
	}
	c.Header("Refresh", "30")
	p.render(c, http.StatusOK, "pending", "Crash report pending", map[string]string{"ID": id})
}

func (p *Pages) notFound(c *gin.Context, id string) {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	p.fail(c, http.StatusNotFound, "There is no crash report with id "+strconv.Quote(id)+". Check the id; crash ids look like de305d54-75b4-431b-adb2-eb6b9e261014 (with the submission date yymmdd at the end).")
}

// reprocess is the report page's reprocess button (POST with CSRF).
func (p *Pages) reprocess(c *gin.Context) {
	id := strings.TrimPrefix(c.Param("id"), "bp-")
	if !p.core.Caller(c).Has(auth.ReprocessCrashes) {
		p.fail(c, http.StatusForbidden, "Reprocessing needs the reprocess_crashes permission.")
		return
	}
	if !p.core.CheckCSRF(c) {
		p.fail(c, http.StatusForbidden, "The form expired or did not come from this site (CSRF check failed). Reload the page and try again.")
		return
	}
	if err := objectstore.CheckCrashID(id, false); err != nil {
		p.notFound(c, id)
		return
	}
	ctx, cancel := p.ctx(c)
	defer cancel()
	if err := p.core.Reprocess(ctx, []string{id}); err != nil {
		p.queryFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/report/index/"+id+"?reprocessed=1")
}

// crashDetailsOf renders crash_info's instruction analysis: the
// instruction, the address behind a null pointer or a non-canonical
// access, what the instruction reads and writes, where it jumps, and the
// valid addresses one flipped bit away (likeliest first, as Socorro).
func crashDetailsOf(sw *stackwalk) crashDetails {
	ci := &sw.CrashInfo
	d := crashDetails{Instruction: str(ci.Instruction)}
	if a := ci.AdjustedAddress; a != nil {
		switch a.Kind {
		case "null-pointer":
			d.AdjustedAddress = "null pointer + " + str(a.Offset)
		case "non-canonical":
			d.AdjustedAddress = "non-canonical address " + str(a.Address)
		}
	}
	for _, m := range ci.MemoryAccesses {
		s := m.Address
		if m.Size != nil {
			s += fmt.Sprintf(" (%d bytes", *m.Size)
		} else {
			s += " (size unknown"
		}
		if m.AccessType != nil {
			s += ", " + *m.AccessType
		}
		s += ")"
		if m.GuardPage {
			s += " — likely a guard page"
		}
		d.MemoryAccesses = append(d.MemoryAccesses, s)
	}
	if u := ci.InstructionPointerUpdate; u != nil {
		d.IPUpdate = u.Address
	}
	flips := ci.PossibleBitFlips
	sort.SliceStable(flips, func(i, j int) bool { return flips[i].Confidence > flips[j].Confidence })
	for _, f := range flips {
		s := f.Address
		if f.SourceRegister != nil {
			s = *f.SourceRegister + " = " + s
		}
		d.BitFlips = append(d.BitFlips, fmt.Sprintf("%s (confidence %.0f%%)", s, 100*f.Confidence))
	}
	return d
}
