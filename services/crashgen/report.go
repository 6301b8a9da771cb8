package crashgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"strconv"
	"time"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Report is one generated crash report: annotations and the main dump.
type Report struct {
	Annotations map[string]string
	Dump        []byte
	// Site is the crash site's index (its Zipf rank).
	Site int
}

// Generator draws reports from a catalog. It is not safe for concurrent
// use; give each goroutine its own (with different seeds).
type Generator struct {
	cat *Catalog
	rng *rand.Rand
	// Now is the crash time source.
	Now func() time.Time
	// SizeScale multiplies the size mix (1 = median ~400 KB); tests use a
	// small value to keep dumps tiny.
	SizeScale float64
}

// NewGenerator returns a generator over cat.
func NewGenerator(cat *Catalog, seed uint64) *Generator {
	return &Generator{cat: cat, rng: rand.New(rand.NewPCG(seed, seed*31+7)), Now: time.Now, SizeScale: 1}
}

// moduleBase is where module i is loaded: 16 MiB apart, above 0x7ff000000000.
func moduleBase(i int) uint64 { return 0x7ff600000000 + uint64(i)<<24 }

// targetSize draws a dump size from the mix: lognormal around 400 KB with
// p95 near 1.5 MB, and 1% of 4-20 MB.
func (g *Generator) targetSize() int {
	if g.rng.Float64() < 0.01 {
		return int(float64(4<<20+g.rng.IntN(16<<20)) * g.SizeScale)
	}
	// ln(400 KB) = 12.9; sigma 0.8 puts p95 near 1.5 MB. The lognormal's
	// far tail is cut at 4 MB: sizes above belong to the 1% branch, which
	// stays under 20 MB and so under the collector's 25 MiB body limit.
	x := g.rng.NormFloat64()*0.8 + 12.9
	return int(min(math.Exp(x), 4<<20) * g.SizeScale)
}

