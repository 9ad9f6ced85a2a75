// Package kubernetes holds no code: it is the test of the Kubernetes
// manifests beside it (manifests_test.go), in a module of its own so that
// k8s.io/api stays out of dynkv's go.mod. `go test ./...` from the
// repository root does not enter it; .ci/run runs it:
//
//	(cd deploy/kubernetes && go test ./...)
package kubernetes
