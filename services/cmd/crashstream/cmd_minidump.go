package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/crashstream/crashstream/services/processor/minidump"
	"github.com/crashstream/crashstream/services/runtime"
)

func minidumpCommand() command {
	return command{
		name:    "minidump",
		summary: "print a minidump's contents as JSON",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			fs := flag.NewFlagSet("minidump", flag.ContinueOnError)
			fs.SetOutput(env.stderr)
			pretty := fs.Bool("pretty", false, "indent the JSON output")
			softErrors := fs.Bool("soft-errors", false, "also list streams that failed to read, under \"reader_soft_errors\"")
			fs.Usage = func() {
				fmt.Fprintf(env.stderr, "Usage: crashstream minidump [flags] <file.dmp>\n\n"+
					"Prints the dump's system_info, crash_info, modules, unloaded_modules, threads\n"+
					"(without frames), pid and process_uptime in minidump-stackwalk's JSON keys.\n\n")
				fs.PrintDefaults()
			}
			if err := runtime.ParseFlags(fs, args, env.getenv); err != nil {
				if err == flag.ErrHelp {
					return err
				}
				return errUsage
			}
			if fs.NArg() != 1 {
				fmt.Fprintln(env.stderr, "crashstream minidump: expected exactly one dump file")
				fs.Usage()
				return errUsage
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
			enc := json.NewEncoder(env.stdout)
			if *pretty {
				enc.SetIndent("", "  ")
			}
			return enc.Encode(out)
		},
	}
}
