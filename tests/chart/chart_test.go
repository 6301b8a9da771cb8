// Package chart tests the Helm chart in charts/crashstream and the image
// build: the chart lints, renders with the default and the production
// values, validates against the Kubernetes schemas, and every workload it
// renders is probed, bounded and non-root; the image is FROM scratch with
// the right entrypoint and a non-root user.
//
// The tools (helm, kubeconform, the Kubernetes schemas) come from
// tests/chart/install-tools.sh (make oracles); without them the chart tests
// skip and say so.
package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"

	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// k8sVersions are the Kubernetes releases the manifests are validated
// against; install-tools.sh extracts exactly these.
var k8sVersions = []string{"1.25.0", "1.37.0"}

// crdKinds have no schema in the Kubernetes set (they are CRDs); the tests
// check their structure themselves.
const crdKinds = "ServiceMonitor,ScaledObject"

// components maps each long-running service to its subcommand.
var components = map[string]string{
	"collector":       "collector",
	"processor":       "processor",
	"sinkClickhouse":  "sink-clickhouse",
	"sinkObjectstore": "sink-objectstore",
	"sinkTelemetry":   "sink-telemetry",
	"webapp":          "webapp",
	"cron":            "cron",
}

type env struct {
	root, chart, helm, kubeconform, schemas string
}

func repoRoot(t *testing.T) string { return repotest.Root(t) }

// tools finds the installed tools, or skips the test naming the installer.
func tools(t *testing.T) env {
	t.Helper()
	root := repoRoot(t)
	e := env{
		root:        root,
		chart:       filepath.Join(root, "charts", "crashstream"),
		helm:        filepath.Join(root, ".stack", "bin", "helm"),
		kubeconform: filepath.Join(root, ".stack", "bin", "kubeconform"),
		schemas:     filepath.Join(root, ".stack", "kubernetes-json-schema"),
	}
	for _, p := range []string{e.helm, e.kubeconform, filepath.Join(e.schemas, ".source")} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("chart tools not installed (%s missing): run tests/chart/install-tools.sh (make oracles)", p)
		}
	}
	return e
}

// helmRun runs helm with its state confined to a temporary home, so the
// tests neither read nor write the user's helm configuration.
func (e env) helmRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(e.helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		// Only helm's own words: the arguments would echo the values a
		// test looks for in the message.
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", args[0], err, stderr.String())
	}
	return stdout.String(), nil
}

// values is one way of installing the chart.
type values struct {
	name  string
	files []string // relative to the chart
	sets  []string // --set a=b
	// setFiles are --set-file a=path, the path relative to the repository.
	setFiles []string
	// external names the ConfigMaps and Secrets the install expects to
	// exist already (the operator's), as opposed to rendered ones.
	external []string
}

var installs = []values{
	{name: "default"},
	{name: "production", files: []string{"values-production.yaml"},
		external: []string{"crashstream-credentials", "kafka-client-tls", "throttle-rules", "signature-lists"}},
	{name: "keda and inline files", sets: []string{
		"processor.autoscaling.enabled=false", "processor.keda.enabled=true", "kafka.topicPrefix=prod.",
		"processor.priorityConsumerGroup=urgent",
		"collector.extraEnv[0].name=CRASHSTREAM_COLLECTOR_SUBMITTER_TOKEN",
		"collector.extraEnv[0].valueFrom.secretKeyRef.name=crashstream",
		"collector.extraEnv[0].valueFrom.secretKeyRef.key=s3-access-key",
		"processor.keda.authenticationRef=kafka-auth",
		"collector.throttleRules.inline=rules: []",
		"processor.signatureLists.inline.irrelevant_signature_re\\.txt=^abort$",
		"processor.symbols.urls={https://symbols.example.com/}",
		"kafka.sasl.mechanism=PLAIN", "kafka.sasl.username=u", "kafka.sasl.password=p",
		"schemaRegistry.url=http://registry:8081",
		"clickhouse.cluster=crashstream_cluster", "clickhouse.secure=true", "clickhouse.addr=clickhouse:9440",
		"kafka.tls.enabled=true", "kafka.tls.secretName=kafka-ca", "kafka.tls.clientAuth=true",
		"ingress.enabled=true", "serviceMonitor.enabled=true",
		"image.digest=sha256:" + strings.Repeat("ab", 32),
	}, setFiles: []string{"cron.alertRules.inline=" + alertRulesFile}, external: []string{"kafka-ca"}},
	{name: "minimal", sets: []string{
		"collector.autoscaling.enabled=false", "processor.autoscaling.enabled=false",
		"webapp.enabled=false", "cron.enabled=false", "migrate.enabled=false",
		"sinkTelemetry.pdb.enabled=false",
	}},
}

