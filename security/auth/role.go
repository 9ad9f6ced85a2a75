package auth

import (
	"errors"
	"fmt"
)

// Role is what a token may do. Roles are ordered: a higher one includes
// every lower one, so a check is a single comparison.
type Role uint8

// The zero Role is no role: it is below RoleRead, so an Entry that was
// never given a role is refused everywhere rather than granted read.
const (
	RoleRead Role = iota + 1
	RoleWrite
	RoleAdmin
)

// ErrBadRole is ParseRole's error. It does not quote the input: in a
// tokens file that field could hold anything, a secret included.
var ErrBadRole = errors.New("unknown role: want read, write or admin")

// ParseRole parses "read", "write" or "admin".
func ParseRole(s string) (Role, error) {
	switch s {
	case "read":
		return RoleRead, nil
	case "write":
		return RoleWrite, nil
	case "admin":
		return RoleAdmin, nil
	}
	return 0, ErrBadRole
}

// String is the role's name as ParseRole reads it.
func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// valid reports whether r is one of the three roles.
func (r Role) valid() bool { return r >= RoleRead && r <= RoleAdmin }
