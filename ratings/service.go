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

// txEndTimeout bounds a commit or rollback on a database that hangs: then
// the transaction's context ends, which breaks its connection (pgconn.go).
const txEndTimeout = 10 * time.Second

// inTx runs fn in a transaction: committed when fn returns nil, rolled back
// otherwise, so nothing is half-written.
//
// The transaction lives on a context of its own, not the caller's: when the
// caller's ends (a client that left, a deadline), database/sql would roll
// back from another goroutine at once, while a COPY of this transaction may
// still be reading the same connection (lib/pq's copy loop: a data race on
// its buffer). fn's statements take the caller's context, so they stop
// then; fn returns (closing any COPY), and the rollback runs here, after it.
func (s *Service) inTx(ctx context.Context, fn func(tx bun.Tx) error) (err error) {
	txCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	tx, err := s.db.BeginTx(txCtx, &sql.TxOptions{})
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if done {
			return
		}
		// fn panicked: roll back, then let the panic go on.
		t := time.AfterFunc(txEndTimeout, cancel)
		defer t.Stop()
		_ = tx.Rollback()
	}()
	ferr := fn(tx)
	done = true
	t := time.AfterFunc(txEndTimeout, cancel)
	defer t.Stop()
	if ferr != nil {
		_ = tx.Rollback()
		return ferr
	}
	return tx.Commit()
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