// args are helm template's arguments, rendering for the oldest Kubernetes
// release we validate against unless kubeVersion says otherwise.
func (v values) args(e env, kubeVersion ...string) []string {
	k8s := k8sVersions[0]
	if len(kubeVersion) > 0 {
		k8s = kubeVersion[0]
	}
	args := []string{"template", "crashstream", e.chart, "--namespace", "crash", "--kube-version", k8s}
	for _, f := range v.files {
		args = append(args, "-f", filepath.Join(e.chart, f))
	}
	for _, s := range v.sets {
		args = append(args, "--set", s)
	}
	for _, s := range v.setFiles {
		key, path, _ := strings.Cut(s, "=")
		args = append(args, "--set-file", key+"="+filepath.Join(e.root, path))
	}
	return args
}

// object is one rendered manifest.
type object map[string]any

func (o object) kind() string { return str(o, "kind") }
func (o object) name() string { return str(o, "metadata", "name") }

// get walks maps by keys; nil when a key is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			if o, ok2 := v.(object); ok2 {
				m = o
			} else {
				return nil
			}
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := get(v, keys...).(string)
	return s
}

func list(v any, keys ...string) []any {
	l, _ := get(v, keys...).([]any)
	return l
}

func render(t *testing.T, e env, v values, kubeVersion ...string) (string, []object) {
	t.Helper()
	out, err := e.helmRun(t, v.args(e, kubeVersion...)...)
	require.NoError(t, err)
	dec := yaml.NewDecoder(strings.NewReader(out))
	var objs []object
	for {
		// Decode plain maps: into a named map type, yaml.v3 would give
		// nested maps that type too.
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if o != nil {
			objs = append(objs, object(o))
		}
	}
	require.NotEmpty(t, objs)
	return out, objs
}

func byKind(objs []object, kind string) map[string]object {
	m := map[string]object{}
	for _, o := range objs {
		if o.kind() == kind {
			m[o.name()] = o
		}
	}
	return m
}

func TestHelmLint(t *testing.T) {
	e := tools(t)
	for _, v := range installs {
		t.Run(v.name, func(t *testing.T) {
			args := []string{"lint", "--strict", e.chart}
			for _, f := range v.files {
				args = append(args, "-f", filepath.Join(e.chart, f))
			}
			for _, s := range v.sets {
				args = append(args, "--set", s)
			}
			out, err := e.helmRun(t, args...)
			require.NoError(t, err)
			assert.Contains(t, out, "1 chart(s) linted, 0 chart(s) failed")
		})
	}
}

// kubeconformResult is one line of kubeconform -output json.
type kubeconformResult struct {
	Filename string `json:"filename"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Status   string `json:"status"`
	Msg      string `json:"msg"`
}

// validate runs kubeconform once over several manifest streams (keyed by a
// name, which becomes the file name) strictly against the Kubernetes schemas
// of one release, and returns the per-resource results by name. One run
// for all streams, because loading the schemas dominates its time.
func (e env) validate(t *testing.T, streams map[string]string, k8sVersion string) (map[string][]kubeconformResult, error) {
	t.Helper()
	dir := t.TempDir()
	args := []string{
		"-strict", "-output", "json", "-verbose",
		"-kubernetes-version", k8sVersion,
		"-schema-location", filepath.Join(e.schemas, "{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}", "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
		"-skip", crdKinds,
		"-n", "1",
	}
	byFile := map[string]string{}
	for name, manifests := range streams {
		file := filepath.Join(dir, fmt.Sprintf("%d.yaml", len(byFile)))
		require.NoError(t, os.WriteFile(file, []byte(manifests), 0o644))
		byFile[file] = name
		args = append(args, file)
	}
	cmd := exec.Command(e.kubeconform, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Resources []kubeconformResult `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "kubeconform output: %s %s", stdout.String(), stderr.String())
	res := map[string][]kubeconformResult{}
	for _, r := range out.Resources {
		name, ok := byFile[r.Filename]
		require.True(t, ok, "kubeconform reports on an unknown file %q", r.Filename)
		res[name] = append(res[name], r)
	}
	return res, runErr
}

