package ratings_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
	scoringrules "laborcredit/scoring-rules"
)

// nationalSource is scoring-rules/national-2016.yaml.
func nationalSource(t *testing.T) []byte {
	t.Helper()
	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	return src
}

// retitled is src with its title changed, so its canonical hash changes.
func retitled(t *testing.T, src []byte, title string) []byte {
	t.Helper()
	out := strings.Replace(string(src), "\ntitle: ", "\ntitle: "+title+" ", 1)
	require.NotEqual(t, string(src), out)
	return []byte(out)
}

// withVersion is src with its version line replaced.
func withVersion(t *testing.T, src []byte, version int) []byte {
	t.Helper()
	out := strings.Replace(string(src), "\nversion: 1\n", fmt.Sprintf("\nversion: %d\n", version), 1)
	require.NotEqual(t, string(src), out)
	return []byte(out)
}

const brokenRuleSet = `id: broken
version: 1
title: broken
grades: [A, B, C]
default_grade: A
rules:
  - id: fine-rule
    when: len(cases) >= 3
    cap: C
    reason: three cases
  - id: x-unknown-field
    when: len(no_such_field) > 0
    cap: B
    reason: refers to a field that does not exist
`

func TestUploadRuleSet(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		src := nationalSource(t)
		want, err := engine.Load("national-2016.yaml", src)
		require.NoError(t, err)

		row, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
		require.NoError(t, err)
		require.NotZero(t, row.ID)
		require.Equal(t, want.Hash, row.Hash)
		require.Equal(t, "national-2016", row.Code)
		require.Equal(t, 1, row.Version)
		require.Equal(t, want.Title, row.Title)
		require.Equal(t, admin.String(), row.UploadedBy)

		var stored ratings.StoredRuleSet
		require.NoError(t, db.NewSelect().Model(&stored).Where("id = ?", row.ID).Scan(ctx))
		require.Equal(t, want.Hash, stored.Hash)
		require.Equal(t, string(src), stored.Source)
		require.Equal(t, 1, countRows(t, db, "audit_log", "action = ? AND subject = ?", "rule_set.upload", "rule_set:national-2016@1"))

		// The same content again: the same row, no second audit entry.
		again, err := svc.UploadRuleSet(ctx, provinceHubei, "national-2016.yaml", src)
		require.NoError(t, err)
		require.Equal(t, row.ID, again.ID)
		require.Equal(t, row.Hash, again.Hash)
		// Only comments changed: the canonical content, so the hash, is the same.
		again, err = svc.UploadRuleSet(ctx, admin, "copy.yaml", append([]byte("# a copy\n"), src...))
		require.NoError(t, err)
		require.Equal(t, row.ID, again.ID)
		require.Equal(t, 1, countRows(t, db, "rule_sets"))
		require.Equal(t, 1, countRows(t, db, "audit_log"))

		// Other content under the same id and version is a conflict.
		_, err = svc.UploadRuleSet(ctx, admin, "national-2016.yaml", retitled(t, src, "改"))
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.EqualError(t, err, "conflict: rule set national-2016 version 1 is already stored with other content; give the change a new version")
		require.Equal(t, 1, countRows(t, db, "rule_sets"))
		require.Equal(t, 1, countRows(t, db, "audit_log"))

		// As a new version it is a new row.
		v2, err := svc.UploadRuleSet(ctx, provinceHubei, "national-2016.yaml", withVersion(t, retitled(t, src, "改"), 2))
		require.NoError(t, err)
		require.NotEqual(t, row.ID, v2.ID)
		require.NotEqual(t, row.Hash, v2.Hash)
		require.Equal(t, 2, v2.Version)
		require.Equal(t, provinceHubei.String(), v2.UploadedBy)
		require.Equal(t, 2, countRows(t, db, "rule_sets"))
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
	})
}

