package ratings_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

// simulationFixture is a service with national-2016 active for 2025 and
// n employers in 420102.
func simulationFixture(t *testing.T, db *bun.DB, n int) (*ratings.Service, *engine.RuleSet) {
	t.Helper()
	ctx := context.Background()
	svc, err := ratings.NewService(db, ratings.ServiceParams{})
	require.NoError(t, err)
	src := nationalSource(t)
	row, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	require.NoError(t, err)
	require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2025, row.Hash))
	for i := range n {
		_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: code(t, "420102", 300+i), Name: fmt.Sprintf("模拟%d号公司", i),
			Region: "420102", Industry: "construction", Employees: 10})
		require.NoError(t, err)
	}
	draft, err := engine.Load("draft.yaml", src)
	require.NoError(t, err)
	return svc, draft
}

// TestSimulateStopsWhenCancelled: a simulation whose caller cancels stops
// within one employer, not at the end of its batch.
func TestSimulateStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc, draft := simulationFixture(t, db, 30)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var evaluated atomic.Int64
		ratings.SetSimulateHook(svc, func() {
			if evaluated.Add(1) == 5 {
				cancel()
			}
		})
		_, err := svc.SimulatePeriod(ctx, admin, 2025, "420102", draft, 10)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, int64(5), evaluated.Load(), "employers evaluated after the cancel")

		// Uncancelled, it sees all 30.
		ratings.SetSimulateHook(svc, nil)
		sim, err := svc.SimulatePeriod(context.Background(), admin, 2025, "420102", draft, 10)
		require.NoError(t, err)
		require.Equal(t, 30, sim.Employers)
	})
}

// expiring is a context whose deadline passes when expire is called.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiring) expire() { c.once.Do(func() { close(c.done) }) }

func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestSimulateStopsAtTheDeadline: a simulation whose deadline passes
// stops within one employer with ErrSimulationDeadline.
func TestSimulateStopsAtTheDeadline(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc, draft := simulationFixture(t, db, 30)
		ctx := newExpiring()
		var evaluated atomic.Int64
		ratings.SetSimulateHook(svc, func() {
			if evaluated.Add(1) == 3 {
				ctx.expire()
			}
		})
		_, err := svc.SimulatePeriod(ctx, admin, 2025, "420102", draft, 10)
		require.ErrorIs(t, err, ratings.ErrSimulationDeadline)
		require.Contains(t, err.Error(), "after 3 employers")
		require.Equal(t, int64(3), evaluated.Load())
	})
}

// TestSimulateLimits: at most MaxSimulations at once and one per officer;
// the others get ErrSimulationBusy until one finishes.
func TestSimulateLimits(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc, draft := simulationFixture(t, db, 2)
		release := make(chan struct{})
		started := make(chan struct{}, 10)
		ratings.SetSimulateHook(svc, func() {
			started <- struct{}{}
			<-release
		})
		officers := make([]ratings.Actor, ratings.MaxSimulations+1)
		for i := range officers {
			officers[i] = ratings.Actor{Name: fmt.Sprintf("省厅%d", i), Role: ratings.RoleProvince, Region: "420000"}
		}
		var wg sync.WaitGroup
		errs := make([]error, ratings.MaxSimulations)
		for i := range ratings.MaxSimulations {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.SimulatePeriod(context.Background(), officers[i], 2025, "420102", draft, 10)
			}()
		}
		for range ratings.MaxSimulations {
			<-started
		}
		_, err := svc.SimulatePeriod(context.Background(), officers[0], 2025, "420102", draft, 10)
		require.ErrorIs(t, err, ratings.ErrSimulationBusy, "one per officer")
		_, err = svc.SimulatePeriod(context.Background(), officers[ratings.MaxSimulations], 2025, "420102", draft, 10)
		require.ErrorIs(t, err, ratings.ErrSimulationBusy, "at most MaxSimulations")
		close(release)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		ratings.SetSimulateHook(svc, nil)
		_, err = svc.SimulatePeriod(context.Background(), officers[ratings.MaxSimulations], 2025, "420102", draft, 10)
		require.NoError(t, err, "free again once they have finished")
	})
}

// TestSimulateBombIsValidation: a draft that breaks the engine's limits
// is a ValidationError naming the rule, not an internal error.
func TestSimulateBombIsValidation(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc, _ := simulationFixture(t, db, 1)
		draft, err := engine.Load("draft.yaml", []byte(bombSet))
		require.NoError(t, err)
		_, err = svc.SimulatePeriod(context.Background(), admin, 2025, "420102", draft, 10)
		var ve *ratings.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "bomb.when", ve.Field)
		require.Contains(t, ve.Reason, "MaxStringLen")
	})
}

const bombSet = `id: bomb-set
grades: [A, B, C]
rules:
  - id: bomb
    when: len(repeat("0123456789", 100000000)) > 0
    cap: B
    reason: x
`

// TestUploadRuleSetRefusesBombs: a rule set that breaks the engine's
// limits on worst-case facts is refused at upload, naming the rule.
func TestUploadRuleSetRefusesBombs(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		svc, err := ratings.NewService(db, ratings.ServiceParams{})
		require.NoError(t, err)
		tests := []struct{ name, src string }{
			{"repeat", bombSet},
			{"nested loops over the largest facts", strings.Replace(bombSet, `len(repeat("0123456789", 100000000)) > 0`,
				`count(cases, {count(cases, {count(cases, {.criminal}) == 7}) == 7}) == 7`, 1)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.UploadRuleSet(context.Background(), admin, "bomb.yaml", []byte(tt.src))
				var ve *ratings.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, "bomb.when", ve.Field)
				require.Contains(t, ve.Reason, "bomb when")
			})
		}
		_, err = svc.CheckRuleSet(ratings.Actor{Name: "企业", Role: ratings.RoleEmployer, USCC: code(t, "420102", 1)}, "x.yaml", nationalSource(t))
		require.ErrorIs(t, err, ratings.ErrForbidden)
	})
}