func TestKubeconform(t *testing.T) {
	e := tools(t)
	for _, k8s := range k8sVersions {
		streams := map[string]string{}
		counts := map[string]int{}
		for _, v := range installs {
			manifests, objs := render(t, e, v, k8s)
			streams[v.name] = manifests
			counts[v.name] = len(objs)
		}
		res, err := e.validate(t, streams, k8s)
		require.NoError(t, err, "kubeconform found invalid resources: %v", res)
		for _, v := range installs {
			t.Run(v.name+"/k8s-"+k8s, func(t *testing.T) {
				for _, r := range res[v.name] {
					assert.Contains(t, []string{"statusValid", "statusSkipped"}, r.Status, "%s %s: %s", r.Kind, r.Name, r.Msg)
					if r.Status == "statusSkipped" {
						assert.Contains(t, strings.Split(crdKinds, ","), r.Kind, "only CRDs may be skipped")
					}
				}
				// Every rendered object was looked at: none silently dropped.
				assert.Len(t, res[v.name], counts[v.name])
			})
		}
	}
}

// TestKubeconformCatches proves the validation is not a no-op: a manifest
// with an unknown field, a wrong type, or an unknown kind must fail.
func TestKubeconformCatches(t *testing.T) {
	e := tools(t)
	manifests, _ := render(t, e, installs[0])
	tests := []struct {
		name    string
		mutate  func(string) string
		wantMsg string
	}{
		{"unknown field", func(s string) string {
			return strings.Replace(s, "terminationGracePeriodSeconds:", "terminationGraceSeconds:", 1)
		}, "additional properties"},
		{"wrong type", func(s string) string {
			return strings.Replace(s, "containerPort: 9100", "containerPort: admin", 1)
		}, "integer"},
		{"unknown kind", func(s string) string {
			return s + "\n---\napiVersion: apps/v1\nkind: Deplyment\nmetadata: {name: x}\n"
		}, "could not find schema"},
	}
	streams := map[string]string{}
	for _, tt := range tests {
		streams[tt.name] = tt.mutate(manifests)
		require.NotEqual(t, manifests, streams[tt.name], "%s: the mutation must apply", tt.name)
	}
	res, err := e.validate(t, streams, k8sVersions[0])
	require.Error(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var msgs []string
			for _, r := range res[tt.name] {
				if r.Status != "statusValid" && r.Status != "statusSkipped" {
					msgs = append(msgs, r.Msg)
				}
			}
			require.Len(t, msgs, 1)
			assert.Contains(t, msgs[0], tt.wantMsg)
		})
	}
}

// pod is one rendered workload's pod template.
type pod struct {
	owner string
	kind  string
	spec  any
	meta  any
}

func pods(objs []object) []pod {
	var ps []pod
	for _, o := range objs {
		switch o.kind() {
		case "Deployment", "Job", "StatefulSet", "DaemonSet":
			ps = append(ps, pod{owner: o.name(), kind: o.kind(), spec: get(o, "spec", "template", "spec"), meta: get(o, "spec", "template", "metadata")})
		case "CronJob":
			ps = append(ps, pod{owner: o.name(), kind: o.kind(), spec: get(o, "spec", "jobTemplate", "spec", "template", "spec")})
		}
	}
	return ps
}

func containers(spec any) []any {
	return append(list(spec, "initContainers"), list(spec, "containers")...)
}

func boolAt(v any, keys ...string) (bool, bool) {
	b, ok := get(v, keys...).(bool)
	return b, ok
}

func intAt(v any, keys ...string) (int, bool) {
	n, ok := get(v, keys...).(int)
	return n, ok
}

