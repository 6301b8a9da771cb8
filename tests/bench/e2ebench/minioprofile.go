package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// minioProfile takes a CPU profile of the stack's MinIO through its admin
// API (a signed POST to /minio/admin/v3/profile, what `mc admin profile`
// sends), so that the cost measurement says where the object store's CPU
// per crash goes, as it does for crashstream's own services. MinIO answers
// with a zip of one profile per server; the single server's is written to
// -o as a plain pprof file.
func minioProfile(args []string) error {
	fs := flag.NewFlagSet("minioprofile", flag.ContinueOnError)
	secs := fs.Duration("duration", 30*time.Second, "how long to profile")
	out := fs.String("o", "minio.cpu", "where to write the pprof CPU profile")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := s3Config()
	q := url.Values{"profilerType": {"cpu"}, "duration": {secs.String()}}
	req, err := http.NewRequest(http.MethodPost, "http://"+cfg.Endpoint+"/minio/admin/v3/profile?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	empty := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(empty[:]))
	req = signer.SignV4(*req, cfg.AccessKey, cfg.SecretKey, "", cfg.Region)
	ctx, cancel := context.WithTimeout(context.Background(), *secs+time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("minio profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("minio profile: %s: %s", resp.Status, msg)
	}
	rc := resp.Body
	body, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return fmt.Errorf("minio profile: %w", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return fmt.Errorf("minio profile: not a zip: %w", err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "-cpu.pprof") {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		w, err := os.Create(*out)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	return fmt.Errorf("minio profile: no CPU profile in the answer")
}
