// Package layering checks crashstream's import layering with `go list`
// over every module of the workspace, so that a forbidden import fails
// `make test` instead of waiting for a reviewer.
//
// Every package of the repository (module path prefix
// github.com/crashstream/crashstream/) falls in one class, by its path:
//
//   - layer: schemas/..., streams/..., storage/... — the data contract,
//     the Kafka transport and the stores.
//   - library: services/lib/... — the crash-analysis libraries, the token
//     store, envflag.
//   - runtime: services/runtime/... — the lifecycle every service shares.
//   - wiring: services/cmd/... — the binaries that wire services together.
//   - service: services/<name>/... for any other <name> (collector,
//     processor, sinks, webapp, cron, crashgen, and any added later); the
//     packages under one <name>, internal/ ones included, are one service.
//   - harness: tests/... and charts/... — test suites; they may import any
//     public package.
//
// The rule, for every import from one repository package to another (of
// a package, its tests and its external tests, with one exception below):
//
//   - a layer imports only layers;
//   - a library imports only layers and libraries;
//   - runtime imports only layers, libraries and runtime;
//   - a service imports layers, libraries, runtime and its own packages:
//     never another service, nor the wiring;
//   - the wiring may import anything but the harness;
//   - nothing but the harness imports the harness;
//   - a package in none of the classes (a new top-level directory) fails
//     until this rule places it.
//
// The exception: a service's test code may import another service's
// public packages, so that a test can drive the peer that writes what the
// service reads (the webapp's bug API tests run cron's bugassociations
// job). Such an import links into no binary; the build graph (Imports)
// keeps the rule without exception.
//
// So a library or layer never reaches a service, and services talk to each
// other only through the layers (Kafka topics and their schemas, the
// object store, ClickHouse) and the constants in schemas/protocol.
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

// repoPrefix is the module path prefix shared by every workspace module.
const repoPrefix = "github.com/crashstream/crashstream/"

// class is where a package sits in the layering.
type class int

const (
	external class = iota // not a repository package
	layer
	library
	runtimeClass
	wiring
	service
	harness
	unknown // a repository package the rule does not place
)

func (c class) String() string {
	return [...]string{"external", "layer", "library", "runtime", "wiring", "service", "harness", "unknown"}[c]
}

// classify returns a package's class and, for a service, its name.
func classify(importPath string) (class, string) {
	rel, ok := strings.CutPrefix(importPath, repoPrefix)
	if !ok {
		return external, ""
	}
	parts := strings.Split(rel, "/")
	switch parts[0] {
	case "schemas", "streams", "storage":
		return layer, ""
	case "tests", "charts":
		return harness, ""
	case "services":
		if len(parts) < 2 {
			return unknown, ""
		}
		switch parts[1] {
		case "lib":
			return library, ""
		case "runtime":
			return runtimeClass, ""
		case "cmd":
			return wiring, ""
		}
		return service, parts[1]
	}
	// A new top-level module: fail until the rule says where it sits.
	return unknown, ""
}

// allowed reports whether a package of class from (service name fromSvc)
// may import one of class to (service name toSvc).
func allowed(from class, fromSvc string, to class, toSvc string) bool {
	if to == external {
		return true
	}
	if to == unknown {
		return false
	}
	if to == harness {
		return from == harness
	}
	switch from {
	case layer:
		return to == layer
	case library:
		return to == layer || to == library
	case runtimeClass:
		return to == layer || to == library || to == runtimeClass
	case service:
		return to == layer || to == library || to == runtimeClass || (to == service && toSvc == fromSvc)
	case wiring, harness:
		return true
	}
	return false
}

// pkg is the part of `go list -json` output the check reads.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// violations returns one line per forbidden import, sorted.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from, fromSvc := classify(p.ImportPath)
		if from == unknown {
			out = append(out, strings.TrimPrefix(p.ImportPath, repoPrefix)+" is in no class of the rule")
			continue
		}
		seen := map[string]bool{}
		for i, imp := range append(append(append([]string(nil), p.Imports...), p.TestImports...), p.XTestImports...) {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			to, toSvc := classify(imp)
			testOnly := i >= len(p.Imports)
			if testOnly && from == service && to == service {
				continue // the exception in the package doc
			}
			if !allowed(from, fromSvc, to, toSvc) {
				out = append(out, fmt.Sprintf("%s (%s) imports %s (%s)",
					strings.TrimPrefix(p.ImportPath, repoPrefix), describe(from, fromSvc),
					strings.TrimPrefix(imp, repoPrefix), describe(to, toSvc)))
			}
		}
	}
	sort.Strings(out)
	return out
}