// TestContainersHardened is the contract of every rendered container:
// probes (long-running ones), requests and limits, and a non-root,
// read-only, no-escalation security context.
func TestContainersHardened(t *testing.T) {
	e := tools(t)
	for _, v := range installs {
		t.Run(v.name, func(t *testing.T) {
			_, objs := render(t, e, v)
			ps := pods(objs)
			require.NotEmpty(t, ps)
			for _, p := range ps {
				podSC := get(p.spec, "securityContext")
				for _, c := range containers(p.spec) {
					where := p.kind + "/" + p.owner + "/" + str(c, "name")
					for _, kind := range []string{"requests", "limits"} {
						for _, res := range []string{"cpu", "memory"} {
							assert.NotEmpty(t, get(c, "resources", kind, res), "%s: resources.%s.%s", where, kind, res)
						}
					}

					sc := get(c, "securityContext")
					nonRoot, ok := boolAt(sc, "runAsNonRoot")
					if !ok {
						nonRoot, _ = boolAt(podSC, "runAsNonRoot")
					}
					assert.True(t, nonRoot, "%s: runAsNonRoot", where)
					uid, ok := intAt(sc, "runAsUser")
					if !ok {
						uid, ok = intAt(podSC, "runAsUser")
					}
					assert.True(t, ok && uid != 0, "%s: runAsUser must be set and not 0", where)
					ro, _ := boolAt(sc, "readOnlyRootFilesystem")
					assert.True(t, ro, "%s: readOnlyRootFilesystem", where)
					esc, ok := boolAt(sc, "allowPrivilegeEscalation")
					assert.True(t, ok && !esc, "%s: allowPrivilegeEscalation must be false", where)
					assert.Contains(t, list(sc, "capabilities", "drop"), "ALL", "%s: capabilities drop ALL", where)

					// A read-only root still needs a writable /tmp.
					var mounts []string
					for _, m := range list(c, "volumeMounts") {
						mounts = append(mounts, str(m, "mountPath"))
					}
					assert.Contains(t, mounts, "/tmp", "%s: /tmp volume", where)

					if p.kind != "Deployment" {
						continue // a Job runs to completion: probes do not apply
					}
					ports := map[string]int{}
					for _, port := range list(c, "ports") {
						n, _ := intAt(port, "containerPort")
						ports[str(port, "name")] = n
					}
					assert.Equal(t, 9100, ports["admin"], "%s: admin port", where)
					for probe, path := range map[string]string{"livenessProbe": "/__lbheartbeat__", "readinessProbe": "/__heartbeat__", "startupProbe": "/__lbheartbeat__"} {
						assert.Equal(t, path, str(c, probe, "httpGet", "path"), "%s: %s path", where, probe)
						assert.Equal(t, "admin", get(c, probe, "httpGet", "port"), "%s: %s port", where, probe)
					}
				}
			}
		})
	}
}

