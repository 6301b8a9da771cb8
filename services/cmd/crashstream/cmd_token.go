package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// tokenCommand manages API tokens in the token store (the crash bucket, see
// the auth package), so it needs only the s3.* flags.
func tokenCommand() command {
	return command{
		name:    "token",
		summary: "create, list and revoke API tokens: token create -name N -permissions p1,p2 -expires 90d | list | revoke <id-prefix-or-name>",
		run:     runToken,
	}
}

const tokenUsage = `Usage:
  crashstream token create -name NAME [-permissions view_pii,view_rawdump,reprocess_crashes,upload_symbols] [-expires 90d]
  crashstream token list
  crashstream token revoke <id-prefix (6+ hex chars) or name>

The raw token is printed once, at creation; only its SHA-256 is stored.
Every flag can also be set by environment (-s3.endpoint -> CRASHSTREAM_S3_ENDPOINT).

Flags:
`

func runToken(ctx context.Context, args []string, env cmdEnv) error {
	fs := flag.NewFlagSet("crashstream token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var s3 objectstore.Config
	s3.RegisterFlags(fs)
	name := fs.String("name", "", "token name (create)")
	perms := fs.String("permissions", "", "comma-separated permissions (create): "+strings.Join(auth.AllPermissions(), ", "))
	expires := fs.String("expires", "90d", "lifetime (create): a Go duration or a number of days like 90d")
	usage := func() {
		fmt.Fprint(env.stderr, tokenUsage)
		fs.SetOutput(env.stderr)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		usage()
		return flag.ErrHelp
	}
	verb := args[0]
	// flags may come before or after the positional argument
	var pos []string
	rest := args[1:]
	for {
		if err := runtime.ParseFlags(fs, rest, env.getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return err
			}
			fmt.Fprintf(env.stderr, "crashstream token: %v\n", err)
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if err := s3.Validate(); err != nil {
		return err
	}
	client, err := objectstore.New(s3)
	if err != nil {
		return err
	}
	defer client.Close()
	bucket := client.Bucket(s3.Bucket)
	if verb == "create" {
		// the first token of a fresh install may come before any crash
		if err := bucket.Ensure(ctx); err != nil {
			return err
		}
	}
	store := auth.NewStore(auth.BucketBlobs(bucket))
	switch verb {
	case "create":
		if len(pos) > 0 {
			fmt.Fprintf(env.stderr, "crashstream token create: unexpected arguments %v\n", pos)
			return errUsage
		}
		ttl, err := parseLifetime(*expires)
		if err != nil {
			fmt.Fprintf(env.stderr, "crashstream token create: -expires: %v\n", err)
			return errUsage
		}
		var list []string
		for _, p := range strings.Split(*perms, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		key, t, err := store.Create(ctx, *name, list, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s\n", key)
		fmt.Fprintf(env.stderr, "token %q (id %s) with [%s], expires %s; the key above is shown only once\n",
			t.Name, t.Hash[:12], strings.Join(t.Permissions, ","), t.Expires.Format(time.RFC3339))
		return nil
	case "list":
		tokens, err := store.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tPERMISSIONS\tCREATED\tEXPIRES\tSTATE")
		now := time.Now()
		for _, t := range tokens {
			state := "active"
			switch {
			case t.Revoked:
				state = "revoked"
			case !t.Valid(now):
				state = "expired"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Hash[:12], t.Name, strings.Join(t.Permissions, ","),
				t.Created.Format(time.RFC3339), t.Expires.Format(time.RFC3339), state)
		}
		return w.Flush()
	case "revoke":
		if len(pos) != 1 {
			fmt.Fprintf(env.stderr, "crashstream token revoke: want one id prefix or name\n")
			return errUsage
		}
		found, err := store.Find(ctx, pos[0])
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			return fmt.Errorf("no token with id prefix or name %q", pos[0])
		case 1:
		default:
			return fmt.Errorf("%d tokens match %q; use a longer id prefix", len(found), pos[0])
		}
		if err := store.Revoke(ctx, found[0].Hash); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "revoked %s (%s)\n", found[0].Hash[:12], found[0].Name)
		return nil
	default:
		fmt.Fprintf(env.stderr, "crashstream token: unknown command %q\n", verb)
		usage()
		return errUsage
	}
}

// parseLifetime accepts Go durations and whole days ("90d").
func parseLifetime(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3650 {
			return 0, fmt.Errorf("want 1d..3650d, got %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive duration like 90d or 12h, got %q", s)
	}
	return d, nil
}
