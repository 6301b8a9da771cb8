package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	goruntime "runtime"
	"sync"
	"sync/atomic"

	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/services/runtime"
)

// maxSignatureInput bounds one crash document (stdin, or one batch line).
// Processed crashes with every thread's stack run to a few MiB.
const maxSignatureInput = 64 << 20

func signatureCommand() command {
	return command{
		name:    "signature",
		summary: "generate a crash signature from crash_data JSON (siggen signify)",
		run:     runSignature,
	}
}

// runSignature is a drop-in for siggen's signify: a crash_data object or a
// processed crash on stdin, {"signature","proto_signature","notes"} on
// stdout. --batch reads JSON lines and writes one result line per input
// line, in order, with {"error": ...} for a line that is not crash data.
func runSignature(ctx context.Context, args []string, env cmdEnv) error {
	fs := flag.NewFlagSet("signature", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var cfg signature.Config
	fs.StringVar(&cfg.ListDir, "signature-list-dir", "",
		"directory of signature list files to use instead of the built-in ones")
	batch := fs.Bool("batch", false, "read JSON lines, write one JSON result line per input line")
	// signify's -v prints its debug log; crashstream keeps none.
	fs.Bool("v", false, "accepted for compatibility with signify (no debug log is kept)")
	fs.Bool("verbose", false, "accepted for compatibility with signify (no debug log is kept)")
	workers := fs.Int("workers", goruntime.GOMAXPROCS(0), "batch mode: lines signed in parallel")
	ruleset := fs.String("ruleset", "siggen",
		"siggen: siggen 2.2.20241029's rules (as signify); socorro: add Socorro's SigPrintableCharsOnly")
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: crashstream signature [flags] < crash_data.json\n\n")
		fs.PrintDefaults()
	}
	if err := runtime.ParseFlags(fs, args, env.getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	rs := signature.RulesetSiggen
	switch *ruleset {
	case "siggen":
	case "socorro":
		rs = signature.RulesetSocorro
	default:
		fmt.Fprintf(env.stderr, "-ruleset: want siggen or socorro, got %q\n", *ruleset)
		return errUsage
	}
	if *workers < 1 || *workers > 256 {
		fmt.Fprintf(env.stderr, "-workers: want 1 to 256, got %d\n", *workers)
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	if err := signature.CheckListDir(cfg.ListDir); err != nil {
		fmt.Fprintf(env.stderr, "-signature-list-dir: %v\n", err)
		return errUsage
	}
	lists, err := cfg.Load()
	if err != nil {
		return err
	}
	gen := signature.New(lists, rs)
	if *batch {
		return signBatch(ctx, gen, *workers, env.stdin, env.stdout)
	}
	return signOne(gen, env.stdin, env.stdout)
}

func signOne(gen *signature.Generator, in io.Reader, out io.Writer) error {
	data, err := io.ReadAll(io.LimitReader(in, maxSignatureInput+1))
	if err != nil {
		return err
	}
	if len(data) > maxSignatureInput {
		return fmt.Errorf("input larger than %d bytes", maxSignatureInput)
	}
	crash, err := signature.ParseCrashData(data)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(gen.Generate(crash))
}

// batchError is the output line for an input line that is not crash data,
// so that output line N still answers input line N.
type batchError struct {
	Error string `json:"error"`
}

// batchChunk is how many lines are read before they are signed in
// parallel and written, in order; it bounds memory and latency.
const batchChunk = 256

func signBatch(ctx context.Context, gen *signature.Generator, workers int, in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<20)
	w := bufio.NewWriterSize(out, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	lines := make([][]byte, 0, batchChunk)
	results := make([]any, batchChunk)
	lineNo, done := 0, false
	for !done {
		if err := ctx.Err(); err != nil {
			return err
		}
		lines = lines[:0]
		first := lineNo + 1
		for len(lines) < batchChunk {
			line, err := readLine(r, maxSignatureInput)
			if errors.Is(err, io.EOF) && line == nil {
				done = true
				break
			}
			lineNo++
			switch {
			case errors.Is(err, errLineTooLong):
				line = nil // reported below
			case err != nil && !errors.Is(err, io.EOF):
				return err
			}
			lines = append(lines, line)
			if errors.Is(err, io.EOF) {
				done = true
				break
			}
		}
		signChunk(gen, workers, first, lines, results)
		for i := range lines {
			if err := enc.Encode(results[i]); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

// signChunk signs lines[i] into results[i] with up to workers goroutines.
// A nil line stands for one that was too long.
func signChunk(gen *signature.Generator, workers, first int, lines [][]byte, results []any) {
	sign := func(i int) {
		line := lines[i]
		if line == nil {
			results[i] = batchError{Error: fmt.Sprintf("line %d: longer than %d bytes", first+i, maxSignatureInput)}
			return
		}
		crash, err := signature.ParseCrashData(line)
		if err != nil {
			results[i] = batchError{Error: fmt.Sprintf("line %d: %v", first+i, err)}
			return
		}
		results[i] = gen.Generate(crash)
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(workers, len(lines)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(lines); i = int(next.Add(1) - 1) {
				sign(i)
			}
		})
	}
	wg.Wait()
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline. An over-long line is
// skipped to its end and reported as errLineTooLong; at the end of input
// the last line comes with io.EOF (nil line when there was none).
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > limit+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			if tooLong {
				return nil, errLineTooLong
			}
			return line[:len(line)-1], nil
		case errors.Is(err, io.EOF):
			if tooLong {
				return nil, errLineTooLong
			}
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, io.EOF
		default:
			return nil, err
		}
	}
}