func TestUploadRuleSetRefused(t *testing.T) {
	t.Parallel()
	national, err := scoringrules.FS.ReadFile("national-2016.yaml")
	require.NoError(t, err)
	tests := []struct {
		name       string
		actor      ratings.Actor
		src        string
		wantErr    error
		wantReason []string // parts of the ValidationError's Reason (field "rule_set")
	}{
		{name: "does not compile", actor: admin, src: brokenRuleSet, wantReason: []string{"broken.yaml", "x-unknown-field", "no_such_field"}},
		{name: "not YAML", actor: admin, src: "id: [unclosed\n", wantReason: []string{"broken.yaml"}},
		{name: "unknown key", actor: admin, src: strings.Replace(brokenRuleSet, "title: broken\n", "title: broken\ncolour: red\n", 1), wantReason: []string{"colour"}},
		{name: "county officer", actor: countyJiangan, src: string(national), wantErr: ratings.ErrForbidden},
		{name: "city officer", actor: cityWuhan, src: string(national), wantErr: ratings.ErrForbidden},
		{name: "employer", actor: ratings.Actor{Name: "某公司", Role: ratings.RoleEmployer, Region: "420102", USCC: code(t, "420102", 1)}, src: string(national), wantErr: ratings.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				row, err := newService(t, db).UploadRuleSet(context.Background(), tt.actor, "broken.yaml", []byte(tt.src))
				require.Error(t, err)
				require.Nil(t, row)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				if tt.wantReason != nil {
					var ve *ratings.ValidationError
					require.ErrorAs(t, err, &ve)
					require.Equal(t, "rule_set", ve.Field)
					for _, part := range tt.wantReason {
						require.Contains(t, ve.Reason, part)
					}
				}
				require.Zero(t, countRows(t, db, "rule_sets"))
				require.Zero(t, countRows(t, db, "audit_log"))
			})
		})
	}
}

func TestActivateRuleSet(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		src := nationalSource(t)
		row, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
		require.NoError(t, err)

		_, _, err = ratings.ActiveRuleSet(ctx, db, 2026)
		requireField(t, err, "period")

		err = svc.ActivateRuleSet(ctx, provinceHubei, 2026, row.Hash)
		require.ErrorIs(t, err, ratings.ErrForbidden)
		require.ErrorIs(t, svc.ActivateRuleSet(ctx, countyJiangan, 2026, row.Hash), ratings.ErrForbidden)
		err = svc.ActivateRuleSet(ctx, admin, 2026, "sha256:0000")
		requireField(t, err, "hash")
		require.EqualError(t, err, "hash: no stored rule set has hash sha256:0000")
		requireField(t, svc.ActivateRuleSet(ctx, admin, 1989, row.Hash), "period")
		require.Zero(t, countRows(t, db, "periods"))
		require.Equal(t, 1, countRows(t, db, "audit_log"))

		require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2026, row.Hash))
		var p ratings.Period
		require.NoError(t, db.NewSelect().Model(&p).Where("year = ?", 2026).Scan(ctx))
		require.NotNil(t, p.RuleSetID)
		require.Equal(t, row.ID, *p.RuleSetID)
		require.Equal(t, 5, p.PublicityDays)
		require.NotNil(t, p.ActivatedBy)
		require.Equal(t, admin.String(), *p.ActivatedBy)
		require.NotNil(t, p.ActivatedAt)

		var entries []ratings.AuditEntry
		require.NoError(t, db.NewSelect().Model(&entries).Where("action = ?", "rule_set.activate").Scan(ctx))
		require.Len(t, entries, 1)
		require.Equal(t, "period:2026", entries[0].Subject)
		require.NotNil(t, entries[0].Before)
		require.NotNil(t, entries[0].After)
		require.JSONEq(t, `{"rule_set_id": null}`, *entries[0].Before)
		require.JSONEq(t, fmt.Sprintf(`{"rule_set_id": %d, "hash": %q}`, row.ID, row.Hash), *entries[0].After)

		rs, stored, err := ratings.ActiveRuleSet(ctx, db, 2026)
		require.NoError(t, err)
		require.Equal(t, row.Hash, rs.Hash)
		require.Equal(t, "national-2016", rs.ID)
		require.Equal(t, row.ID, stored.ID)

		// Activating it again changes nothing and writes no entry.
		require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2026, row.Hash))
		require.Equal(t, 1, countRows(t, db, "audit_log", "action = ?", "rule_set.activate"))

		// Another version replaces it; the entry records the one before.
		v2, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", withVersion(t, retitled(t, src, "改"), 2))
		require.NoError(t, err)
		require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2026, v2.Hash))
		entries = nil
		require.NoError(t, db.NewSelect().Model(&entries).Where("action = ?", "rule_set.activate").Order("seq").Scan(ctx))
		require.Len(t, entries, 2)
		require.JSONEq(t, fmt.Sprintf(`{"rule_set_id": %d}`, row.ID), *entries[1].Before)
		require.JSONEq(t, fmt.Sprintf(`{"rule_set_id": %d, "hash": %q}`, v2.ID, v2.Hash), *entries[1].After)
		rs, _, err = ratings.ActiveRuleSet(ctx, db, 2026)
		require.NoError(t, err)
		require.Equal(t, v2.Hash, rs.Hash)
		require.Equal(t, 1, countRows(t, db, "periods"))

		_, _, err = ratings.RuleSetByID(ctx, db, v2.ID+100)
		require.ErrorIs(t, err, ratings.ErrNotFound)
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, 4, n)
	})
}

