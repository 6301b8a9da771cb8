package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Confluent Schema Registry error codes used by the read-only API.
const (
	codeSubjectNotFound = 40401
	codeVersionNotFound = 40402
	codeSchemaNotFound  = 40403
	codeInvalidVersion  = 42202
)

// contentType is what a Confluent registry answers with; clients also
// accept application/json.
const contentType = "application/vnd.schemaregistry.v1+json"

// NewHandler serves the read-only part of the Confluent Schema Registry
// REST API for the static registry, so that a Confluent deserializer in any
// language can resolve the ids in crashstream's records:
//
//	GET /schemas/ids/{id}                   {"schema": "..."}
//	GET /schemas/ids/{id}/schema            the bare schema
//	GET /subjects                           ["crash.processed.v1-value", ...]
//	GET /subjects/{subject}/versions        [1, 2]
//	GET /subjects/{subject}/versions/{v}    {"subject","version","id","schema"}; v may be "latest" or -1
//	GET /subjects/{subject}/versions/{v}/schema
//	GET /config                             {"compatibilityLevel": "BACKWARD"}
//
// Errors use Confluent's shape {"error_code": 40401, "message": "..."}:
// 40401 subject, 40402 version, 40403 schema not found, 42202 invalid
// version. Mount it under a prefix with http.StripPrefix.
func NewHandler(s *Static) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /schemas/ids/{id}", func(w http.ResponseWriter, r *http.Request) {
		if text, ok := schemaByID(w, s, r.PathValue("id")); ok {
			writeJSON(w, http.StatusOK, map[string]string{"schema": text})
		}
	})
	mux.HandleFunc("GET /schemas/ids/{id}/schema", func(w http.ResponseWriter, r *http.Request) {
		if text, ok := schemaByID(w, s, r.PathValue("id")); ok {
			writeRaw(w, text)
		}
	})
	mux.HandleFunc("GET /subjects", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.SubjectNames())
	})
	mux.HandleFunc("GET /subjects/{subject}/versions", func(w http.ResponseWriter, r *http.Request) {
		vs, err := s.Versions(r.PathValue("subject"))
		if err != nil {
			writeError(w, err)
			return
		}
		nums := make([]int, len(vs))
		for i, v := range vs {
			nums[i] = v.Version
		}
		writeJSON(w, http.StatusOK, nums)
	})
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := version(w, s, r); ok {
			writeJSON(w, http.StatusOK, versionJSON{Subject: v.Subject, Version: v.Version, ID: v.ID, Schema: v.Schema})
		}
	})
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}/schema", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := version(w, s, r); ok {
			writeRaw(w, v.Schema)
		}
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"compatibilityLevel": "BACKWARD"})
	})
	return mux
}

type versionJSON struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
	ID      uint32 `json:"id"`
	Schema  string `json:"schema"`
}

type errorJSON struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func schemaByID(w http.ResponseWriter, s *Static, raw string) (string, bool) {
	id, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		writeJSON(w, http.StatusNotFound, errorJSON{codeSchemaNotFound, "Schema " + strconv.Quote(raw) + " not found"})
		return "", false
	}
	text, err := s.Schema(context.Background(), uint32(id))
	if err != nil {
		writeError(w, err)
		return "", false
	}
	return text, true
}

func version(w http.ResponseWriter, s *Static, r *http.Request) (Version, bool) {
	raw := r.PathValue("version")
	n := -1
	if raw != "latest" {
		var err error
		n, err = strconv.Atoi(raw)
		if err != nil || n == 0 || n < -1 {
			writeJSON(w, http.StatusUnprocessableEntity, errorJSON{codeInvalidVersion,
				"The specified version '" + raw + "' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""})
			return Version{}, false
		}
	}
	v, err := s.Version(r.PathValue("subject"), n)
	if err != nil {
		writeError(w, err)
		return Version{}, false
	}
	return v, true
}

func writeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrSubjectNotFound):
		writeJSON(w, http.StatusNotFound, errorJSON{codeSubjectNotFound, "Subject not found."})
	case errors.Is(err, ErrVersionNotFound):
		writeJSON(w, http.StatusNotFound, errorJSON{codeVersionNotFound, "Version not found."})
	case errors.Is(err, ErrSchemaNotFound):
		writeJSON(w, http.StatusNotFound, errorJSON{codeSchemaNotFound, "Schema not found"})
	default:
		writeJSON(w, http.StatusInternalServerError, errorJSON{50001, "Error in the backend data store"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error_code":50001,"message":"encode"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeRaw(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write([]byte(text))
}
