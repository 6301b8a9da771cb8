// Package cli implements the tool commands `stackwalk` (a drop-in for
// minidump-stackwalk --json) and `minidump` (a dump's contents as JSON).
// Both the crashstream binary and the small crashstream-tools binary run
// them; this package links only the minidump reader, the walker and the
// symbol supplier, so a binary made of it starts like the tool it
// replaces instead of paying for every service (see BENCHMARKS.md).
package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/crashstream/crashstream/services/lib/envflag"
	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// Env is what a command may touch of the process, so that it stays
// testable.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// ErrUsage reports a usage error that was already printed (exit 2).
var ErrUsage = errors.New("usage")

// Stackwalk runs `stackwalk`: a drop-in for `minidump-stackwalk --json`.
// The same flags Socorro passes are accepted, flags and operands may be
// mixed, and operands after the dump are symbol directories.
func Stackwalk(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("stackwalk", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var paths, urls envflag.StringList
	fs.Var(&paths, "symbols-path", "local symbol directory in Breakpad layout, or one .sym file (repeatable)")
	fs.Var(&urls, "symbols-url", "symbol server base URL (repeatable)")
	cacheDir := fs.String("symbols-cache", filepath.Join(os.TempDir(), "rust-minidump-cache"), "directory caching downloaded symbol files")
	fs.String("symbols-tmp", "", "accepted for compatibility (downloads stage inside the cache directory)")
	pretty := fs.Bool("pretty", false, "indent the JSON output")
	fs.Bool("json", true, "accepted for compatibility: the output is always JSON")
	outFile := fs.String("output-file", "", "write the JSON here instead of stdout")
	logFile := fs.String("log-file", "", "write errors here instead of stderr")
	fs.String("verbose", "error", "accepted for compatibility")
	fs.String("evil-json", "", "accepted for compatibility (ignored)")
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline for the whole walk, symbol downloads included")
	fetchTimeout := fs.Duration("symbols-fetch-timeout", time.Minute, "timeout of one symbol file download")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: crashstream stackwalk [flags] <dump> [symbols-path]...\n\n"+
			"Walks and symbolicates every thread of a minidump and prints minidump-stackwalk's\n"+
			"--json document.\n\n")
		fs.PrintDefaults()
	}
	// Go's flag package stops at the first operand; minidump-stackwalk
	// accepts flags anywhere, so parse operand by operand.
	var operands []string
	rest := args
	for {
		if err := envflag.Parse(fs, rest, env.Getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return ErrUsage
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(operands) == 0 {
		fmt.Fprintln(env.Stderr, "crashstream stackwalk: expected a dump file")
		fs.Usage()
		return ErrUsage
	}
	paths = append(paths, operands[1:]...)

	errOut := env.Stderr
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		errOut = f
	}
	cfg := symbols.Config{Paths: paths, URLs: urls, CacheDir: *cacheDir, FetchTimeout: *fetchTimeout,
		NegativeTTL: time.Hour, MemoryMaxBytes: 0}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(env.Stderr, "crashstream stackwalk: %v\n", err)
		return ErrUsage
	}
	cacheSet := false
	fs.Visit(func(f *flag.Flag) { cacheSet = cacheSet || f.Name == "symbols-cache" })
	if len(urls) == 0 && !cacheSet {
		cfg.CacheDir = "" // nothing to download and no cache asked for: leave the default cache alone
	}
	// With no symbol source at all the walk gets no Symbolizer, so modules
	// are reported as minidump-stackwalk does then: not missing, not loaded.
	var syms stackwalk.Symbolizer
	if len(paths) > 0 || len(urls) > 0 {
		sup, err := symbols.NewSupplier(cfg, &http.Client{Timeout: *fetchTimeout})
		if err != nil {
			return err
		}
		syms = sup
	}

	b, err := readDump(operands[0])
	if err != nil {
		fmt.Fprintf(errOut, "ERROR %v\n", err)
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	d, err := minidump.Parse(b)
	if err != nil {
		fmt.Fprintf(errOut, "ERROR %v\n", err)
		return err
	}
	res, err := stackwalk.Walk(wctx, d, syms, stackwalk.Options{})
	if err != nil {
		fmt.Fprintf(errOut, "ERROR %v\n", err)
		return err
	}
	if res.Incomplete != nil {
		fmt.Fprintf(errOut, "ERROR walk incomplete: %v\n", res.Incomplete)
	}
	w := env.Stdout
	if *outFile != "" {
		f, err := os.Create(*outFile)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := res.WriteJSON(bw, *pretty); err != nil {
		return err
	}
	return bw.Flush()
}

func readDump(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > minidump.MaxSize {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d byte limit", path, st.Size(), int64(minidump.MaxSize))
	}
	b, err := io.ReadAll(io.LimitReader(f, minidump.MaxSize+1))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Minidump runs `minidump`: the dump's system_info, crash_info, modules,
// unloaded_modules, threads (without frames), pid and process_uptime in
// minidump-stackwalk's JSON keys.
func Minidump(_ context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("minidump", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	pretty := fs.Bool("pretty", false, "indent the JSON output")
	softErrors := fs.Bool("soft-errors", false, "also list streams that failed to read, under \"reader_soft_errors\"")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: crashstream minidump [flags] <file.dmp>\n\n"+
			"Prints the dump's system_info, crash_info, modules, unloaded_modules, threads\n"+
			"(without frames), pid and process_uptime in minidump-stackwalk's JSON keys.\n\n")
		fs.PrintDefaults()
	}
	if err := envflag.Parse(fs, args, env.Getenv); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return ErrUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "crashstream minidump: expected exactly one dump file")
		fs.Usage()
		return ErrUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	d, err := minidump.Open(f, st.Size())
	if err != nil {
		return err
	}
	var out any = d.Report()
	if *softErrors {
		errs := make([]string, 0, len(d.SoftErrors))
		for _, e := range d.SoftErrors {
			errs = append(errs, e.Error())
		}
		out = struct {
			minidump.Report
			ReaderSoftErrors []string `json:"reader_soft_errors"`
		}{d.Report(), errs}
	}
	enc := json.NewEncoder(env.Stdout)
	if *pretty {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(out)
}