// TestWiring checks that the objects refer to each other correctly:
// selectors select pods, ports and volumes exist, config comes from the
// rendered ConfigMap and Secret.
func TestWiring(t *testing.T) {
	e := tools(t)
	for _, v := range installs {
		t.Run(v.name, func(t *testing.T) {
			_, objs := render(t, e, v)
			deployments := byKind(objs, "Deployment")
			configMaps := byKind(objs, "ConfigMap")
			secrets := byKind(objs, "Secret")
			services := byKind(objs, "Service")

			podLabels := func(d object) map[string]any {
				l, _ := get(d, "spec", "template", "metadata", "labels").(map[string]any)
				return l
			}
			selects := func(sel map[string]any, labels map[string]any) bool {
				if len(sel) == 0 {
					return false
				}
				for k, v := range sel {
					if labels[k] != v {
						return false
					}
				}
				return true
			}
			selectedPods := func(sel map[string]any) []string {
				var names []string
				for n, d := range deployments {
					if selects(sel, podLabels(d)) {
						names = append(names, n)
					}
				}
				return names
			}

			for n, d := range deployments {
				sel, _ := get(d, "spec", "selector", "matchLabels").(map[string]any)
				assert.Equal(t, []string{n}, selectedPods(sel), "Deployment %s selects only its own pods", n)
			}
			for n, s := range services {
				sel, _ := get(s, "spec", "selector").(map[string]any)
				matched := selectedPods(sel)
				require.Len(t, matched, 1, "Service %s selects one Deployment", n)
				c := list(deployments[matched[0]], "spec", "template", "spec", "containers")[0]
				names := map[string]bool{}
				for _, p := range list(c, "ports") {
					names[str(p, "name")] = true
				}
				for _, p := range list(s, "spec", "ports") {
					assert.True(t, names[str(p, "targetPort")], "Service %s targets port %q of %s", n, str(p, "targetPort"), matched[0])
				}
			}
			for n, pdb := range byKind(objs, "PodDisruptionBudget") {
				sel, _ := get(pdb, "spec", "selector", "matchLabels").(map[string]any)
				assert.Len(t, selectedPods(sel), 1, "PDB %s covers one Deployment", n)
			}
			for n, h := range byKind(objs, "HorizontalPodAutoscaler") {
				target := str(h, "spec", "scaleTargetRef", "name")
				require.Contains(t, deployments, target, "HPA %s", n)
				assert.Nil(t, get(deployments[target], "spec", "replicas"), "HPA %s: its Deployment leaves replicas to it", n)
			}
			for n, so := range byKind(objs, "ScaledObject") {
				target := str(so, "spec", "scaleTargetRef", "name")
				require.Contains(t, deployments, target, "ScaledObject %s", n)
				assert.Nil(t, get(deployments[target], "spec", "replicas"), "ScaledObject %s: its Deployment leaves replicas to it", n)
				assert.NotContains(t, byKind(objs, "HorizontalPodAutoscaler"), target, "KEDA and the CPU HPA must not both scale %s", target)
				// KEDA watches the groups the processor is told to use.
				env := map[string]string{}
				for _, ev := range list(list(deployments[target], "spec", "template", "spec", "containers")[0], "env") {
					env[str(ev, "name")] = str(ev, "value")
				}
				want := map[string]string{
					"crash.received.v1":  env["CRASHSTREAM_PROCESSOR_GROUP"],
					"crash.reprocess.v1": env["CRASHSTREAM_PROCESSOR_GROUP"],
					"crash.priority.v1":  env["CRASHSTREAM_PROCESSOR_PRIORITY_GROUP"],
				}
				triggers := list(so, "spec", "triggers")
				require.Len(t, triggers, len(want))
				for _, tr := range triggers {
					assert.Equal(t, "kafka", str(tr, "type"))
					topic := str(tr, "metadata", "topic")
					group, ok := want[strings.TrimPrefix(topic, str(byKind(objs, "ConfigMap")["crashstream"], "data", "CRASHSTREAM_KAFKA_TOPIC_PREFIX"))]
					require.True(t, ok, "trigger on topic %s", topic)
					assert.NotEmpty(t, group)
					assert.Equal(t, group, str(tr, "metadata", "consumerGroup"), "topic %s", topic)
				}
			}
			for _, ing := range byKind(objs, "Ingress") {
				for _, r := range list(ing, "spec", "rules") {
					for _, p := range list(r, "http", "paths") {
						svc := str(p, "backend", "service", "name")
						require.Contains(t, services, svc, "Ingress backend")
						var ports []string
						for _, sp := range list(services[svc], "spec", "ports") {
							ports = append(ports, str(sp, "name"))
						}
						assert.Contains(t, ports, str(p, "backend", "service", "port", "name"))
					}
				}
			}
			for n, sm := range byKind(objs, "ServiceMonitor") {
				sel, _ := get(sm, "spec", "selector", "matchLabels").(map[string]any)
				var scraped int
				for _, s := range services {
					labels, _ := get(s, "metadata", "labels").(map[string]any)
					if selects(sel, labels) {
						scraped++
					}
				}
				assert.Equal(t, len(services), scraped, "ServiceMonitor %s scrapes every Service", n)
				assert.Equal(t, "admin", str(list(sm, "spec", "endpoints")[0], "port"))
				assert.Equal(t, "/metrics", str(list(sm, "spec", "endpoints")[0], "path"))
			}

			for _, p := range pods(objs) {
				// Each ConfigMap and Secret a pod names is rendered, or is one the
				// install says the operator provides.
				exists := func(kind, name string) bool {
					_, rendered := byKind(objs, kind)[name]
					return rendered || slices.Contains(v.external, name)
				}
				volumes := map[string]any{}
				for _, vol := range list(p.spec, "volumes") {
					volumes[str(vol, "name")] = vol
					if cm := str(vol, "configMap", "name"); cm != "" {
						assert.True(t, exists("ConfigMap", cm), "%s: ConfigMap %s", p.owner, cm)
					}
					if sec := str(vol, "secret", "secretName"); sec != "" {
						assert.True(t, exists("Secret", sec), "%s: Secret %s", p.owner, sec)
					}
				}
				for _, c := range containers(p.spec) {
					for _, m := range list(c, "volumeMounts") {
						assert.Contains(t, volumes, str(m, "name"), "%s: volumeMount %s has a volume", p.owner, str(m, "name"))
					}
					for _, ef := range list(c, "envFrom") {
						if cm := str(ef, "configMapRef", "name"); cm != "" {
							require.Contains(t, configMaps, cm, "%s: envFrom ConfigMap", p.owner)
							assert.Equal(t, "0.0.0.0:9100", str(configMaps[cm], "data", "CRASHSTREAM_ADMIN_ADDR"))
						}
					}
					for _, ev := range list(c, "env") {
						name := str(ev, "name")
						if ref := get(ev, "valueFrom", "secretKeyRef"); ref != nil {
							secret, key := str(ref, "name"), str(ref, "key")
							assert.True(t, exists("Secret", secret), "%s: %s from Secret %s", p.owner, name, secret)
							if s, ok := secrets[secret]; ok {
								assert.Contains(t, get(s, "stringData"), key, "%s: %s from Secret %s key %s", p.owner, name, secret, key)
							}
						}
					}
				}
			}
		})
	}
}