func describe(c class, svc string) string {
	if c == service {
		return "service " + svc
	}
	return c.String()
}

// goList runs `go list -json` over every package of the workspace, from
// the directory holding go.work.
func goList(t *testing.T) []pkg {
	t.Helper()
	root := repotest.Root(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", repoPrefix+"...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			pkg
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p.pkg)
	}
	return pkgs
}

// TestLayering fails on any import the package doc forbids.
func TestLayering(t *testing.T) {
	pkgs := goList(t)
	counts := map[class]int{}
	for _, p := range pkgs {
		c, _ := classify(p.ImportPath)
		counts[c]++
	}
	// The listing must cover every class, or the check proves nothing.
	for _, c := range []class{layer, library, runtimeClass, wiring, service, harness} {
		if counts[c] == 0 {
			t.Fatalf("go list found no %s package: is the pattern or the layout wrong? (%d packages)", c, len(pkgs))
		}
	}
	if v := violations(pkgs); len(v) > 0 {
		t.Errorf("%d forbidden imports (rule: tests/layering package doc):\n  %s", len(v), strings.Join(v, "\n  "))
	}
}

// TestRule pins the rule on hand-made packages, each forbidden edge
// included, so that a change to classify or allowed that lets one through
// fails here even while the tree is clean.
func TestRule(t *testing.T) {
	p := func(path string, imports ...string) pkg {
		var full []string
		for _, i := range imports {
			full = append(full, repoPrefix+i)
		}
		return pkg{ImportPath: repoPrefix + path, Imports: full}
	}
	fine := []pkg{
		p("schemas/registry", "schemas", "schemas/wire"),
		p("storage/clickhouse", "schemas"),
		p("services/lib/auth", "storage/objectstore"),
		p("services/lib/stackwalk", "services/lib/minidump"),
		p("services/runtime", "services/lib/envflag"),
		p("services/processor", "services/processor/internal/rules", "services/lib/signature", "streams", "schemas/protocol"),
		p("services/webapp/pages", "services/webapp", "services/runtime"),
		p("services/cmd/crashstream", "services/processor", "services/webapp", "services/runtime"),
		p("tests/api", "services/webapp", "services/lib/auth"),
		{ImportPath: repoPrefix + "services/collector", Imports: []string{"net/http", "github.com/twmb/franz-go/pkg/kgo"}},
		{ImportPath: repoPrefix + "services/webapp", TestImports: []string{repoPrefix + "services/cron"}},
	}
	if v := violations(fine); len(v) > 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
	for _, bad := range []pkg{
		p("schemas", "services/lib/minidump"),
		p("storage/objectstore", "services/runtime"),
		p("streams", "services/processor"),
		p("services/lib/signature", "services/processor"),
		p("services/lib/stackwalk/cli", "services/runtime"),
		p("services/lib/auth", "services/cmd/crashstream"),
		p("services/runtime", "services/webapp"),
		p("services/webapp", "services/processor/internal/rules"),
		p("services/cron", "services/webapp"),
		p("services/crashgen", "services/collector"),
		p("services/sinks", "services/cmd/crashstream"),
		p("services/processor", "tests/internal/realworld"),
		p("services/cmd/crashstream", "tests/internal/stacktest"),
		p("newmodule/x", "schemas"),
		{ImportPath: repoPrefix + "services/lib/symbols", XTestImports: []string{repoPrefix + "services/processor"}},
		{ImportPath: repoPrefix + "services/webapp", TestImports: []string{repoPrefix + "services/cmd/crashstream"}},
		{ImportPath: repoPrefix + "services/cron", Imports: []string{repoPrefix + "services/webapp"}, TestImports: []string{repoPrefix + "services/webapp"}},
	} {
		if v := violations([]pkg{bad}); len(v) != 1 {
			t.Errorf("%s importing %v: want one violation, got %v", bad.ImportPath, append(bad.Imports, bad.XTestImports...), v)
		}
	}
}
