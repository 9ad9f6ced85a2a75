package bucket

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

var limits = Limits{N: 3, R: 2, W: 2, MaxSiblings: 100, MaxValueBytes: 1 << 20}

func TestKeyRoundTrip(t *testing.T) {
	for _, c := range []struct {
		bucket string
		key    string
	}{{Default, "k"}, {"carts", "k"}, {"a", "x\x00y"}, {"a-b.c_d", "\xff"}} {
		in := Key(c.bucket, []byte(c.key))
		b, k, ok := Split(in)
		if !ok || b != c.bucket || string(k) != c.key {
			t.Errorf("Split(Key(%q, %q)) = %q, %q, %v", c.bucket, c.key, b, k, ok)
		}
		if NameOf(in) != c.bucket {
			t.Errorf("NameOf = %q, want %q", NameOf(in), c.bucket)
		}
		if !bytes.HasPrefix(in, Prefix(c.bucket)) {
			t.Errorf("%q lacks its bucket's prefix", in)
		}
	}
	if string(Key(Default, []byte("k"))) != "k" {
		t.Error("the default bucket's internal key must be the client's key")
	}
}

func TestSplitRefusesWhatKeyNeverMakes(t *testing.T) {
	for _, in := range []string{"", "\x00", "\x00abc", "\x00ABC\x00k", "\x00default\x00k", "\x00a\x00", "\x00a\x00\x00k", "\x00-a\x00k"} {
		if _, _, ok := Split([]byte(in)); ok {
			t.Errorf("Split(%q) accepted", in)
		}
		if NameOf([]byte(in)) != Default {
			t.Errorf("NameOf(%q) = %q, want the default", in, NameOf([]byte(in)))
		}
	}
}

func TestCheckNameAndKey(t *testing.T) {
	for _, ok := range []string{"a", "carts", "0", "a.b_c-d", string(bytes.Repeat([]byte("x"), MaxNameLen))} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "-a", ".a", "a/b", "a b", "é", string(bytes.Repeat([]byte("x"), MaxNameLen+1))} {
		if err := CheckName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, want ErrBadName", bad, err)
		}
	}
	if err := CheckKey([]byte("\x00k")); !errors.Is(err, ErrBadKey) {
		t.Errorf("a NUL-led key was accepted: %v", err)
	}
	if err := CheckKey(make([]byte, MaxKeyLen+1)); !errors.Is(err, ErrBadKey) {
		t.Errorf("an over-long key was accepted: %v", err)
	}
}

