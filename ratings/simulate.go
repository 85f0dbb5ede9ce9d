package ratings

import (
	"context"
	"fmt"

	"laborcredit/engine"
)

// SimulatePeriod compares a draft rule set with a period's active one over
// the period's stored records, without writing anything: the grade
// migration matrix and the first limit employers that change.
func (s *Service) SimulatePeriod(ctx context.Context, a Actor, period int, region string, draft *engine.RuleSet, limit int) (*engine.Simulation, error) {
	_, prefix, err := s.scope(a, region)
	if err != nil {
		return nil, err
	}
	base, _, err := ActiveRuleSet(ctx, s.db, period)
	if err != nil {
		return nil, err
	}
	sim := engine.NewSimulation(base, draft, limit)
	var cursor int64
	for {
		batch, err := loadFacts(ctx, s.db, period, prefix, cursor, 2000)
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			return sim, nil
		}
		for i := range batch {
			c, err := engine.Compare(base, draft, &batch[i].Facts)
			if err != nil {
				return nil, fmt.Errorf("employer %s: %w", batch[i].Facts.Employer.USCC, err)
			}
			sim.Add(c)
		}
		cursor = batch[len(batch)-1].ID
	}
}