// TestServices checks what each service gets: its subcommand, the shared
// settings, and the settings that only it has.
func TestServices(t *testing.T) {
	e := tools(t)
	_, objs := render(t, e, installs[2]) // every optional piece on
	deployments := byKind(objs, "Deployment")
	require.Len(t, deployments, len(components))
	for _, cmd := range components {
		d, ok := deployments["crashstream-"+cmd]
		require.True(t, ok, "Deployment for %s", cmd)
		c := list(d, "spec", "template", "spec", "containers")[0]
		assert.Equal(t, cmd, list(c, "args")[0], "%s runs its subcommand", cmd)
		assert.Equal(t, "ghcr.io/crashstream/crashstream@sha256:"+strings.Repeat("ab", 32), str(c, "image"))
		env := map[string]any{}
		for _, ev := range list(c, "env") {
			env[str(ev, "name")] = ev
		}
		for _, name := range []string{"CRASHSTREAM_S3_ACCESS_KEY", "CRASHSTREAM_S3_SECRET_KEY", "CRASHSTREAM_KAFKA_SASL_USER", "CRASHSTREAM_KAFKA_SASL_PASSWORD", "CRASHSTREAM_CLICKHOUSE_PASSWORD"} {
			assert.NotNil(t, get(env[name], "valueFrom", "secretKeyRef"), "%s: %s from the Secret", cmd, name)
		}
		assert.Equal(t, "/etc/crashstream/kafka-tls/ca.crt", str(env["CRASHSTREAM_KAFKA_TLS_CA"], "value"))
		_, throttled := env["CRASHSTREAM_COLLECTOR_THROTTLE_RULES"]
		assert.Equal(t, cmd == "collector", throttled, "%s: throttle rules only for the collector", cmd)
		_, alerts := env["CRASHSTREAM_CRON_ALERTS_RULES"]
		assert.Equal(t, cmd == "cron", alerts, "%s: alert rules only for cron", cmd)
		_, lists := env["CRASHSTREAM_SIGNATURE_LIST_DIR"]
		assert.Equal(t, cmd == "processor", lists, "%s: signature lists only for the processor", cmd)
		if cmd == "processor" {
			assert.Equal(t, "/var/cache/crashstream/symbols", str(env["CRASHSTREAM_SYMBOLS_CACHE_DIR"], "value"))
			assert.Equal(t, "3221225472", str(env["CRASHSTREAM_SYMBOLS_CACHE_MAX_BYTES"], "value"), "an integer, not 3.221225472e+09")
			assert.Equal(t, "https://symbols.example.com/", str(env["CRASHSTREAM_SYMBOLS_URL"], "value"))
		}
		_, probeURL := env["CRASHSTREAM_WEBAPP_SYMBOLS_URL"]
		assert.Equal(t, cmd == "webapp", probeURL, "%s: the probe's symbol servers only for the webapp", cmd)
		if cmd == "webapp" {
			assert.Equal(t, "https://symbols.example.com/", str(env["CRASHSTREAM_WEBAPP_SYMBOLS_URL"], "value"), "the processor's servers")
			assert.Equal(t, "5m", str(env["CRASHSTREAM_WEBAPP_SYMBOLS_PROBE_PERIOD"], "value"))
		}
	}

	cm := byKind(objs, "ConfigMap")
	assert.Equal(t, "PLAIN", str(cm["crashstream"], "data", "CRASHSTREAM_KAFKA_SASL_MECHANISM"))
	assert.Equal(t, "true", str(cm["crashstream"], "data", "CRASHSTREAM_KAFKA_TLS"))
	assert.Equal(t, "rules: []", strings.TrimSpace(str(cm["crashstream-throttle-rules"], "data", "rules.yaml")))
	assert.Equal(t, "^abort$", strings.TrimSpace(str(cm["crashstream-signature-lists"], "data", "irrelevant_signature_re.txt")))
}

