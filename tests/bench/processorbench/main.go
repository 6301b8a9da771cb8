// Command processorbench measures the processor's end-to-end cost per
// crash — object-store read of the raw crash and dump, stackwalk with warm
// symbols, the whole default ruleset including the signature, Avro encoding
// and a synchronous produce to Kafka — on a directory of reports written by
// `crashstream crashgen -out`. Run it under taskset with GOMAXPROCS=1 for a
// per-core figure (tests/bench/processor.sh does, beside the reference
// tools on the same dumps).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/processor"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

func main() {
	dir := flag.String("dir", "", "directory written by crashstream crashgen -out (dumps/ and symbols/)")
	repeat := flag.Int("repeat", 3, "timed passes over the dumps")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed passes to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*dir, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "processorbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(dir string, repeat int) error {
	ctx := context.Background()
	dumps, err := filepath.Glob(filepath.Join(dir, "dumps", "*.dmp"))
	if err != nil || len(dumps) == 0 {
		return fmt.Errorf("no dumps under %s/dumps", dir)
	}
	sort.Strings(dumps)

	s3 := objectstore.Config{Endpoint: "127.0.0.1:9000", AccessKey: "crashstream", SecretKey: "crashstream-secret",
		Region: "us-east-1", RequestAttempts: 2, Bucket: fmt.Sprintf("procbench-%d", time.Now().UnixNano()),
		SymbolsBucket: "crashstream-symbols", TelemetryBucket: "crashstream-telemetry"}
	store, err := objectstore.New(s3)
	if err != nil {
		return err
	}
	defer store.Close()
	bucket := store.Bucket(s3.Bucket)
	if err := bucket.Ensure(ctx); err != nil {
		return err
	}
	// Store every crash as the collector would.
	day := time.Now().UTC()
	var ids []string
	var bytes int64
	for i, d := range dumps {
		id := fmt.Sprintf("00000000-0000-4000-8000-%06d%s", i, day.Format("060102"))
		ann := map[string]any{}
		if b, err := os.ReadFile(strings.TrimSuffix(d, ".dmp") + ".json"); err == nil {
			_ = json.Unmarshal(b, &ann)
		}
		dump, err := os.ReadFile(d)
		if err != nil {
			return err
		}
		// As the collector stores it: with the dump's checksum in metadata.
		sum := sha256.Sum256(dump)
		ann["uuid"], ann["submitted_timestamp"] = id, day.Format(time.RFC3339)
		ann["metadata"] = map[string]any{"dump_checksums": map[string]string{"upload_file_minidump": hex.EncodeToString(sum[:])}}
		raw, _ := json.Marshal(ann)
		bytes += int64(len(dump))
		rawKey, _ := objectstore.RawCrashKey(id)
		namesKey, _ := objectstore.DumpNamesKey(id)
		dumpKey, _ := objectstore.DumpKey("upload_file_minidump", id)
		for k, v := range map[string][]byte{dumpKey: dump, namesKey: []byte(`["upload_file_minidump"]`), rawKey: raw} {
			if err := bucket.PutBytes(ctx, k, v, "application/octet-stream"); err != nil {
				return err
			}
		}
		ids = append(ids, id)
	}
	defer func() {
		for info, err := range bucket.List(context.WithoutCancel(ctx), "") {
			if err == nil {
				_ = bucket.Delete(ctx, info.Key)
			}
		}
		if mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")}); err == nil {
			_ = mc.RemoveBucket(ctx, s3.Bucket)
		}
	}()

	kcfg := streams.DefaultConfig()
	kcfg.TopicPrefix = fmt.Sprintf("procbench%d.", time.Now().UnixNano())
	if err := streams.EnsureTopics(ctx, kcfg, kcfg.Topics().Processed); err != nil {
		return err
	}
	producer, err := streams.NewProducer(kcfg, streams.Options{Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer producer.Close(ctx)
	serde, err := registry.NewStaticSerde()
	if err != nil {
		return err
	}
	cfg := processor.Config{Group: "bench", PriorityGroup: "bench-prio", MaxRawCrashBytes: 8 << 20, HangGrace: 10 * time.Second,
		Stackwalk: stackwalk.Config{Timeout: 2 * time.Minute, MaxDumpBytes: 512 << 20, MaxFrames: 1 << 20}}
	cfg.Symbols.Paths = []string{filepath.Join(dir, "symbols")}
	cfg.Symbols.FetchTimeout = time.Minute
	cfg.Symbols.MemoryMaxBytes = 2 << 30
	p, err := processor.New(cfg, processor.Deps{Store: bucket, Publisher: producer, Serde: serde, Topics: kcfg.Topics(),
		Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	one := func(id string) error {
		pc, err := p.Process(ctx, id, "default", nil)
		if err != nil {
			return err
		}
		if pc.Signature == "" || pc.MDSWStatusString != "OK" {
			return fmt.Errorf("%s: not processed cleanly: %q %q", id, pc.Signature, pc.ProcessorNotes)
		}
		v, err := serde.Marshal(pc)
		if err != nil {
			return err
		}
		return producer.Send(ctx, kcfg.Topics().Processed, []byte(id), v)
	}
	// Warm-up: symbols parsed into the supplier's memory cache.
	for _, id := range ids {
		if err := one(id); err != nil {
			return err
		}
	}
	var best float64
	for r := 0; r < repeat; r++ {
		c0, w0 := cpuTime(), time.Now()
		for _, id := range ids {
			if err := one(id); err != nil {
				return err
			}
		}
		cpu, wall := cpuTime()-c0, time.Since(w0)
		perCPU := float64(len(ids)) / cpu.Seconds()
		best = max(best, perCPU)
		fmt.Printf("pass %d: %d crashes (%.1f MB of dumps) wall %.2fs (%.1f crashes/s) cpu %.2fs (%.1f crashes/s per core)\n",
			r+1, len(ids), float64(bytes)/1e6, wall.Seconds(), float64(len(ids))/wall.Seconds(), cpu.Seconds(), perCPU)
	}
	fmt.Printf("crashstream processor: %.1f crashes/s per core (best pass, CPU time)\n", best)
	return nil
}
