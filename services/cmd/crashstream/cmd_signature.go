package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/crashstream/crashstream/services/processor/signature"
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
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(env.stderr, err)
		return errUsage
	}
	lists, err := cfg.Load()
	if err != nil {
		return err
	}
	gen := signature.New(lists, rs)
	if *batch {
		return signBatch(ctx, gen, env.stdin, env.stdout)
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

func signBatch(ctx context.Context, gen *signature.Generator, in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<20)
	w := bufio.NewWriterSize(out, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := readLine(r, maxSignatureInput)
		if errors.Is(err, io.EOF) && line == nil {
			break
		}
		var v any
		switch {
		case errors.Is(err, errLineTooLong):
			v = batchError{Error: fmt.Sprintf("line %d: longer than %d bytes", lineNo, maxSignatureInput)}
		case err != nil && !errors.Is(err, io.EOF):
			return err
		default:
			if crash, perr := signature.ParseCrashData(line); perr != nil {
				v = batchError{Error: fmt.Sprintf("line %d: %v", lineNo, perr)}
			} else {
				v = gen.Generate(crash)
			}
		}
		if werr := enc.Encode(v); werr != nil {
			return werr
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	return w.Flush()
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
