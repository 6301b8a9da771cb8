package webapp

import (
	"html/template"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// The API documentation page (/api/, as Socorro's) is the OpenAPI document
// the webapp serves, rendered for people, plus Socorro's Super Search
// contract with crashstream's support of each parameter and the field
// names. Both come from the same values the API uses, so the page cannot
// drift from the behaviour.

type docParam struct {
	Name, In, Description string
	Required              bool
}

type docOp struct {
	Method, Path, Summary, Permission string
	Params                            []docParam
	Body                              []docParam
	Responses                         []string
}

type docAlias struct{ Name, Field string }

type docPage struct {
	Title, Description string
	Ops                []docOp
	Contract           []supersearch.Support
	Aliases            []docAlias
}

var apiDocsTmpl = template.Must(template.New("apidocs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}code{background:#f4f4f4}h3{margin-top:2em}</style></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Description}}</p>
<p>The machine-readable description is <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3). Send a token as the
<code>Auth-Token</code> header; a bad, expired or revoked token is 403. Errors are JSON <code>{"error": "..."}</code>; a 400 names the parameter.</p>
<h2 id="models">Models</h2>
<table><tr><th>Endpoint</th><th>Method</th><th>Permission</th><th>What</th></tr>
{{range .Ops}}<tr><td><a href="#{{.Method}}{{.Path}}"><code>{{.Path}}</code></a></td><td>{{.Method}}</td><td>{{.Permission}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{range .Ops}}<h3 id="{{.Method}}{{.Path}}">{{.Method}} <code>{{.Path}}</code></h3>
<p>{{.Summary}}</p><p>Permission: {{.Permission}}</p>
{{if .Params}}<table><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{if .Required}}yes{{else}}no{{end}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
{{if .Body}}<table><tr><th>Body field</th><th>Required</th><th>Description</th></tr>
{{range .Body}}<tr><td><code>{{.Name}}</code></td><td>{{if .Required}}yes{{else}}no{{end}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
<p>Responses: {{range $i, $r := .Responses}}{{if $i}}; {{end}}{{$r}}{{end}}</p>
{{end}}
<h2 id="supersearch">Super Search: Socorro's parameters and crashstream's support</h2>
<table><tr><th>Socorro parameter</th><th>crashstream</th><th>Notes</th></tr>
{{range .Contract}}<tr><td><code>{{.Param}}</code></td><td>{{if .Same}}same{{else}}deliberate difference{{end}}</td><td>{{.Note}}</td></tr>
{{end}}</table>
<h2 id="aliases">Socorro's field names</h2>
<table><tr><th>Socorro name</th><th>crashstream field</th></tr>
{{range .Aliases}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Field}}</code></td></tr>
{{end}}</table>
<p>Every other field has the same name as in Socorro; <a href="/api/SuperSearchFields/">SuperSearchFields</a> lists them.</p>
</main></body></html>
`))

// docsPage builds the page from the OpenAPI document.
func (s *Server) docsPage() docPage {
	doc := s.OpenAPI()
	info, _ := doc["info"].(obj)
	page := docPage{Title: asString(info["title"]), Description: asString(info["description"]), Contract: supersearch.Contract()}
	paths, _ := doc["paths"].(obj)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		ops, _ := paths[p].(obj)
		for _, method := range []string{"get", "post"} {
			op, ok := ops[method].(obj)
			if !ok {
				continue
			}
			d := docOp{Method: strings.ToUpper(method), Path: p, Summary: asString(op["summary"]), Permission: asString(op["x-permission"])}
			if d.Permission == "" {
				d.Permission = "none"
			}
			params, _ := op["parameters"].([]obj)
			for _, q := range params {
				req, _ := q["required"].(bool)
				d.Params = append(d.Params, docParam{Name: asString(q["name"]), In: asString(q["in"]), Description: asString(q["description"]), Required: req})
			}
			d.Body = formFields(op)
			resps, _ := op["responses"].(obj)
			for _, code := range slices.Sorted(maps.Keys(resps)) {
				r, _ := resps[code].(obj)
				d.Responses = append(d.Responses, code+" "+asString(r["description"]))
			}
			page.Ops = append(page.Ops, d)
		}
	}
	for name, field := range supersearch.Aliases() {
		page.Aliases = append(page.Aliases, docAlias{Name: name, Field: field})
	}
	sort.Slice(page.Aliases, func(i, j int) bool { return page.Aliases[i].Name < page.Aliases[j].Name })
	return page
}

// formFields lists an operation's form body fields.
func formFields(op obj) []docParam {
	body, _ := op["requestBody"].(obj)
	content, _ := body["content"].(obj)
	form, ok := content["application/x-www-form-urlencoded"].(obj)
	if !ok {
		form, _ = content["application/json"].(obj)
	}
	schema, _ := form["schema"].(obj)
	props, _ := schema["properties"].(obj)
	required := map[string]bool{}
	if rs, ok := schema["required"].([]string); ok {
		for _, r := range rs {
			required[r] = true
		}
	}
	var out []docParam
	for _, n := range slices.Sorted(maps.Keys(props)) {
		p, _ := props[n].(obj)
		desc := asString(p["description"])
		if desc == "" {
			desc = asString(p["type"])
		}
		out = append(out, docParam{Name: n, In: "body", Description: desc, Required: required[n]})
	}
	return out
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func (s *Server) apiDocs(c *gin.Context) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if err := apiDocsTmpl.Execute(c.Writer, s.docsPage()); err != nil {
		_ = c.Error(err)
	}
}
