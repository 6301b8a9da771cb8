package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// maxResponse bounds what the client reads from a registry: a schema is a
// few tens of KB; anything much larger is not a registry answer.
const maxResponse = 8 << 20

// Client talks to any registry speaking the Confluent Schema Registry REST
// API. It caches ids and schemas forever (both are immutable in a
// registry), so only the first use of each costs a request.
type Client struct {
	base *url.URL
	http *http.Client
	user string
	pass string

	mu      sync.Mutex
	ids     map[string]uint32 // subject + "\x00" + schema -> id
	schemas map[uint32]string
}

// NewClient returns a client for the registry at baseURL (e.g.
// http://127.0.0.1:8081). userinfo in the URL becomes basic auth. hc sets
// timeouts; nil means http.DefaultClient, which has none — pass one.
func NewClient(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry: bad URL %q", baseURL)
	}
	c := &Client{base: u, http: hc, ids: map[string]uint32{}, schemas: map[uint32]string{}}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		u.User = nil
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	return c, nil
}

// Register registers schema under subject (or finds it: registering an
// existing schema is idempotent in a Confluent registry) and returns its id.
func (c *Client) Register(ctx context.Context, subject, schema string) (uint32, error) {
	key := subject + "\x00" + schema
	c.mu.Lock()
	id, ok := c.ids[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	body, err := json.Marshal(map[string]string{"schema": schema})
	if err != nil {
		return 0, err
	}
	var out struct {
		ID uint32 `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, body, &out, "subjects", subject, "versions"); err != nil {
		return 0, fmt.Errorf("registry: register %s: %w", subject, err)
	}
	c.mu.Lock()
	c.ids[key] = out.ID
	c.schemas[out.ID] = schema
	c.mu.Unlock()
	return out.ID, nil
}

// Schema fetches the schema of id (GET /schemas/ids/{id}).
func (c *Client) Schema(ctx context.Context, id uint32) (string, error) {
	c.mu.Lock()
	text, ok := c.schemas[id]
	c.mu.Unlock()
	if ok {
		return text, nil
	}
	var out struct {
		Schema     string `json:"schema"`
		SchemaType string `json:"schemaType"`
	}
	if err := c.do(ctx, http.MethodGet, nil, &out, "schemas", "ids", strconv.FormatUint(uint64(id), 10)); err != nil {
		return "", fmt.Errorf("registry: schema %d: %w", id, err)
	}
	if out.SchemaType != "" && out.SchemaType != "AVRO" {
		return "", fmt.Errorf("registry: schema %d is %s, not Avro", id, out.SchemaType)
	}
	c.mu.Lock()
	c.schemas[id] = out.Schema
	c.mu.Unlock()
	return out.Schema, nil
}

// StatusError is a non-2xx answer from the registry.
type StatusError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Confluent's error_code (40403, ...), 0 when absent.
	Code int
	// Message is the registry's message.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d, error_code %d: %s", e.Status, e.Code, e.Message)
}

// Is maps Confluent error codes onto this package's sentinel errors.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrSubjectNotFound:
		return e.Code == codeSubjectNotFound
	case ErrVersionNotFound:
		return e.Code == codeVersionNotFound
	case ErrSchemaNotFound:
		return e.Code == codeSchemaNotFound
	}
	return false
}

// do sends one request to the path made of elems (each escaped) and
// decodes the JSON answer into out.
func (c *Client) do(ctx context.Context, method string, body []byte, out any, elems ...string) error {
	u := c.base.JoinPath(elems...)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", contentType+", application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return err
	}
	if len(data) > maxResponse {
		return errors.New("response too large")
	}
	if resp.StatusCode/100 != 2 {
		var e errorJSON
		_ = json.Unmarshal(data, &e)
		return &StatusError{Status: resp.StatusCode, Code: e.ErrorCode, Message: e.Message}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("bad response: %w", err)
	}
	return nil
}