// Rule sets are immutable in the database itself.
func TestRuleSetsImmutableInDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stmt string
	}{
		{name: "update", stmt: "UPDATE rule_sets SET title = 'x'"},
		{name: "update source", stmt: "UPDATE rule_sets SET source = source || ' '"},
		{name: "delete", stmt: "DELETE FROM rule_sets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				row, err := newService(t, db).UploadRuleSet(ctx, admin, "national-2016.yaml", nationalSource(t))
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, tt.stmt)
				require.Error(t, err)
				require.Contains(t, err.Error(), "rule_sets rows are immutable")
				var stored ratings.StoredRuleSet
				require.NoError(t, db.NewSelect().Model(&stored).Where("id = ?", row.ID).Scan(ctx))
				require.Equal(t, row.Title, stored.Title)
				require.Equal(t, string(nationalSource(t)), stored.Source)
			})
		})
	}
}

// disableRuleSetTrigger lets a test change rule_sets as an attacker with
// direct database access could.
func disableRuleSetTrigger(t *testing.T, db *bun.DB) {
	t.Helper()
	stmt := "DROP TRIGGER rule_sets_no_update"
	if ratings.IsPostgres(db) {
		stmt = "ALTER TABLE rule_sets DISABLE TRIGGER rule_sets_immutable"
	}
	_, err := db.ExecContext(context.Background(), stmt)
	require.NoError(t, err)
}

// A stored rule set whose source was changed behind the service's back is
// refused when loaded.
func TestActiveRuleSetDetectsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, src []byte) []byte
	}{
		{name: "title changed", tamper: func(t *testing.T, src []byte) []byte { return retitled(t, src, "篡改") }},
		{
			name: "a threshold changed",
			tamper: func(t *testing.T, src []byte) []byte {
				out := strings.Replace(string(src), "when: len(counted) >= 3\n", "when: len(counted) >= 30\n", 1)
				require.NotEqual(t, string(src), out)
				return []byte(out)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				svc := newService(t, db)
				row := activateNational(t, svc, 2026)
				first, _, err := ratings.ActiveRuleSet(ctx, db, 2026)
				require.NoError(t, err)
				again, _, err := ratings.ActiveRuleSet(ctx, db, 2026)
				require.NoError(t, err)
				require.Same(t, first, again, "compiled once, then shared")

				disableRuleSetTrigger(t, db)
				tampered := tt.tamper(t, nationalSource(t))
				_, err = db.NewUpdate().Model((*ratings.StoredRuleSet)(nil)).Set("source = ?", string(tampered)).Where("id = ?", row.ID).Exec(ctx)
				require.NoError(t, err)

				rs, stored, err := ratings.ActiveRuleSet(ctx, db, 2026)
				require.Error(t, err)
				require.Nil(t, rs)
				require.Nil(t, stored)
				require.Contains(t, err.Error(), row.Hash)
				loaded, lerr := engine.Load("tampered.yaml", tampered)
				require.NoError(t, lerr)
				require.EqualError(t, err, fmt.Sprintf("rule set %d: stored hash %s, content hashes to %s", row.ID, row.Hash, loaded.Hash))
			})
		})
	}
}

