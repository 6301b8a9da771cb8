module github.com/crashstream/crashstream/schemas

go 1.26.0

require (
	github.com/linkedin/goavro/v2 v2.15.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/golang/snappy v0.0.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
