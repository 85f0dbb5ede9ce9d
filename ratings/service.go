package ratings

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"
)

// Service is the domain: it checks who may do what, runs each change in
// one transaction and writes its audit entry in the same transaction.
type Service struct {
	db      *bun.DB
	regions *Regions
	log     *slog.Logger
	now     func() time.Time
	cal     *Calendar
	clients clientCache
	stats   *statsCache
	sims    simulations // running simulations (simulate.go)
	// simulateHook, when set (by tests), is called before each employer
	// of a simulation is evaluated.
	simulateHook func()
	// tokenTTL is how long a new user token is valid.
	tokenTTL time.Duration
}

// ServiceParams configure a Service.
type ServiceParams struct {
	Logger   *slog.Logger     // default: discard
	NowFunc  func() time.Time // the clock; default time.Now
	Calendar *Calendar        // working days; default the embedded official calendar
	StatsTTL time.Duration    // how long GradeStats answers from its cached counts; 0: DefaultStatsTTL (5 min), < 0: no cache
	TokenTTL time.Duration    // how long a new user token is valid; 0: DefaultTokenTTL (90 days)
}

// NewService makes a Service over a migrated database.
func NewService(db *bun.DB, p ServiceParams) (*Service, error) {
	regions, err := DefaultRegions()
	if err != nil {
		return nil, err
	}
	now := p.NowFunc
	if now == nil {
		now = time.Now
	}
	cal := p.Calendar
	if cal == nil {
		if cal, err = DefaultCalendar(); err != nil {
			return nil, err
		}
	}
	return &Service{
		db:       db,
		regions:  regions,
		log:      cmp.Or(p.Logger, slog.New(slog.DiscardHandler)),
		now:      now,
		cal:      cal,
		stats:    newStatsCache(p.StatsTTL),
		tokenTTL: cmp.Or(p.TokenTTL, DefaultTokenTTL),
	}, nil
}

// DB returns the database.
func (s *Service) DB() *bun.DB { return s.db }

// Regions returns the GB/T 2260 list the service checks against.
func (s *Service) Regions() *Regions { return s.regions }

// inTx runs fn in a transaction: committed when fn returns nil, rolled back
// otherwise, so nothing is half-written.
func (s *Service) inTx(ctx context.Context, fn func(tx bun.Tx) error) error {
	return s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		return fn(tx)
	})
}

// AllRegions stands for every region (the whole database): only admins
// act on it.
const AllRegions = "000000"

// within refuses an actor acting outside its region.
func (s *Service) within(a Actor, region string) error {
	if a.Role == RoleAdmin {
		return nil
	}
	if !s.regions.Within(region, a.Region) {
		return fmt.Errorf("%w: region %s is outside %s's region %s", ErrForbidden, region, a.Name, a.Region)
	}
	return nil
}

// officer refuses anyone but officers and admins.
func officer(a Actor) error {
	return a.require(RoleCounty, RoleCity, RoleProvince, RoleAdmin)
}

// scope resolves the region an officer acts on ("" means the officer's
// own), checks it is on the list and inside the officer's region, and
// returns it with its code prefix.
func (s *Service) scope(a Actor, region string) (resolved, prefix string, err error) {
	if err := officer(a); err != nil {
		return "", "", err
	}
	if region == "" {
		region = a.Region
	}
	prefix, err = s.regionPrefix(region)
	if err != nil {
		return "", "", invalid("region", "%v", err)
	}
	if err := s.within(a, region); err != nil {
		return "", "", err
	}
	return region, prefix, nil
}

// regionPrefix is the code prefix shared by a region and everything in it:
// 2 digits for a province, 4 for a prefecture, 6 for a county.
func (s *Service) regionPrefix(code string) (string, error) {
	if code == AllRegions {
		return "", nil
	}
	r, ok := s.regions.Lookup(code)
	if !ok {
		return "", s.regions.Check(code)
	}
	switch r.Level {
	case LevelProvince:
		return code[:2], nil
	case LevelPrefecture:
		return code[:4], nil
	}
	return code, nil
}
