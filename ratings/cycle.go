package ratings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// RateParams say what one run of the rating cycle covers.
type RateParams struct {
	Period int
	Region string // GB/T 2260 code; default: the actor's region
	// ReplaceReviewed applies re-ratings of ratings an officer has already
	// reviewed or confirmed (they are only reported otherwise). Publicized
	// and published ratings are never replaced here.
	ReplaceReviewed bool
	BatchSize       int                         // employers per transaction; default 2,000
	Progress        func(done, total int)       // called after each batch; may be nil
	Held            func(uscc, from, to string) // called for each re-rating not applied; may be nil
}

// RateReport says what a run did.
type RateReport struct {
	RunID     int64
	Resumed   bool   // it continued a run that had stopped part way
	RuleSet   string // id and hash of the rule set used
	Hash      string
	Employers int // employers in scope
	Rated     int // new rating versions written by this run
	Unchanged int // employers whose current rating already says the same
	Held      int // re-ratings not applied: the current rating is reviewed or further on
}

// Rate runs the rating cycle: every employer of the region is rated with
// the period's active rule set, batch by batch. Each batch — its facts,
// its new rating versions and the run's cursor — is one transaction, so a
// run killed at any point leaves whole batches only, and running it again
// resumes after the last one. An employer whose current rating already has
// the same result gets no new version.
func (s *Service) Rate(ctx context.Context, a Actor, p RateParams) (RateReport, error) {
	var rep RateReport
	region, prefix, err := s.scope(a, p.Region)
	if err != nil {
		return rep, err
	}
	p.Region = region
	if p.BatchSize <= 0 {
		p.BatchSize = 2000
	}
	rs, stored, err := ActiveRuleSet(ctx, s.db, p.Period)
	if err != nil {
		return rep, err
	}
	rep.RuleSet, rep.Hash = rs.ID, rs.Hash

	// Resume the latest run of this period and region if it stopped part
	// way with this same rule set; after any other run, start afresh.
	var run RatingRun
	err = s.db.NewSelect().Model(&run).Where("period = ? AND region = ?", p.Period, p.Region).
		Order("id DESC").Limit(1).Scan(ctx)
	if err == nil && (run.FinishedAt != nil || run.RuleSetID != stored.ID) {
		err = ErrNotFound
	}
	switch {
	case err == nil:
		rep.Resumed = true
	case errors.Is(dbError(err), ErrNotFound):
		run = RatingRun{Period: p.Period, Region: p.Region, RuleSetID: stored.ID, StartedAt: s.now().UTC()}
		if err := s.inTx(ctx, func(tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(&run).Returning("id").Exec(ctx); err != nil {
				return dbError(err)
			}
			return appendAudit(ctx, tx, s.now(), a, "rating.run", fmt.Sprintf("period:%d region:%s", p.Period, p.Region), nil,
				map[string]any{"run": run.ID, "rule_set": rs.ID, "hash": rs.Hash})
		}); err != nil {
			return rep, fmt.Errorf("start rating run: %w", err)
		}
	default:
		return rep, fmt.Errorf("find rating run: %w", err)
	}
	rep.RunID = run.ID

	total64, err := s.db.NewSelect().Model((*Employer)(nil)).Where("region LIKE ?", prefix+"%").Count(ctx)
	if err != nil {
		return rep, fmt.Errorf("count employers: %w", err)
	}
	done64, err := s.db.NewSelect().Model((*Employer)(nil)).Where("region LIKE ? AND id <= ?", prefix+"%", run.Cursor).Count(ctx)
	if err != nil {
		return rep, fmt.Errorf("count employers: %w", err)
	}
	total, done := int(total64), int(done64)
	rep.Employers = total
	if p.Progress != nil {
		p.Progress(done, total)
	}

	cursor := run.Cursor
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var n int
		err := s.inTx(ctx, func(tx bun.Tx) error {
			// The run's row lock keeps two processes from rating the same
			// batch at once.
			res, err := tx.NewUpdate().Model((*RatingRun)(nil)).Set("cursor = cursor").
				Where("id = ? AND cursor = ?", run.ID, cursor).Exec(ctx)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return fmt.Errorf("%w: rating run %d was moved on by another process", ErrConflict, run.ID)
			}
			batch, err := loadFacts(ctx, tx, p.Period, prefix, cursor, p.BatchSize)
			if err != nil {
				return err
			}
			n = len(batch)
			if n == 0 {
				now := s.now().UTC()
				_, err := tx.NewUpdate().Model((*RatingRun)(nil)).Set("finished_at = ?", now).Where("id = ?", run.ID).Exec(ctx)
				return err
			}
			st, err := s.rateBatch(ctx, tx, rs, stored, p, batch)
			if err != nil {
				return err
			}
			last := batch[n-1].ID
			_, err = tx.NewUpdate().Model((*RatingRun)(nil)).
				Set("cursor = ?, rated = rated + ?, unchanged = unchanged + ?, held = held + ?", last, st.Rated, st.Unchanged, st.Held).
				Where("id = ?", run.ID).Exec(ctx)
			if err != nil {
				return err
			}
			cursor = last
			rep.Rated += st.Rated
			rep.Unchanged += st.Unchanged
			rep.Held += st.Held
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("rate period %d region %s after employer %d: %w", p.Period, p.Region, cursor, err)
		}
		if n == 0 {
			break
		}
		done += n
		if p.Progress != nil {
			p.Progress(done, total)
		}
	}
	s.log.InfoContext(ctx, "rating run finished", "run", run.ID, "period", p.Period, "region", p.Region,
		"rated", rep.Rated, "unchanged", rep.Unchanged, "held", rep.Held)
	return rep, nil
}

