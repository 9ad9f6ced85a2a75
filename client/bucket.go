package client

import (
	"fmt"
	"net/url"
)

// DefaultBucket is the bucket of the Client's own key methods (the API's
// /kv/{key}); keys written before buckets existed are in it.
const DefaultBucket = "default"

// MaxBucketNameLen bounds a bucket name.
const MaxBucketNameLen = 64

// Bucket is a namespace of keys with its own props (BucketProps): its
// replica count, quorums, caps, default TTL and conflict mode. Its key
// methods are the Client's, with the same options, errors and failover; the
// same key in two buckets is two unrelated keys, and a causal context read
// in one bucket means nothing in another. A Bucket is as safe for
// concurrent use as its Client, and making one sends no request.
type Bucket struct {
	c    *Client
	name string
	base string // the escaped path of its keys: /kv or /buckets/{name}/kv
	err  error  // the name's fault, returned by every call
}

// Bucket returns the bucket named name on c's cluster. Buckets need no
// creating: one nobody set props for has the cluster's defaults. A name
// the server would refuse (see CheckBucketName) makes every call fail
// with ErrBadRequest before anything is sent.
func (c *Client) Bucket(name string) *Bucket {
	if name == DefaultBucket && c.def != nil {
		return c.def
	}
	return newBucket(c, name)
}

func newBucket(c *Client, name string) *Bucket {
	b := &Bucket{c: c, name: name, base: "/kv"}
	if name != DefaultBucket {
		b.base = "/buckets/" + name + "/kv" // a valid name needs no escaping
	}
	if err := CheckBucketName(name); err != nil {
		b.err = err
	}
	return b
}

// Name returns the bucket's name.
func (b *Bucket) Name() string { return b.name }

// CheckBucketName accepts what the server does as a bucket name: 1 to 64
// characters of a-z, 0-9, '.', '_' and '-', starting with a letter or a
// digit (safe in a URL path segment, a file name and a metric label as it
// is). Its errors match ErrBadRequest.
func CheckBucketName(name string) error {
	if len(name) == 0 || len(name) > MaxBucketNameLen {
		return fmt.Errorf("%w: a bucket name is 1 to %d characters, got %d", ErrBadRequest, MaxBucketNameLen, len(name))
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return fmt.Errorf("%w: bucket name %q: use a-z, 0-9, '.', '_' and '-', starting with a letter or digit", ErrBadRequest, name)
		}
	}
	return nil
}

// kvPath is the escaped API path of key in b; it refuses keys the server
// would, and every key of a badly named bucket.
func (b *Bucket) kvPath(key string) (string, error) {
	if b.err != nil {
		return "", b.err
	}
	if len(key) == 0 || len(key) > MaxKeyLen {
		return "", fmt.Errorf("%w: key must be 1 to %d bytes, got %d", ErrBadRequest, MaxKeyLen, len(key))
	}
	if key[0] == 0 {
		// NUL starts the internal keys of named buckets, so no client key
		// may (the server refuses it too).
		return "", fmt.Errorf("%w: a key may not start with a NUL byte", ErrBadRequest)
	}
	return b.base + "/" + url.PathEscape(key), nil
}

// adminSetQuery is the query naming b for /admin/set/{key}: none for the
// default bucket, so that a backup of it works with servers older than
// buckets.
func (b *Bucket) adminSetQuery() string {
	if b.name == DefaultBucket {
		return ""
	}
	return "bucket=" + b.name
}

// opError wraps err with the call, its key and, outside the default
// bucket, the bucket: `client: get "k" in bucket carts: ...`.
func (b *Bucket) opError(op, key string, err error) error {
	if b.name == DefaultBucket {
		return opError(op, key, err)
	}
	name := b.name
	if b.err != nil {
		name = fmt.Sprintf("%q", b.name) // it may hold anything
	}
	if key == "" {
		return fmt.Errorf("client: %s in bucket %s: %w", op, name, err)
	}
	return fmt.Errorf("client: %s %s in bucket %s: %w", op, quoteKey(key), name, err)
}
