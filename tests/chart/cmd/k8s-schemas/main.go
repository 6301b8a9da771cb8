// Command k8s-schemas extracts the Kubernetes JSON schemas of one release
// from a kubernetes-validate wheel into a directory kubeconform reads
// offline (see package k8sschema for why the schemas need rewriting):
//
//	k8s-schemas -wheel kubernetes_validate-1.37.0-py3-none-any.whl -version 1.33.0 -out .stack/kubernetes-json-schema
//
// charts/scripts/install-tools.sh runs it once; the chart tests then call
//
//	kubeconform -strict -kubernetes-version 1.33.0 \
//	  -schema-location '<out>/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/crashstream/crashstream/tests/chart/k8sschema"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "k8s-schemas: %v\n", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("k8s-schemas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wheel := fs.String("wheel", "", "kubernetes-validate wheel (.whl) to read (required)")
	version := fs.String("version", "", "Kubernetes release whose schemas to extract, e.g. 1.33.0 (required)")
	out := fs.String("out", "", "output root; schemas go to <out>/v<version>-local-strict (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *wheel == "" || *version == "" || *out == "" {
		fs.Usage()
		return errors.New("-wheel, -version and -out are required")
	}
	n, err := k8sschema.Extract(*wheel, *version, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d schemas for Kubernetes %s in %s\n", n, *version, *out)
	return nil
}