// A stored source that no longer compiles is reported, not used.
func TestActiveRuleSetNoLongerCompiles(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		row := activateNational(t, newService(t, db), 2026)
		disableRuleSetTrigger(t, db)
		_, err := db.NewUpdate().Model((*ratings.StoredRuleSet)(nil)).Set("source = ?", brokenRuleSet).Where("id = ?", row.ID).Exec(ctx)
		require.NoError(t, err)
		_, _, err = ratings.ActiveRuleSet(ctx, db, 2026)
		require.Error(t, err)
		require.Contains(t, err.Error(), fmt.Sprintf("rule set %d no longer compiles: ", row.ID))
		require.Contains(t, err.Error(), "x-unknown-field")
	})
}

// The same rule set uploaded by several callers at once is stored once,
// and every caller gets the stored row ("the same content uploaded again
// returns the stored one").
func TestUploadRuleSetConcurrently(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		const rounds, callers = 5, 16
		for round := range rounds {
			src := withVersion(t, nationalSource(t), round+2)
			rows := make([]*ratings.StoredRuleSet, callers)
			errs := make([]error, callers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					<-start
					rows[i], errs[i] = svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
				})
			}
			close(start)
			wg.Wait()
			for i := range callers {
				require.NoError(t, errs[i], "round %d caller %d", round, i)
				require.Equal(t, rows[0].ID, rows[i].ID)
			}
		}
		require.Equal(t, rounds, countRows(t, db, "rule_sets"))
		require.Equal(t, rounds, countRows(t, db, "audit_log"))
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, rounds, n)
	})
}

// A period with published ratings keeps its rule set.
func TestActivateRuleSetKeepsPublishedPeriod(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		v1 := activateNational(t, svc, 2026)
		v2, err := svc.UploadRuleSet(ctx, admin, "national-2016.yaml", withVersion(t, retitled(t, nationalSource(t), "改"), 2))
		require.NoError(t, err)
		e, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: code(t, "420102", 1), Name: "甲", Region: "420102"})
		require.NoError(t, err)
		_, err = db.NewInsert().Model(&ratings.Rating{EmployerID: e.ID, Period: 2026, Version: 1, Current: true, Status: ratings.StatusPublished,
			RuleSetID: v1.ID, RuleSetHash: v1.Hash, EngineGrade: "A", Grade: "A", Result: "{}", Facts: "{}",
			ComputedAt: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}).Exec(ctx)
		require.NoError(t, err)
		entries := countRows(t, db, "audit_log")

		err = svc.ActivateRuleSet(ctx, admin, 2026, v2.Hash)
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.EqualError(t, err, "conflict: period 2026 has 1 published ratings; its rule set can no longer change")
		require.Equal(t, entries, countRows(t, db, "audit_log"))
		rs, _, err := ratings.ActiveRuleSet(ctx, db, 2026)
		require.NoError(t, err)
		require.Equal(t, v1.Hash, rs.Hash)

		// Another period may use the new version.
		require.NoError(t, svc.ActivateRuleSet(ctx, admin, 2027, v2.Hash))
	})
}