// TestWebappSymbolServers: the webapp probes the processor's symbol
// servers unless it names its own; without any the variable is not set
// (the probe is off); the period is passed as given.
func TestWebappSymbolServers(t *testing.T) {
	e := tools(t)
	webappEnv := func(v values) map[string]string {
		t.Helper()
		_, objs := render(t, e, v)
		d, ok := byKind(objs, "Deployment")["crashstream-webapp"]
		require.True(t, ok, "the webapp Deployment")
		env := map[string]string{}
		for _, ev := range list(list(d, "spec", "template", "spec", "containers")[0], "env") {
			env[str(ev, "name")] = str(ev, "value")
		}
		return env
	}
	env := webappEnv(installs[0])
	assert.NotContains(t, env, "CRASHSTREAM_WEBAPP_SYMBOLS_URL", "no symbol server: no probe")
	assert.Equal(t, "5m", env["CRASHSTREAM_WEBAPP_SYMBOLS_PROBE_PERIOD"])
	env = webappEnv(values{sets: []string{"processor.symbols.urls={https://a.example/,https://b.example/}"}})
	assert.Equal(t, "https://a.example/,https://b.example/", env["CRASHSTREAM_WEBAPP_SYMBOLS_URL"])
	env = webappEnv(values{sets: []string{"processor.symbols.urls={https://a.example/}", "webapp.symbols.urls={https://c.example/}",
		"webapp.symbols.probePeriod=0"}})
	assert.Equal(t, "https://c.example/", env["CRASHSTREAM_WEBAPP_SYMBOLS_URL"])
	assert.Equal(t, "0", env["CRASHSTREAM_WEBAPP_SYMBOLS_PROBE_PERIOD"])
	_, err := e.helmRun(t, values{sets: []string{"webapp.symbols.probePeriod=5 minutes"}}.args(e)...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "probePeriod")
}

// alertRulesFile is the rules file the everything-on install gives inline:
// the README's example, which the alerts package loads and validates. Its
// webhook URLs stand for credentials.
const alertRulesFile = "services/lib/alerts/testdata/rules.yaml"

// TestAlertRules: the cron pod gets the alert rules file only when rules are
// given, inline (in a Secret the chart renders, never a ConfigMap: the
// webhook URLs are credentials) or as an existing Secret, mounted where
// CRASHSTREAM_CRON_ALERTS_RULES points.
func TestAlertRules(t *testing.T) {
	e := tools(t)
	cronPod := func(objs []object) (env map[string]string, mounts map[string]string, secrets map[string]string) {
		t.Helper()
		d, ok := byKind(objs, "Deployment")["crashstream-cron"]
		require.True(t, ok, "the cron Deployment")
		spec := get(d, "spec", "template", "spec")
		c := list(spec, "containers")[0]
		env, mounts, secrets = map[string]string{}, map[string]string{}, map[string]string{}
		for _, ev := range list(c, "env") {
			env[str(ev, "name")] = str(ev, "value")
		}
		for _, m := range list(c, "volumeMounts") {
			mounts[str(m, "name")] = str(m, "mountPath")
		}
		for _, vol := range list(spec, "volumes") {
			if s := str(vol, "secret", "secretName"); s != "" {
				secrets[str(vol, "name")] = s
			}
		}
		return env, mounts, secrets
	}

	manifests, objs := render(t, e, installs[0])
	env, mounts, _ := cronPod(objs)
	assert.NotContains(t, env, "CRASHSTREAM_CRON_ALERTS_RULES", "no rules: the flag is not set and the job is off")
	assert.NotContains(t, mounts, "alert-rules")
	assert.NotContains(t, manifests, "alert-rules")

	manifests, objs = render(t, e, installs[2])
	env, mounts, secrets := cronPod(objs)
	assert.Equal(t, "/etc/crashstream/alerts/rules.yaml", env["CRASHSTREAM_CRON_ALERTS_RULES"])
	assert.Equal(t, "/etc/crashstream/alerts", mounts["alert-rules"])
	assert.Equal(t, "crashstream-alert-rules", secrets["alert-rules"])
	s, ok := byKind(objs, "Secret")["crashstream-alert-rules"]
	require.True(t, ok, "the chart's alert-rules Secret")
	rules, err := os.ReadFile(filepath.Join(e.root, alertRulesFile))
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(rules)), strings.TrimSpace(str(s, "stringData", "rules.yaml")))
	const url = "https://hooks.slack.example/services/T000/B000/XXXX"
	require.Contains(t, string(rules), url)
	assert.Equal(t, 1, strings.Count(manifests, url), "the webhook URL is in the Secret only")

	_, objs = render(t, e, values{sets: []string{"cron.alertRules.existingSecret=my-alert-rules"}, setFiles: []string{"cron.alertRules.inline=" + alertRulesFile}})
	env, _, secrets = cronPod(objs)
	assert.Equal(t, "/etc/crashstream/alerts/rules.yaml", env["CRASHSTREAM_CRON_ALERTS_RULES"])
	assert.Equal(t, "my-alert-rules", secrets["alert-rules"], "an existing Secret wins over inline rules")
	assert.NotContains(t, byKind(objs, "Secret"), "crashstream-alert-rules")

	// cron off: no Secret for a pod that does not exist
	_, objs = render(t, e, values{sets: []string{"cron.enabled=false"}, setFiles: []string{"cron.alertRules.inline=" + alertRulesFile}})
	assert.NotContains(t, byKind(objs, "Secret"), "crashstream-alert-rules")
}

