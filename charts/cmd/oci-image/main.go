// Command oci-image packs the static crashstream binary into a FROM scratch
// OCI image layout, without a Docker engine or a registry:
//
//	oci-image -binary dist/image/crashstream -out dist/oci/crashstream -tag 0.1.0
//
// The image runs the binary as /crashstream under the numeric non-root user
// 65532:65532 (distroless's "nonroot", so the Dockerfile's image and this
// one behave alike), with the build machine's CA bundle at the path Go's
// crypto/x509 reads on Linux, so that TLS to Kafka, S3 and ClickHouse works.
// charts/scripts/build-image.sh builds the binary and calls this.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/crashstream/crashstream/charts/ociimage"
)

// nonroot is distroless's non-root user and group id.
const nonroot = "65532"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "oci-image: %v\n", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("oci-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "", "static crashstream binary to pack (required)")
	out := fs.String("out", "", "directory to write the OCI image layout to; replaced if present (required)")
	tag := fs.String("tag", "dev", "image tag recorded in index.json (org.opencontainers.image.ref.name)")
	revision := fs.String("revision", "", "source revision label (org.opencontainers.image.revision)")
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the image; empty for none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" || *out == "" {
		fs.Usage()
		return errors.New("-binary and -out are required")
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	platform, err := ociimage.StaticBinaryPlatform(bin)
	if err != nil {
		return fmt.Errorf("%s: %w", *binary, err)
	}
	// Reproducible builds: time comes from SOURCE_DATE_EPOCH, else the epoch.
	created := time.Unix(0, 0).UTC()
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		created = time.Unix(sec, 0).UTC()
	}
	files := []ociimage.File{
		{Path: "/crashstream", Mode: 0o555, Data: bin},
		// Names for the ids, for tools that print users; the kubelet does not need them.
		{Path: "/etc/passwd", Mode: 0o444, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:" + nonroot + ":" + nonroot + ":nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Mode: 0o444, Data: []byte("root:x:0:\nnonroot:x:" + nonroot + ":\n")},
	}
	if *caCerts != "" {
		ca, err := os.ReadFile(*caCerts)
		if err != nil {
			return fmt.Errorf("CA bundle (-ca-certs): %w", err)
		}
		files = append(files, ociimage.File{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o444, Data: ca})
	}
	labels := map[string]string{
		"org.opencontainers.image.title":   "crashstream",
		"org.opencontainers.image.source":  "https://github.com/crashstream/crashstream",
		"org.opencontainers.image.version": *tag,
	}
	if *revision != "" {
		labels["org.opencontainers.image.revision"] = *revision
	}
	desc, err := ociimage.Write(*out, ociimage.Options{
		Files:        files,
		Entrypoint:   []string{"/crashstream"},
		User:         nonroot + ":" + nonroot,
		Env:          []string{"PATH=/"},
		Labels:       labels,
		OS:           platform.OS,
		Architecture: platform.Architecture,
		Created:      created,
		RefName:      *tag,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s/%s %s\n", *out, platform.OS, platform.Architecture, desc.Digest)
	return nil
}
