package ratings

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// UploadRuleSet stores a rule set after the engine has compiled it. The
// same content uploaded again returns the stored one; a different content
// under a code and version already stored is a conflict (rule sets are
// immutable: a change is a new version). Admins and provincial officers
// may upload; it is audited.
func (s *Service) UploadRuleSet(ctx context.Context, a Actor, name string, src []byte) (*StoredRuleSet, error) {
	if err := a.require(RoleAdmin, RoleProvince); err != nil {
		return nil, err
	}
	rs, err := engine.Load(name, src)
	if err != nil {
		return nil, &ValidationError{Field: "rule_set", Reason: err.Error()}
	}
	if err := engine.Probe(rs); err != nil {
		return nil, ruleValidation(err)
	}
	var out *StoredRuleSet
	err = s.inTx(ctx, func(tx bun.Tx) error {
		var existing StoredRuleSet
		err := tx.NewSelect().Model(&existing).Where("hash = ?", rs.Hash).Scan(ctx)
		if err == nil {
			out = &existing
			return nil
		}
		if !errors.Is(dbError(err), ErrNotFound) {
			return err
		}
		row := &StoredRuleSet{Code: rs.ID, Version: rs.Version, Hash: rs.Hash, Title: rs.Title, Source: string(src),
			UploadedBy: a.String(), UploadedAt: s.now().UTC()}
		// Another upload of the same content may have committed since the
		// lookup: that is the same rule set, not a conflict.
		res, err := tx.NewInsert().Model(row).On("CONFLICT DO NOTHING").Returning("id").Exec(ctx)
		if err != nil {
			err = dbError(err)
			if errors.Is(err, ErrConflict) {
				return fmt.Errorf("%w: rule set %s version %d is already stored with other content; give the change a new version", ErrConflict, rs.ID, rs.Version)
			}
			return fmt.Errorf("upload rule set: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			err := tx.NewSelect().Model(&existing).Where("hash = ?", rs.Hash).Scan(ctx)
			if errors.Is(dbError(err), ErrNotFound) {
				return fmt.Errorf("%w: rule set %s version %d is already stored with other content; give the change a new version", ErrConflict, rs.ID, rs.Version)
			}
			if err != nil {
				return fmt.Errorf("upload rule set: %w", dbError(err))
			}
			out = &existing
			return nil
		}
		out = row
		return appendAudit(ctx, tx, s.now(), a, "rule_set.upload", fmt.Sprintf("rule_set:%s@%d", rs.ID, rs.Version), nil,
			map[string]any{"id": row.ID, "code": rs.ID, "version": rs.Version, "hash": rs.Hash})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckRuleSet compiles a rule set and probes it on worst-case facts
// (engine.Probe), without storing it: a rule set that does not compile is
// an engine.RuleSetError, one that breaks the engine's limits a
// *ValidationError naming the rule. Only officers and admins may check.
func (s *Service) CheckRuleSet(a Actor, name string, src []byte) (*engine.RuleSet, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	rs, err := engine.Load(name, src)
	if err != nil {
		return nil, err
	}
	if err := engine.Probe(rs); err != nil {
		return nil, ruleValidation(err)
	}
	return rs, nil
}

// ruleValidation turns an evaluation failure into a *ValidationError
// whose field names the rule ("rule.when") and whose reason is the error.
func ruleValidation(err error) error {
	field := "rule_set"
	var re *engine.RuleError
	if errors.As(err, &re) && re.Rule != "" {
		field = re.Rule + "." + re.Field
	}
	return &ValidationError{Field: field, Reason: err.Error()}
}

// ActivateRuleSet makes a stored rule set (by hash) the one a period is
// rated with, creating the period if needed. Only an admin may; it is
// audited. A period whose ratings are already published keeps its rule set.
func (s *Service) ActivateRuleSet(ctx context.Context, a Actor, period int, hash string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	if period < 1990 || period > 2100 {
		return invalid("period", "must be a year between 1990 and 2100, got %d", period)
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		var rs StoredRuleSet
		if err := tx.NewSelect().Model(&rs).Where("hash = ?", hash).Scan(ctx); err != nil {
			if errors.Is(dbError(err), ErrNotFound) {
				return invalid("hash", "no stored rule set has hash %s", hash)
			}
			return err
		}
		var p Period
		err := tx.NewSelect().Model(&p).Where("year = ?", period).Scan(ctx)
		switch {
		case errors.Is(dbError(err), ErrNotFound):
			p = Period{Year: period, PublicityDays: 5, CreatedAt: s.now().UTC()}
			if _, err := tx.NewInsert().Model(&p).Exec(ctx); err != nil {
				return fmt.Errorf("create period %d: %w", period, dbError(err))
			}
		case err != nil:
			return err
		}
		before := p.RuleSetID
		if before != nil && *before == rs.ID {
			return nil
		}
		n, err := tx.NewSelect().Model((*Rating)(nil)).Where("period = ? AND status = ?", period, StatusPublished).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: period %d has %d published ratings; its rule set can no longer change", ErrConflict, period, n)
		}
		now := s.now().UTC()
		by := a.String()
		if _, err := tx.NewUpdate().Model((*Period)(nil)).Set("rule_set_id = ?, activated_by = ?, activated_at = ?", rs.ID, by, now).
			Where("year = ?", period).Exec(ctx); err != nil {
			return fmt.Errorf("activate: %w", dbError(err))
		}
		return appendAudit(ctx, tx, now, a, "rule_set.activate", fmt.Sprintf("period:%d", period),
			map[string]any{"rule_set_id": before}, map[string]any{"rule_set_id": rs.ID, "hash": rs.Hash})
	})
}

// SetPublicityDays sets how many working days a period's ratings stay
// under publicity (公示): 5 by default, 7 in some places. A provincial
// officer or an admin may change it until the first rating of the period
// is publicized, so that one period is never publicized for two lengths.
// It is audited.
func (s *Service) SetPublicityDays(ctx context.Context, a Actor, period, days int) error {
	if err := a.require(RoleProvince, RoleAdmin); err != nil {
		return err
	}
	if days < 1 || days > 30 {
		return invalid("publicity_days", "must be a number of working days from 1 to 30, got %d", days)
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		var p Period
		if err := tx.NewSelect().Model(&p).Where("year = ?", period).Scan(ctx); err != nil {
			if errors.Is(dbError(err), ErrNotFound) {
				return invalid("period", "period %d does not exist (activate a rule set for it first)", period)
			}
			return err
		}
		if p.PublicityDays == days {
			return nil
		}
		n, err := tx.NewSelect().Model((*Rating)(nil)).Where("period = ? AND publicized_at IS NOT NULL", period).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %d ratings of period %d have been publicized for %d working days already", ErrConflict, n, period, p.PublicityDays)
		}
		if _, err := tx.NewUpdate().Model((*Period)(nil)).Set("publicity_days = ?", days).Where("year = ?", period).Exec(ctx); err != nil {
			return fmt.Errorf("set publicity days: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now().UTC(), a, "period.publicity_days", fmt.Sprintf("period:%d", period),
			map[string]any{"publicity_days": p.PublicityDays}, map[string]any{"publicity_days": days})
	})
}

// ActiveRuleSet returns the rule set activated for a period, compiled, and
// checks that the stored content still has its recorded hash.
func ActiveRuleSet(ctx context.Context, db bun.IDB, period int) (*engine.RuleSet, *StoredRuleSet, error) {
	var p Period
	if err := db.NewSelect().Model(&p).Where("year = ?", period).Scan(ctx); err != nil {
		if errors.Is(dbError(err), ErrNotFound) {
			return nil, nil, invalid("period", "period %d does not exist; activate a rule set for it first", period)
		}
		return nil, nil, err
	}
	if p.RuleSetID == nil {
		return nil, nil, invalid("period", "period %d has no active rule set", period)
	}
	return RuleSetByID(ctx, db, *p.RuleSetID)
}

// RuleSetByID loads and compiles a stored rule set, verifying its hash.
func RuleSetByID(ctx context.Context, db bun.IDB, id int64) (*engine.RuleSet, *StoredRuleSet, error) {
	var row StoredRuleSet
	if err := db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("rule set %d: %w", id, dbError(err))
	}
	rs, err := compiled(fmt.Sprintf("%s@%d", row.Code, row.Version), []byte(row.Source))
	if err != nil {
		return nil, nil, fmt.Errorf("rule set %d no longer compiles: %w", id, err)
	}
	if rs.Hash != row.Hash {
		return nil, nil, fmt.Errorf("rule set %d: stored hash %s, content hashes to %s", id, row.Hash, rs.Hash)
	}
	return rs, &row, nil
}

// compiledCache holds the rule sets compiled from stored sources, by name
// and the SHA-256 of the source bytes: every rate, override and nomination
// reads its rule set, and compiling one takes milliseconds. A compiled
// rule set is immutable, so sharing it is safe; the same bytes always
// compile to the same set (the stored hash is still checked on each read).
var compiledCache = struct {
	sync.Mutex
	m map[[sha256.Size]byte]*engine.RuleSet
}{m: map[[sha256.Size]byte]*engine.RuleSet{}}

// maxCompiled bounds the cache; past it, it starts again empty (a province
// keeps a handful of rule sets).
const maxCompiled = 64

// compiled is engine.Load through compiledCache.
func compiled(name string, src []byte) (*engine.RuleSet, error) {
	key := sha256.Sum256(append([]byte(name+"\x00"), src...))
	compiledCache.Lock()
	rs := compiledCache.m[key]
	compiledCache.Unlock()
	if rs != nil {
		return rs, nil
	}
	rs, err := engine.Load(name, src)
	if err != nil {
		return nil, err
	}
	compiledCache.Lock()
	if len(compiledCache.m) >= maxCompiled {
		clear(compiledCache.m)
	}
	compiledCache.m[key] = rs
	compiledCache.Unlock()
	return rs, nil
}
