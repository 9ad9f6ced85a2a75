package main

import (
	"strings"
	"testing"

	"github.com/dynkv/dynkv/node/membership"
)

// Members announcing different registries are listed by digest; one that
// has left is not counted, and one that announces none says so.
func TestPrintBucketAgreement(t *testing.T) {
	tagged := func(id, status, digest string) memberStatus {
		m := memberStatus{ID: id, Status: status, Tags: map[string]string{}}
		if digest != "" {
			m.Tags[membership.TagBuckets] = digest
		}
		return m
	}
	var out strings.Builder
	printBucketAgreement(&out, []memberStatus{
		tagged("n1", "alive", "00000000000000aa"), tagged("n2", "failed", "00000000000000aa"),
		tagged("n3", "alive", "00000000000000bb"), tagged("n4", "alive", ""), tagged("n5", "left", "00000000000000cc"),
	})
	want := "\nBucket props: members differ until gossip brings them together:\n" +
		"  none announced: n4\n  registry 00000000000000aa: n1 n2\n  registry 00000000000000bb: n3\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
