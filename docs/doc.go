// Package docs holds the machine-readable description of the client and
// cluster HTTP API: openapi.json, an OpenAPI 3.1 document that every node
// serves at GET /openapi.json and that API.md links to.
//
// The file in this directory is the only copy. It is embedded here, in a
// package of its own beside it, because go:embed reads only files in or
// below the embedding package's directory: the node package cannot embed
// docs/openapi.json, and a copy under node/ would drift from the one
// readers find next to API.md.
//
// Adding a route to the node means adding it to openapi.json too: the
// node package's TestOpenAPI (node/openapi_test.go) drives every listed
// operation against a live cluster, validates each request and answer
// against this document, and fails for an operation it did not drive.
package docs

import _ "embed"

// OpenAPI is openapi.json, byte for byte.
//
//go:embed openapi.json
var OpenAPI []byte
