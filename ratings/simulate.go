package ratings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"laborcredit/engine"
)

// Limits on simulations, which evaluate two rule sets over every employer
// of a region on the request's goroutine.
const (
	// MaxSimulations is how many simulations may run at once in one
	// process (2: one per core of the reference machine); one more is
	// refused with ErrSimulationBusy.
	MaxSimulations = 2
	// SimulateTimeout is the deadline of one simulation (60 s), on top of
	// the caller's context; a simulation that reaches it stops with an
	// error wrapping ErrSimulationDeadline.
	SimulateTimeout = 60 * time.Second
)

var (
	// ErrSimulationBusy is returned when MaxSimulations run already, or
	// when the same actor runs one already (one per officer at a time).
	ErrSimulationBusy = errors.New("too many simulations running")
	// ErrSimulationDeadline is returned when a simulation does not finish
	// within SimulateTimeout.
	ErrSimulationDeadline = errors.New("the simulation did not finish within its deadline")
)

// simulations counts the simulations running, in total and by actor. The
// zero value is ready for use.
type simulations struct {
	mu    sync.Mutex
	total int
	by    map[string]bool
}

func (s *simulations) acquire(who string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= MaxSimulations || s.by[who] {
		return false
	}
	if s.by == nil {
		s.by = map[string]bool{}
	}
	s.total++
	s.by[who] = true
	return true
}

func (s *simulations) release(who string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	delete(s.by, who)
}

// SimulatePeriod compares a draft rule set with a period's active one over
// the period's stored records, without writing anything: the grade
// migration matrix and the first limit employers that change. It runs
// under SimulateTimeout and stops within one employer once ctx is done
// (ctx.Err, or ErrSimulationDeadline). A rule that fails on an employer
// (the engine's limits included) is a *ValidationError naming the rule.
// At most MaxSimulations run at once, one per actor (ErrSimulationBusy).
func (s *Service) SimulatePeriod(ctx context.Context, a Actor, period int, region string, draft *engine.RuleSet, limit int) (*engine.Simulation, error) {
	_, prefix, err := s.scope(a, region)
	if err != nil {
		return nil, err
	}
	if !s.sims.acquire(a.String()) {
		return nil, fmt.Errorf("%w: at most %d at once and one per officer; try again when yours has finished", ErrSimulationBusy, MaxSimulations)
	}
	defer s.sims.release(a.String())
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, SimulateTimeout, ErrSimulationDeadline)
	defer cancel()
	base, _, err := ActiveRuleSet(ctx, s.db, period)
	if err != nil {
		return nil, err
	}
	sim := engine.NewSimulation(base, draft, limit)
	stopped := func() error {
		// The parent first: a context of another kind reaches ctx through
		// a goroutine, a moment later.
		err := parent.Err()
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, context.DeadlineExceeded) {
			// Ours (SimulateTimeout) or the caller's.
			return fmt.Errorf("%w (%s) after %d employers; simulate a smaller region", ErrSimulationDeadline, SimulateTimeout, sim.Employers)
		}
		return fmt.Errorf("simulate: %w", err)
	}
	var cursor int64
	for {
		batch, err := loadFacts(ctx, s.db, period, prefix, cursor, 2000)
		if err != nil {
			if serr := stopped(); serr != nil {
				return nil, serr
			}
			return nil, err
		}
		if len(batch) == 0 {
			return sim, nil
		}
		for i := range batch {
			if err := stopped(); err != nil {
				return nil, err
			}
			if s.simulateHook != nil {
				s.simulateHook()
			}
			c, err := engine.Compare(base, draft, &batch[i].Facts)
			if err != nil {
				return nil, ruleValidation(fmt.Errorf("employer %s: %w", batch[i].Facts.Employer.USCC, err))
			}
			sim.Add(c)
		}
		cursor = batch[len(batch)-1].ID
	}
}