// flagsSet are the flags the chart sets through CRASHSTREAM_* variables:
// the shared conventions (kafka.*, s3.*, clickhouse.*, admin/collector/
// webapp addresses, log.*) and the flags of the packages that read the
// mounted files and the cache (collector.throttle-rules, signature.list-dir,
// symbols.*).
var flagsSet = []string{
	"kafka.brokers", "kafka.topic-prefix", "kafka.create-topics", "kafka.partitions", "kafka.replication-factor",
	"kafka.tls", "kafka.tls-ca", "kafka.tls-cert", "kafka.tls-key",
	"kafka.sasl-mechanism", "kafka.sasl-user", "kafka.sasl-password",
	"s3.endpoint", "s3.access-key", "s3.secret-key", "s3.secure", "s3.region",
	"s3.bucket", "s3.symbols-bucket", "s3.telemetry-bucket",
	"clickhouse.addr", "clickhouse.database", "clickhouse.username", "clickhouse.password", "schema-registry.url",
	"clickhouse.protocol", "clickhouse.secure", "clickhouse.cluster",
	"admin.addr", "collector.addr", "webapp.addr", "webapp.secret-key", "log.level", "log.format",
	"collector.throttle-rules", "cron.alerts.rules", "collector.submitter-token", "signature.list-dir", "processor.group", "processor.priority-group",
	"symbols.cache-dir", "symbols.cache-max-bytes", "symbols.memory-max-bytes", "symbols.url",
	"webapp.symbols.url", "webapp.symbols.probe-period",
}

// TestEnvNamesFollowFlags ties the chart's variables to the binary's rule
// (runtime.EnvName): every variable the chart sets overrides one of
// flagsSet, and each of flagsSet is set by the everything-on install.
func TestEnvNamesFollowFlags(t *testing.T) {
	e := tools(t)
	manifests, _ := render(t, e, installs[2])
	known := map[string]bool{}
	for _, f := range flagsSet {
		name := runtime.EnvName(f)
		known[name] = true
		assert.True(t, strings.Contains(manifests, name), "flag %s: the chart does not set %s", f, name)
	}
	for _, m := range regexp.MustCompile(`\bCRASHSTREAM_[A-Z0-9_]+\b`).FindAllString(manifests, -1) {
		assert.True(t, known[m], "%s is set by the chart but overrides none of the known flags", m)
	}
}

// TestBadValuesFail checks that the chart refuses values that would deploy
// something broken, with a message naming the setting.
func TestBadValuesFail(t *testing.T) {
	e := tools(t)
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"HPA and KEDA", []string{"processor.keda.enabled=true"}, "autoscaling.enabled and keda.enabled"},
		{"SASL mechanism", []string{"kafka.sasl.mechanism=GSSAPI"}, "at '/kafka/sasl/mechanism': value must be one of"},
		{"SASL without password", []string{"kafka.sasl.mechanism=PLAIN", "kafka.sasl.username=u"}, "kafka.sasl.password is required"},
		{"config name", []string{"config.KAFKA_BROKERS=x"}, "use CRASHSTREAM_ names"},
		{"no brokers", []string{"kafka.brokers="}, "kafka.brokers is required"},
		{"ingress service", []string{"ingress.enabled=true", "ingress.hosts[0].host=x", "ingress.hosts[0].paths[0].path=/", "ingress.hosts[0].paths[0].service=processor"}, "/ingress/hosts/0/paths/0/service"},
		{"misspelt value", []string{"kafka.broker=x"}, "additional properties 'broker' not allowed"},
		{"wrong type", []string{"processor.replicas=two"}, "/processor/replicas"},
		{"no limits", []string{"webapp.resources.limits=null"}, "limits"},
		{"HPA bounds", []string{"collector.autoscaling.minReplicas=5", "collector.autoscaling.maxReplicas=2"}, "minReplicas above maxReplicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.helmRun(t, values{sets: tt.sets}.args(e)...)
			require.Error(t, err, "%v", tt.sets)
			assert.Contains(t, err.Error(), tt.want, "%v", tt.sets)
		})
	}
}
