package client

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Bucket props (GET /buckets, GET and PUT /buckets/{bucket}/props): the
// settings each bucket has, cluster metadata that every node learns.

// Codes of the bucket routes, as found in APIError.Code; both match
// ErrBadRequest.
const (
	// CodeBadBucket (400): the name is not a bucket name (CheckBucketName).
	CodeBadBucket = "bad_bucket"
	// CodeBadProps (400): props the cluster refuses; the message says why.
	CodeBadProps = "bad_props"
)

// The conflict modes of BucketProps.Conflict.
const (
	// ConflictSiblings keeps every concurrent write as a sibling for the
	// reader to resolve: no acknowledged write is lost.
	ConflictSiblings = "siblings"
	// ConflictLWW keeps one of concurrent writes, the one stamped latest,
	// and loses the others; writes that saw each other are ordered by
	// causality as with siblings.
	ConflictLWW = "lww"
)

// BucketProps are a bucket's settings. Sent with SetBucketProps a zero
// field means the cluster's default; read back (BucketProps, Buckets)
// every field is the effective value except DefaultTTL, zero for none.
type BucketProps struct {
	// N is how many replicas hold each key; R and W are the default read
	// and write quorums (a request's R and W options still win).
	N, R, W int
	// MaxSiblings caps a key's siblings and MaxValueBytes a value, at
	// most the nodes' own caps.
	MaxSiblings, MaxValueBytes int
	// DefaultTTL is the TTL of a write that gives none, so every such
	// write keeps the key alive that long again; 0 for none.
	DefaultTTL time.Duration
	// Conflict is ConflictSiblings or ConflictLWW.
	Conflict string
}

// bucketPropsJSON is BucketProps on the wire.
type bucketPropsJSON struct {
	N             int          `json:"n,omitempty"`
	R             int          `json:"r,omitempty"`
	W             int          `json:"w,omitempty"`
	MaxSiblings   int          `json:"max_siblings,omitempty"`
	MaxValueBytes int          `json:"max_value_bytes,omitempty"`
	DefaultTTL    wireDuration `json:"default_ttl,omitempty"`
	Conflict      string       `json:"conflict,omitempty"`
}

// MarshalJSON writes the API's form: snake_case fields, zero fields left
// out, DefaultTTL as a Go duration ("30m0s").
func (p BucketProps) MarshalJSON() ([]byte, error) {
	return json.Marshal(bucketPropsJSON{p.N, p.R, p.W, p.MaxSiblings, p.MaxValueBytes, wireDuration(p.DefaultTTL), p.Conflict})
}

// UnmarshalJSON reads the API's form. default_ttl may be a Go duration or
// whole seconds, as the server takes it.
func (p *BucketProps) UnmarshalJSON(b []byte) error {
	var w bucketPropsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = BucketProps{w.N, w.R, w.W, w.MaxSiblings, w.MaxValueBytes, time.Duration(w.DefaultTTL), w.Conflict}
	return nil
}

// wireDuration is a duration as the API writes it, "30m0s", and reads it:
// that, or a whole number of seconds, as a JSON string or number.
type wireDuration time.Duration

