package runtime

// version and commit are set at link time by the Makefile
// (-X .../runtime.version=... -X .../runtime.commit=...). They are the only
// package-level variables, and never change after start.
var (
	version = "dev"
	commit  = "unknown"
	build   = "local"
)

// Build describes the running binary for /__version__ and logs: the four
// keys of Dockerflow's version.json (source, version, commit, build), which
// Antenna's own system test requires. build names the build that made the
// binary (a CI build URL, or "local" for make build).
type Build struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Source  string `json:"source"`
	Build   string `json:"build"`
}

// BuildInfo returns the binary's version and commit.
func BuildInfo() Build {
	return Build{Version: version, Commit: commit, Source: "https://github.com/crashstream/crashstream", Build: build}
}