func TestPropsValidateAndResolve(t *testing.T) {
	good := []Props{{}, {N: 2}, {N: 5, R: 1, W: 5}, {Conflict: LWW}, {DefaultTTL: Duration(time.Hour)}, {MaxSiblings: 100}}
	for _, p := range good {
		if err := p.Validate(limits); err != nil {
			t.Errorf("Validate(%+v) = %v", p, err)
		}
	}
	bad := []Props{{N: -1}, {N: MaxN + 1}, {N: 2, R: 3}, {W: 4}, {MaxSiblings: 101}, {MaxValueBytes: 2 << 20},
		{DefaultTTL: -1}, {DefaultTTL: Duration(time.Microsecond)}, {Conflict: "newest"}}
	for _, p := range bad {
		if err := p.Validate(limits); !errors.Is(err, ErrBadProps) {
			t.Errorf("Validate(%+v) = %v, want ErrBadProps", p, err)
		}
	}
	if got := (Props{}).Resolve(limits); got.N != 3 || got.R != 2 || got.W != 2 || got.Conflict != Siblings {
		t.Errorf("defaults resolve to %+v", got)
	}
	if got := (Props{N: 5}).Resolve(limits); got.R != 3 || got.W != 3 {
		t.Errorf("N=5 quorums resolve to r=%d w=%d, want 3", got.R, got.W)
	}
	if got := (Props{N: 1}).Resolve(limits); got.R != 1 || got.W != 1 {
		t.Errorf("N=1 quorums resolve to r=%d w=%d, want 1", got.R, got.W)
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{`"30m"`: 30 * time.Minute, `"90"`: 90 * time.Second, `3600`: time.Hour, `"0"`: 0} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("%s reads as %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"soon"`), &d); err == nil {
		t.Error(`"soon" was accepted`)
	}
	b, _ := json.Marshal(Duration(24 * time.Hour))
	if string(b) != `"24h0m0s"` {
		t.Errorf("24h marshals as %s", b)
	}
}

func TestRegistryMergeIsAJoin(t *testing.T) {
	var a, b, c Registry
	a, _, _ = a.Set("x", Props{N: 2}, "n1")
	b, _, _ = b.Set("x", Props{N: 5}, "n2") // same counter, n2 > n1: wins
	c, _, _ = c.Set("y", Props{Conflict: LWW}, "n3")
	c, _, _ = c.Set("y", Props{Conflict: Siblings}, "n3")
	orders := []Registry{a.Merge(b).Merge(c), c.Merge(b.Merge(a)), b.Merge(c).Merge(a).Merge(a)}
	for i, r := range orders[1:] {
		if !r.Equal(orders[0]) || r.Digest() != orders[0].Digest() {
			t.Errorf("merge order %d disagrees: %s vs %s", i+1, r.Encode(), orders[0].Encode())
		}
	}
	x, _ := orders[0].Get("x")
	y, _ := orders[0].Get("y")
	if x.Props.N != 5 || y.Props.Conflict != Siblings {
		t.Errorf("merged x=%+v y=%+v", x, y)
	}
	next, e, err := orders[0].Set("x", Props{N: 3}, "n1")
	if err != nil || e.Version.Counter <= y.Version.Counter {
		t.Fatalf("a new setting must outrank everything seen: %+v %v", e, err)
	}
	if got, _ := next.Merge(orders[0]).Get("x"); got.Props.N != 3 {
		t.Errorf("the newer setting lost: %+v", got)
	}
}

func TestRegistryEncodeDecode(t *testing.T) {
	var r Registry
	r, _, _ = r.Set("carts", Props{N: 2, DefaultTTL: Duration(30 * time.Minute)}, "n1")
	r, _, _ = r.Set("sessions", Props{Conflict: LWW}, "n2")
	got, err := DecodeRegistry(r.Encode())
	if err != nil || !got.Equal(r) {
		t.Fatalf("round trip: %v, %s", err, got.Encode())
	}
	for _, bad := range []string{``, `{}x`, `{"buckets":{"A":{"props":{},"version":{"counter":1,"node":"n"}}}}`,
		`{"buckets":{"a":{"props":{"n":99},"version":{"counter":1,"node":"n"}}}}`,
		`{"buckets":{"a":{"props":{},"version":{"counter":0,"node":"n"}}}}`,
		`{"buckets":{"a":{"props":{"x":1},"version":{"counter":1,"node":"n"}}}}`} {
		if _, err := DecodeRegistry([]byte(bad)); !errors.Is(err, ErrBadRegistry) {
			t.Errorf("DecodeRegistry(%s) = %v, want ErrBadRegistry", bad, err)
		}
	}
}

func TestRegistryCap(t *testing.T) {
	var r Registry
	for i := range MaxBuckets {
		var err error
		if r, _, err = r.Set("b"+itoa(i), Props{}, "n"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.Set("one-more", Props{}, "n"); !errors.Is(err, ErrBadProps) {
		t.Errorf("bucket %d was accepted: %v", MaxBuckets+1, err)
	}
	if _, _, err := r.Set("b"+itoa(0), Props{N: 2}, "n"); err != nil {
		t.Errorf("changing an existing bucket at the cap: %v", err)
	}
}

func itoa(i int) string {
	return string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
}

func TestTable(t *testing.T) {
	var r Registry
	r, _, _ = r.Set("two", Props{N: 2}, "n")
	r, _, _ = r.Set("five", Props{N: 5, MaxSiblings: 10}, "n")
	r, _, _ = r.Set("three", Props{N: 3}, "n")
	tab := NewTable(r, limits)
	if got := tab.Classes(); len(got) != 3 || got[0] != 2 || got[1] != 3 || got[2] != 5 {
		t.Errorf("classes = %v", got)
	}
	if tab.PropsOf(Key("two", []byte("k"))).N != 2 || tab.PropsOf([]byte("k")).N != 3 || tab.Props("unset").N != 3 {
		t.Error("props lookup")
	}
	if got := tab.NamedWithNAtMost(2); !slices.Equal(got, []string{"two"}) {
		t.Errorf("buckets of N at most 2 = %v", got)
	}
	if got := tab.NamedWithNAtMost(4); !slices.Equal(got, []string{"three", "two"}) {
		t.Errorf("buckets of N at most 4 = %v", got)
	}
	before := tab.Placement()
	r2, _, _ := r.Set("three", Props{N: 3, Conflict: LWW}, "n")
	if NewTable(r2, limits).Placement() != before {
		t.Error("a change of conflict mode changed placement")
	}
	r3, _, _ := r.Set("two", Props{N: 3}, "n")
	if NewTable(r3, limits).Placement() == before {
		t.Error("a change of N kept placement")
	}
}

func FuzzDecodeRegistry(f *testing.F) {
	var r Registry
	r, _, _ = r.Set("carts", Props{N: 2, DefaultTTL: Duration(time.Minute), Conflict: LWW}, "n1")
	f.Add(r.Encode())
	f.Add([]byte(`{"buckets":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		reg, err := DecodeRegistry(b)
		if err != nil {
			return
		}
		again, err := DecodeRegistry(reg.Encode())
		if err != nil || !again.Equal(reg) {
			t.Fatalf("re-decoding %s: %v", reg.Encode(), err)
		}
		NewTable(reg, limits).Classes()
	})
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte("\x00carts\x00k"))
	f.Add([]byte("k"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, key, ok := Split(b)
		if !ok {
			return
		}
		if !bytes.Equal(Key(name, key), b) {
			t.Fatalf("Key(Split(%q)) = %q", b, Key(name, key))
		}
	})
}

// A wiped node can give the same version to other props: merges still
// agree on one of them, whatever the order.
func TestRegistrySameVersionOtherProps(t *testing.T) {
	var a, b Registry
	a, _, _ = a.Set("x", Props{N: 2}, "n1")
	b, _, _ = b.Set("x", Props{N: 4}, "n1")
	ab, ba := a.Merge(b), b.Merge(a)
	if !ab.Equal(ba) || ab.Digest() != ba.Digest() {
		t.Fatalf("merges disagree: %s vs %s", ab.Encode(), ba.Encode())
	}
	if !ab.Merge(a).Equal(ab) || !ab.Merge(b).Equal(ab) {
		t.Error("the merge is not idempotent against either side")
	}
}