func (d wireDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *wireDuration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	if s == "" || s == "0" || s == "null" {
		*d = 0
		return nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs < 0 || secs > math.MaxInt64/int64(time.Second) {
			return fmt.Errorf("default_ttl %d seconds is out of range", secs)
		}
		*d = wireDuration(time.Duration(secs) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("default_ttl %q is neither a duration nor whole seconds", s)
	}
	*d = wireDuration(v)
	return nil
}

// BucketVersion orders the settings of one bucket across the cluster: the
// cluster keeps, per bucket, the props with the highest version.
type BucketVersion struct {
	Counter uint64 `json:"counter"`
	Node    string `json:"node"` // that set them
}

// BucketInfo is one bucket's effective props.
type BucketInfo struct {
	Name  string      `json:"name"`
	Props BucketProps `json:"props"`
	// Version is nil for a bucket whose props were never set: it has the
	// cluster's defaults.
	Version *BucketVersion `json:"version,omitempty"`
}

// SetBucketPropsResult is what SetBucketProps made of a change.
type SetBucketPropsResult struct {
	BucketInfo
	// AcknowledgedBy of Members nodes had the new props when the answer
	// was sent; the others learn them by gossip.
	AcknowledgedBy int `json:"acknowledged_by"`
	Members        int `json:"members"`
}

// bucketListJSON is GET /buckets; bucketPropsAnswer GET and PUT
// /buckets/{bucket}/props.
type bucketListJSON struct {
	Buckets []BucketInfo `json:"buckets"`
}

type bucketPropsAnswer struct {
	Bucket         string         `json:"bucket"`
	Props          BucketProps    `json:"props"`
	Version        *BucketVersion `json:"version,omitempty"`
	AcknowledgedBy int            `json:"acknowledged_by,omitempty"`
	Members        int            `json:"members,omitempty"`
}

// Buckets lists the buckets whose props were set, and the default bucket,
// with their effective props.
func (c *Client) Buckets(ctx context.Context) ([]BucketInfo, error) {
	var raw bucketListJSON
	if err := c.getJSON(ctx, "buckets", "/buckets", "", &raw); err != nil {
		return nil, err
	}
	return raw.Buckets, nil
}

// BucketProps returns a bucket's effective props: those set for it, the
// cluster's defaults filling in the rest.
func (c *Client) BucketProps(ctx context.Context, name string) (BucketInfo, error) {
	op := "bucket props " + strconv.Quote(name)
	if err := CheckBucketName(name); err != nil {
		return BucketInfo{}, opError(op, "", err)
	}
	var raw bucketPropsAnswer
	if err := c.getJSON(ctx, op, "/buckets/"+name+"/props", "", &raw); err != nil {
		return BucketInfo{}, err
	}
	return BucketInfo{Name: raw.Bucket, Props: raw.Props, Version: raw.Version}, nil
}

// BucketPropsAt returns bucket name's props as member m holds them, asking
// m alone: props spread by gossip, so this is how to see whether a change
// reached a node (dynkv bucket set --wait asks every member).
func (c *Client) BucketPropsAt(ctx context.Context, m Member, name string) (BucketInfo, error) {
	op := "bucket props " + strconv.Quote(name) + " at"
	if err := CheckBucketName(name); err != nil {
		return BucketInfo{}, nodeError(op, m.ID, err)
	}
	var raw bucketPropsAnswer
	ep, err := c.memberEndpoint(m)
	if err == nil {
		err = c.getJSONAt(ctx, ep, "/buckets/"+name+"/props", "", &raw)
	}
	if err != nil {
		return BucketInfo{}, nodeError(op, m.ID, err)
	}
	return BucketInfo{Name: raw.Bucket, Props: raw.Props, Version: raw.Version}, nil
}

// SetBucketProps replaces a bucket's props with props: a zero field goes
// back to the cluster's default. It needs an admin token on a secured
// cluster. The cluster refuses props it cannot honour (an R or W above N,
// caps above the nodes') with ErrBadRequest, code bad_props. Keys already
// written keep the TTL they were written with. Like a write it is not
// retried once it may have reached a node.
func (c *Client) SetBucketProps(ctx context.Context, name string, props BucketProps) (SetBucketPropsResult, error) {
	op := "set bucket props " + strconv.Quote(name)
	if err := CheckBucketName(name); err != nil {
		return SetBucketPropsResult{}, opError(op, "", err)
	}
	body, err := json.Marshal(props)
	if err != nil {
		return SetBucketPropsResult{}, opError(op, "", err)
	}
	resp, err := c.do(ctx, &request{method: http.MethodPut, path: "/buckets/" + name + "/props", body: body,
		contentType: "application/json", accept: "application/json", write: true})
	defer resp.release()
	if err != nil {
		return SetBucketPropsResult{}, opError(op, "", err)
	}
	var raw bucketPropsAnswer
	if err := json.Unmarshal(resp.body.Bytes(), &raw); err != nil {
		return SetBucketPropsResult{}, opError(op, "", fmt.Errorf("decode answer from %s: %w", resp.endpoint, err))
	}
	return SetBucketPropsResult{
		BucketInfo:     BucketInfo{Name: raw.Bucket, Props: raw.Props, Version: raw.Version},
		AcknowledgedBy: raw.AcknowledgedBy, Members: raw.Members,
	}, nil
}
