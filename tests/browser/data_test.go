package browser

import (
	"fmt"
	"time"

	"github.com/crashstream/crashstream/schemas"
)

// secretHost is in every crash's protected url and user_comments; an
// anonymous page must never contain it.
const secretHost = "secret-host.example"

// xssSignature would run script if a page failed to escape it.
const xssSignature = `mozilla::Fail <script>window.pwned=1</script> | <img src=x onerror="window.pwned=2">`

// periods is the constructed two-period data set of the top-crashers
// check (days=7): counts per signature in the current window and in the
// previous one. Current ranks A1 B2 C3 D4; previous C1 B2 A3 E4; so the
// rank changes are A +2, B 0, C -2 and D new (absent before).
func periods() (cur, prev []struct {
	Sig string
	N   int
}) {
	cur = []struct {
		Sig string
		N   int
	}{{"sigA::crash", 12}, {"sigB::crash", 8}, {"sigC::crash", 5}, {xssSignature, 3}}
	prev = []struct {
		Sig string
		N   int
	}{{"sigC::crash", 10}, {"sigB::crash", 6}, {"sigA::crash", 2}, {"sigE::crash", 1}}
	return cur, prev
}

// wantChange is the change column the page must show per signature.
func wantChange() map[string]string {
	return map[string]string{"sigA::crash": "+2", "sigB::crash": "0", "sigC::crash": "-2", xssSignature: "new"}
}

// dataset builds the crashes: Firefox's two periods (current crashes
// spread over the five days before today and two versions, previous ones
// eight to twelve days back) and a few Fenix crashes. Nothing is dated
// today, so every crash is in the past whatever the hour.
func (s *stack) dataset(today time.Time) []*schemas.ProcessedCrash {
	var out []*schemas.ProcessedCrash
	n := 0
	add := func(product, version, sig, os string, day time.Time) {
		n++
		out = append(out, crash(s.newCrashID(n, day), product, version, sig, os, day.Add(time.Duration(n%20)*time.Hour+time.Minute), n))
	}
	cur, prev := periods()
	for _, c := range cur {
		for i := range c.N {
			os := []string{"Windows NT", "Linux", "Mac OS X"}[i%3]
			add("Firefox", []string{"130.0", "131.0"}[i%2], c.Sig, os, today.AddDate(0, 0, -1-(i%5)))
			if c.Sig == "sigA::crash" && i%6 != 5 {
				// a module loaded in 10 of sigA's 12 crashes and no other's:
				// the Correlations tab's first row
				last := out[len(out)-1]
				last.LoadedModules = append(last.LoadedModules, "injected.dll/6.6")
			}
		}
	}
	for _, c := range prev {
		for i := range c.N {
			add("Firefox", "129.0", c.Sig, "Windows NT", today.AddDate(0, 0, -8-(i%5)))
		}
	}
	for i := range 4 {
		add("Fenix", "130.1", "fenix::oom", "Android", today.AddDate(0, 0, -1-(i%3)))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// crash is one processed crash with a two-thread stack, modules (one
// without symbols) and protected annotations.
func crash(id, product, version, sig, os string, at time.Time, n int) *schemas.ProcessedCrash {
	startup := n%4 == 0
	return &schemas.ProcessedCrash{
		CrashID: id, UUID: id, Product: product, Version: version, ReleaseChannel: "release", Build: ptr(int64(20261101120000)),
		ProcessType: []string{"parent", "content"}[n%2], ReportType: "crash", OSName: os, OSVersion: "10.0.19045",
		OSPrettyVersion: os + " 10", CPUArch: "amd64", CPUInfo: "GenuineIntel family 6 model 142", CPUCount: ptr(int64(8)),
		Reason: "EXCEPTION_ACCESS_VIOLATION_READ", Address: fmt.Sprintf("0x%x", 0x1000+n), CrashingThread: ptr(int64(0)),
		Signature: sig, ProtoSignature: sig + " | main", Uptime: ptr(int64(5 + n*7)), InstallTime: ptr(int64(1700000000 + n%5)),
		StartupCrash: &startup, SubmittedTimestamp: at, DateProcessed: at.Add(30 * time.Second),
		URL: "https://" + secretHost + "/private/" + id, UserComments: "call me at " + secretHost,
		ModulesInStack:       []string{"xul.dll/ABCDEF0123456789", "ntdll.dll/0123456789ABCDEF"},
		LoadedModules:        []string{"xul.dll/130.0", "ntdll.dll/10.0"},
		CrashingThreadFrames: []schemas.Frame{{Frame: 0, Module: "xul.dll", Function: "mozilla::Crash()", File: "mfbt/Assertions.cpp", Line: ptr(int64(42)), Offset: "0x7ff0001000", ModuleOffset: "0x1000", Trust: "context"}},
		Modules: []schemas.Module{
			{Filename: "xul.dll", DebugFile: "xul.pdb", DebugID: "ABCDEF0123456789", Version: "130.0", BaseAddr: "0x7ff0000000", EndAddr: "0x7ff8000000", MissingSymbols: true},
			{Filename: "ntdll.dll", DebugFile: "ntdll.pdb", DebugID: "0123456789ABCDEF", Version: "10.0", BaseAddr: "0x7ffa000000", EndAddr: "0x7ffb000000", LoadedSymbols: true},
		},
		JSONDump: `{"crash_info":{"crashing_thread":0,"type":"EXCEPTION_ACCESS_VIOLATION_READ"},"threads":[` +
			`{"thread_name":"main","frames":[{"frame":0,"module":"xul.dll","function":"mozilla::Crash()","file":"mfbt/Assertions.cpp","line":42,"offset":"0x7ff0001000","module_offset":"0x1000","trust":"context","missing_symbols":false},` +
			`{"frame":1,"module":"xul.dll","function":null,"offset":"0x7ff0002000","module_offset":"0x2000","trust":"cfi","missing_symbols":true}]},` +
			`{"thread_name":"IPC I/O Parent","frames":[{"frame":0,"module":"ntdll.dll","function":"NtWaitForSingleObject","offset":"0x7ffa001000","module_offset":"0x1000","trust":"context","missing_symbols":false}]}]}`,
		Success: ptr(true),
	}
}