type batchStats struct{ Rated, Unchanged, Held int }

type currentRating struct {
	ID      int64
	Version int
	Status  string
	Result  string
}

// rateBatch evaluates a batch and writes its new rating versions.
func (s *Service) rateBatch(ctx context.Context, tx bun.Tx, rs *engine.RuleSet, stored *StoredRuleSet, p RateParams, batch []employerFacts) (batchStats, error) {
	var st batchStats
	lo, hi := batch[0].ID, batch[len(batch)-1].ID
	current := make(map[int64]currentRating, len(batch))
	rows, err := tx.QueryContext(ctx,
		"SELECT employer_id, id, version, status, result FROM ratings WHERE current = ? AND period = ? AND employer_id BETWEEN ? AND ?",
		true, p.Period, lo, hi)
	if err != nil {
		return st, fmt.Errorf("load current ratings: %w", err)
	}
	for rows.Next() {
		var id int64
		var c currentRating
		if err := rows.Scan(&id, &c.ID, &c.Version, &c.Status, &c.Result); err != nil {
			rows.Close()
			return st, fmt.Errorf("load current ratings: %w", err)
		}
		current[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}

	now := s.now().UTC().Truncate(time.Microsecond)
	var supersede []int64
	inserts := make([]Rating, 0, len(batch))
	buf := make([]byte, 0, 1024)
	for i := range batch {
		ef := &batch[i]
		res, err := engine.Evaluate(rs, &ef.Facts)
		if err != nil {
			return st, fmt.Errorf("employer %s: %w", ef.Facts.Employer.USCC, err)
		}
		buf = res.AppendJSON(buf[:0])
		result := string(buf)
		version := 1
		if cur, ok := current[ef.ID]; ok {
			if cur.Result == result || equalJSON(cur.Result, result) {
				st.Unchanged++
				continue
			}
			replaceable := cur.Status == StatusRated ||
				(p.ReplaceReviewed && (cur.Status == StatusReviewed || cur.Status == StatusConfirmed))
			if !replaceable {
				st.Held++
				if p.Held != nil {
					p.Held(ef.Facts.Employer.USCC, gradeOf(cur.Result), res.Grade)
				}
				continue
			}
			supersede = append(supersede, cur.ID)
			version = cur.Version + 1
		}
		facts, err := json.Marshal(&ef.Facts)
		if err != nil {
			return st, err
		}
		inserts = append(inserts, newRating(ef.ID, p.Period, version, stored.ID, &res, result, string(facts), now))
	}
	if len(supersede) > 0 {
		if _, err := tx.NewUpdate().Model((*Rating)(nil)).Set("current = ?", false).
			Set("lock_version = lock_version + 1").Where("id IN (?)", bun.List(supersede)).Exec(ctx); err != nil {
			return st, fmt.Errorf("supersede ratings: %w", err)
		}
	}
	if err := insertRatings(ctx, tx, inserts); err != nil {
		return st, err
	}
	st.Rated = len(inserts)
	return st, nil
}

// newRating is a new current version, status rated, of an engine result.
func newRating(employerID int64, period, version int, ruleSetID int64, res *engine.Result, result, facts string, now time.Time) Rating {
	r := Rating{EmployerID: employerID, Period: period, Version: version, Current: true, Status: StatusRated,
		RuleSetID: ruleSetID, RuleSetHash: res.RuleSetHash, EngineGrade: res.Grade, Grade: res.Grade,
		Result: result, Facts: facts, ComputedAt: now, LockVersion: 1}
	if res.HasScore {
		score := res.Score
		r.Score = &score
	}
	return r
}

// insertRatings writes rating rows in bulk: COPY on PostgreSQL, one
// multi-row INSERT on SQLite.
func insertRatings(ctx context.Context, tx bun.Tx, rows []Rating) error {
	if len(rows) == 0 {
		return nil
	}
	if !IsPostgres(tx) {
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("insert ratings: %w", dbError(err))
		}
		return nil
	}
	stmt, err := tx.Tx.PrepareContext(ctx, copyIn("ratings", "employer_id", "period", "version", "current", "status",
		"rule_set_id", "rule_set_hash", "engine_grade", "grade", "score", "result", "facts", "computed_at", "lock_version"))
	if err != nil {
		return fmt.Errorf("copy ratings: %w", err)
	}
	defer stmt.Close()
	for i := range rows {
		r := &rows[i]
		var score any
		if r.Score != nil {
			score = *r.Score
		}
		if _, err := stmt.ExecContext(ctx, r.EmployerID, r.Period, r.Version, r.Current, r.Status, r.RuleSetID, r.RuleSetHash,
			r.EngineGrade, r.Grade, score, r.Result, r.Facts, r.ComputedAt, r.LockVersion); err != nil {
			return fmt.Errorf("copy ratings: %w", dbError(err))
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("copy ratings: %w", dbError(err))
	}
	return nil
}

// equalJSON compares two JSON documents by value (PostgreSQL's jsonb gives
// back its own spacing and key order).
func equalJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func gradeOf(result string) string {
	var r struct {
		Grade string `json:"grade"`
	}
	json.Unmarshal([]byte(result), &r) //nolint:errcheck // a broken stored result shows as ""
	return r.Grade
}