// Next generates one report.
func (g *Generator) Next() Report {
	cat := g.cat
	siteIdx := int(cat.zipf.Uint64())
	site := cat.Sites[siteIdx]
	prod := cat.Products[pick(g.rng, []float64{cat.Products[0].Weight, cat.Products[1].Weight, cat.Products[2].Weight})]
	pw := make([]float64, len(cat.Platforms))
	for i, p := range cat.Platforms {
		pw[i] = p.Weight
	}
	plat := cat.Platforms[pick(g.rng, pw)]
	ptype := cat.ProcessTypes[pick(g.rng, cat.ProcessWeight)]
	version := prod.Versions[g.rng.IntN(len(prod.Versions))]
	now := g.Now().UTC()

	b := synth.New(minidump.ArchAMD64, synth.OS(plat.OS))
	b.SetSystemInfo(&synth.SystemInfo{ProcessorArchitecture: 9, ProcessorLevel: 6, ProcessorRevision: 0x9e0a,
		NumberOfProcessors: uint8(2 + 2*g.rng.IntN(8)), MajorVersion: plat.Major, MinorVersion: plat.Minor,
		BuildNumber: plat.Build, PlatformID: synth.OS(plat.OS), CSDVersion: plat.CSD, CPU: cpuVendor("GenuineIntel")})
	b.SetTimestamp(uint32(now.Unix()))
	for i := range cat.Modules {
		m := &cat.Modules[i]
		b.AddModule(synth.Module{Name: `C:\Program Files\` + prod.Name + `\` + m.Name, Base: moduleBase(i), Size: m.Size,
			TimeDateStamp: 0x65000000, Version: [4]uint16{140, 0, 0, 1}, CodeView: synth.PDB70(m.GUID, 1, m.DebugFile)})
	}

	// The crashing thread: one 16-byte frame per call, return addresses
	// pointing into each caller, ending with a zero return address.
	const stackBase = 0x7ffe0000
	st := synth.NewStack(stackBase, 8)
	ip := func(fr [2]int, off uint32) uint64 {
		f := cat.Modules[fr[0]].Funcs[fr[1]]
		return moduleBase(fr[0]) + uint64(f.Addr) + uint64(off%f.Size)
	}
	for d := 1; d < len(site.Frames); d++ {
		st.Word(uint64(g.rng.Uint32()))   // saved register
		st.Word(ip(site.Frames[d], 0x11)) // return address into the caller
	}
	st.Word(0)
	st.Word(0)
	crashCtx := minidump.NewContext(minidump.ArchAMD64)
	crashCtx.Set("rip", ip(site.Frames[0], 0x7))
	crashCtx.Set("rsp", stackBase)
	crashCtx.Set("rbp", 0)
	crashCtx.Set("rax", uint64(g.rng.Uint32()))
	const crashTID = 1000
	b.AddThread(synth.Thread{ID: crashTID, Stack: st.Memory(), Context: &crashCtx})

	// Other threads carry the bulk of the size: idle stacks of zeroes,
	// as a real process's many parked threads are. A stack is written
	// twice (thread descriptor and memory list, as Breakpad writers do),
	// so each costs twice its length.
	size := g.targetSize()
	for tid := uint32(crashTID + 1); size > 128<<10; tid++ {
		n := min(size/2, 256<<10+g.rng.IntN(768<<10))
		size -= 2 * n
		base := uint64(0x10000000 + (tid-crashTID)<<24)
		c := minidump.NewContext(minidump.ArchAMD64)
		c.Set("rip", moduleBase(3)+0x1010)
		c.Set("rsp", base)
		data := make([]byte, n&^7)
		b.AddThread(synth.Thread{ID: tid, Stack: synth.Memory{Base: base, Data: data}, Context: &c})
	}
	exc := synth.Exception{ThreadID: crashTID, Code: site.Reason, Address: ip(site.Frames[0], 0x7), Context: &crashCtx}
	if site.Reason == 0xC0000005 {
		exc.Params = []uint64{0, uint64(g.rng.IntN(0x100))}
	}
	if plat.Name == "Linux" || plat.Name == "Mac OS X" {
		exc.Code = 11
		exc.Params = nil
	}
	b.SetException(exc)
	b.SetMiscInfo(uint32(1000+g.rng.IntN(60000)), uint32(now.Add(-time.Duration(g.rng.IntN(7200))*time.Second).Unix()))
	dump := b.Bytes()

	uptime := g.rng.IntN(7200)
	if g.rng.IntN(10) == 0 {
		uptime = g.rng.IntN(50) // startup crashes
	}
	build := now.Add(-time.Duration(g.rng.IntN(30*24)) * time.Hour).Format("20060102150405")
	ann := map[string]string{
		"ProductName":      prod.Name,
		"Version":          version,
		"ReleaseChannel":   prod.Channel,
		"BuildID":          build,
		"CrashTime":        strconv.FormatInt(now.Unix(), 10),
		"StartupTime":      strconv.FormatInt(now.Unix()-int64(uptime), 10),
		"InstallTime":      strconv.FormatInt(now.Unix()-int64(86400+g.rng.IntN(90*86400)), 10),
		"Throttleable":     "1",
		"URL":              fmt.Sprintf("https://www.example%d.com/private/page?user=%d", g.rng.IntN(500), g.rng.IntN(1e6)),
		"useragent_locale": "en-US",
	}
	if ptype != "parent" {
		ann["ProcessType"] = ptype
	}
	if g.rng.IntN(20) == 0 {
		ann["Comments"] = "It crashed while I was typing my address"
		ann["Email"] = "someone@example.com"
	}
	if g.rng.IntN(50) == 0 {
		ann["OOMAllocationSize"] = strconv.Itoa(1 << (10 + g.rng.IntN(16)))
	}
	return Report{Annotations: ann, Dump: dump, Site: siteIdx}
}

func cpuVendor(v string) [24]byte {
	var out [24]byte
	copy(out[:], v)
	binary.LittleEndian.PutUint32(out[12:], 0x000906ea) // family 6 model 158 stepping 10
	return out
}

// Multipart renders the report as a Breakpad multipart body.
func (r Report) Multipart() (body []byte, contentType string, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range r.Annotations {
		if err := w.WriteField(k, v); err != nil {
			return nil, "", err
		}
	}
	fw, err := w.CreateFormFile(objectstore.MainDumpField, "crash.dmp")
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(r.Dump); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}
