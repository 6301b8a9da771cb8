package crashgen

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Platform is one OS a product ships on.
type Platform struct {
	// Name is the minidump OS name as the stackwalker prints it.
	Name string
	// OS selects the SystemInfo platform id.
	OS uint32
	// Major, Minor, Build are the OS version numbers.
	Major, Minor, Build uint32
	// CSD is the service pack / kernel text.
	CSD string
	// Weight is the platform's share of crashes.
	Weight float64
}

// Product is one product with its versions and channels.
type Product struct {
	Name     string
	Versions []string
	Channel  string
	Weight   float64
}

// Module is a generated binary: a name, a debug id, a code id, a size, and
// its functions (module-relative, contiguous).
type Module struct {
	Name      string
	DebugFile string
	DebugID   string // Breakpad form: 32 hex GUID + age
	GUID      minidump.GUID
	CodeID    string
	Size      uint32
	Funcs     []Func
}

// Func is one function of a generated module.
type Func struct {
	Name string
	File string
	Addr uint32
	Size uint32
	Line uint32
}

// Site is one crash site: a call chain (innermost first) of functions,
// each a (module index, function index) pair, plus the crash reason.
type Site struct {
	Frames [][2]int
	Reason uint32 // Windows exception code or Linux signal
}

// Catalog is the world crashes are drawn from.
type Catalog struct {
	Products      []Product
	Platforms     []Platform
	ProcessTypes  []string
	ProcessWeight []float64
	Modules       []Module
	Sites         []Site
	zipf          *rand.Zipf
}

var funcWords = []string{"Layout", "Paint", "Reflow", "Dispatch", "Run", "Process", "Handle", "Update", "Compute",
	"Resolve", "Flush", "Notify", "Invalidate", "Decode", "Encode", "Parse", "Render", "Composite", "Schedule", "Finalize"}
var classWords = []string{"nsDocShell", "PresShell", "nsFrame", "GCRuntime", "Compositor", "ImageDecoder",
	"HttpChannel", "TextureClient", "WebRenderBridge", "EventDispatcher", "ScriptLoader", "MediaDecoder",
	"WorkerPrivate", "IndexedDB", "CacheIndex", "StyleSheet", "nsThread", "TaskController"}
var namespaces = []string{"mozilla", "mozilla::dom", "mozilla::layers", "mozilla::gfx", "mozilla::net", "js::gc", "js::jit"}

// NewCatalog builds the world from a seed: nSites crash sites, drawn with
// a Zipf exponent of s (s > 1; 1.1 gives a realistic long tail).
func NewCatalog(seed uint64, nSites int, s float64) *Catalog {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := &Catalog{
		Products: []Product{
			{"Firefox", []string{"140.0", "140.0.1", "141.0", "142.0b3", "143.0a1"}, "release", 0.7},
			{"Thunderbird", []string{"128.5.0", "140.1.0"}, "release", 0.2},
			{"Fenix", []string{"141.0", "142.0b5"}, "beta", 0.1},
		},
		Platforms: []Platform{
			{"Windows NT", uint32(minidump.PlatformWin32NT), 10, 0, 19045, "", 0.62},
			{"Windows NT", uint32(minidump.PlatformWin32NT), 10, 0, 22631, "", 0.2},
			{"Linux", uint32(minidump.PlatformLinux), 6, 1, 0, "Linux 6.1.0-18-amd64 #1 SMP x86_64", 0.1},
			{"Mac OS X", uint32(minidump.PlatformMacOS), 14, 2, 0, "23C71", 0.08},
		},
		ProcessTypes:  []string{"parent", "content", "gpu", "rdd", "utility"},
		ProcessWeight: []float64{0.35, 0.45, 0.12, 0.05, 0.03},
	}
	for _, name := range []string{"xul", "mozglue", "nss3", "libc", "ntdll", "kernelbase", "app"} {
		c.Modules = append(c.Modules, newModule(rng, name))
	}
	reasons := []uint32{0xC0000005, 0xC0000005, 0xC0000005, 0x80000003, 0xC00000FD, 11, 6}
	for i := 0; i < nSites; i++ {
		depth := 4 + rng.IntN(10)
		site := Site{Reason: reasons[rng.IntN(len(reasons))]}
		for d := 0; d < depth; d++ {
			// Mostly xul, with system libraries at the top and the app at the bottom.
			mi := 0
			switch {
			case d == 0 && rng.IntN(4) == 0:
				mi = 3 + rng.IntN(3)
			case d == depth-1:
				mi = 6
			case rng.IntN(6) == 0:
				mi = 1 + rng.IntN(2)
			}
			site.Frames = append(site.Frames, [2]int{mi, rng.IntN(len(c.Modules[mi].Funcs))})
		}
		c.Sites = append(c.Sites, site)
	}
	c.zipf = rand.NewZipf(rand.New(rand.NewPCG(seed+1, seed+2)), s, 1, uint64(nSites-1))
	return c
}

func newModule(rng *rand.Rand, name string) Module {
	sum := sha256.Sum256([]byte(fmt.Sprintf("crashgen-module-%s-%d", name, rng.Uint64())))
	var g minidump.GUID
	copy(g[:], sum[:16])
	m := Module{Name: name + ".dll", DebugFile: name + ".pdb", GUID: g}
	m.DebugID = g.String() + "1" // Breakpad: GUID, then the age in lowercase hex

	m.CodeID = fmt.Sprintf("%08X%x", binaryLE32(sum[16:20]), 0x400000)
	n := 200 + rng.IntN(400)
	addr := uint32(0x1000)
	for i := 0; i < n; i++ {
		size := uint32(0x40 + rng.IntN(0x400))
		f := Func{Addr: addr, Size: size, Line: uint32(10 + rng.IntN(3000))}
		ns := namespaces[rng.IntN(len(namespaces))]
		cls := classWords[rng.IntN(len(classWords))]
		fn := funcWords[rng.IntN(len(funcWords))]
		switch name {
		case "libc", "ntdll", "kernelbase":
			f.Name = fmt.Sprintf("%s_%s%d", strings.ToLower(fn), strings.ToLower(cls[:3]), i)
			f.File = ""
		default:
			f.Name = fmt.Sprintf("%s::%s::%s%d()", ns, cls, fn, i)
			f.File = fmt.Sprintf("/builds/worker/checkouts/gecko/%s/%s.cpp", strings.ReplaceAll(ns, "::", "/"), cls)
		}
		m.Funcs = append(m.Funcs, f)
		addr += size + 0x10
	}
	m.Size = (addr + 0xfff) &^ 0xfff
	return m
}

func binaryLE32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// pick draws an index by weight.
func pick(rng *rand.Rand, weights []float64) int {
	x := rng.Float64()
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
