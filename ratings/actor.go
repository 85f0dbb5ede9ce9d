package ratings

import "fmt"

// Role is what a user may do.
type Role string

// The roles of DESIGN.md's users table.
const (
	RoleCounty   Role = "county"   // 区县 officer
	RoleCity     Role = "city"     // 市州 officer
	RoleProvince Role = "province" // 省厅 officer
	RoleAdmin    Role = "admin"
	RoleEmployer Role = "employer" // 用人单位
)

// Actor is who does something: every call that changes state takes one,
// and its role and region decide what it may do.
type Actor struct {
	Name   string
	Role   Role
	Region string // the actor's jurisdiction (GB/T 2260)
	USCC   string // the employer, for RoleEmployer
}

// System is the actor of automatic acts (the publication tick, the
// command line run by an operator).
var System = Actor{Name: "system", Role: RoleAdmin, Region: AllRegions}

func (a Actor) String() string {
	if a.Role == RoleEmployer {
		return fmt.Sprintf("%s (employer %s)", a.Name, a.USCC)
	}
	return fmt.Sprintf("%s (%s %s)", a.Name, a.Role, a.Region)
}

func (a Actor) require(roles ...Role) error {
	for _, r := range roles {
		if a.Role == r {
			return nil
		}
	}
	return fmt.Errorf("%w: %s may not do this (needs %v)", ErrForbidden, a, roles)
}
