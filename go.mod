module github.com/siteadmin/integrations

go 1.25.0

require (
	github.com/beevik/etree v1.8.1
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/emersion/go-smtp v0.25.1
	github.com/russellhaering/goxmldsig v1.6.1
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/jonboulle/clockwork v0.5.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
