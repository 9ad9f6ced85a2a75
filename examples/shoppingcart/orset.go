package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// ORSet is an observed-remove set of strings, the cart's value in dynkv.
//
// Every add carries a tag no other add has. A remove deletes the tags of
// the element that its replica has observed, and remembers them. Merging
// two sets takes the union of the adds and the union of the removed tags,
// then drops every removed tag from the adds. An element is in the set
// while one of its tags survives. So:
//
//   - a concurrent add is never lost: its tag is new, no remove saw it;
//   - a removed element does not come back from an older copy that still
//     holds the add: the removed tag stays removed in every merge;
//   - adding an element concurrently with a remove of it keeps it (add
//     wins), since the remove could only remove the tags it saw.
//
// Merge is commutative, associative and idempotent, so sibling values can
// be merged in any order and any number of times: exactly what a
// client.MergeFunc must be. The cost is the removed tags, kept forever (a
// production cart would compact them once every replica and open page
// has seen them). The zero value is an empty set.
type ORSet struct {
	adds    map[string]map[string]struct{} // element → live tags
	removed map[string]struct{}            // tags removed, ever
}

// Add adds elem under tag, which must be unique to this add.
func (s *ORSet) Add(elem, tag string) {
	if _, gone := s.removed[tag]; gone {
		return
	}
	if s.adds == nil {
		s.adds = map[string]map[string]struct{}{}
	}
	if s.adds[elem] == nil {
		s.adds[elem] = map[string]struct{}{}
	}
	s.adds[elem][tag] = struct{}{}
}

// Remove removes elem as far as s has observed it: all its tags in s. An
// add that s has not seen survives. It returns the tags removed.
func (s *ORSet) Remove(elem string) []string {
	tags := slices.Sorted(maps.Keys(s.adds[elem]))
	if len(tags) == 0 {
		return nil
	}
	if s.removed == nil {
		s.removed = map[string]struct{}{}
	}
	for _, t := range tags {
		s.removed[t] = struct{}{}
	}
	delete(s.adds, elem)
	return tags
}

// Contains reports whether elem is in the set.
func (s *ORSet) Contains(elem string) bool { return len(s.adds[elem]) > 0 }

// Elements returns the set's elements, sorted.
func (s *ORSet) Elements() []string { return slices.Sorted(maps.Keys(s.adds)) }

// Tags returns elem's live tags, sorted.
func (s *ORSet) Tags(elem string) []string { return slices.Sorted(maps.Keys(s.adds[elem])) }

// MergeORSets returns the merge of sets; none of them is modified.
func MergeORSets(sets ...*ORSet) *ORSet {
	out := &ORSet{}
	for _, s := range sets {
		for t := range s.removed {
			if out.removed == nil {
				out.removed = map[string]struct{}{}
			}
			out.removed[t] = struct{}{}
		}
	}
	for _, s := range sets {
		for elem, tags := range s.adds {
			for t := range tags {
				out.Add(elem, t)
			}
		}
	}
	return out
}

// orsetJSON is the stored form: sorted, so equal sets encode equally.
type orsetJSON struct {
	Adds    map[string][]string `json:"adds"`
	Removed []string            `json:"removed"`
}

// MarshalJSON encodes the set canonically.
func (s *ORSet) MarshalJSON() ([]byte, error) {
	j := orsetJSON{Adds: map[string][]string{}, Removed: slices.Sorted(maps.Keys(s.removed))}
	for elem := range s.adds {
		j.Adds[elem] = s.Tags(elem)
	}
	if j.Removed == nil {
		j.Removed = []string{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a set, dropping adds whose tags were removed.
func (s *ORSet) UnmarshalJSON(b []byte) error {
	var j orsetJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode cart: %w", err)
	}
	*s = ORSet{}
	for _, t := range j.Removed {
		if s.removed == nil {
			s.removed = map[string]struct{}{}
		}
		s.removed[t] = struct{}{}
	}
	for elem, tags := range j.Adds {
		for _, t := range tags {
			s.Add(elem, t)
		}
	}
	return nil
}

// DecodeORSet decodes a stored cart; an empty value is the empty set.
func DecodeORSet(b []byte) (*ORSet, error) {
	s := &ORSet{}
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, err
	}
	return s, nil
}

// mergeValues is the client.MergeFunc of carts.
func mergeValues(values [][]byte) ([]byte, error) {
	sets := make([]*ORSet, len(values))
	for i, v := range values {
		s, err := DecodeORSet(v)
		if err != nil {
			return nil, err
		}
		sets[i] = s
	}
	return json.Marshal(MergeORSets(sets...))
}
