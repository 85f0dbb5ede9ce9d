package ratings_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"laborcredit/engine"
	"laborcredit/ratings"
	"laborcredit/ratings/ratingstest"
)

var (
	countyJiangan  = ratings.Actor{Name: "江岸区监察", Role: ratings.RoleCounty, Region: "420102"}
	countyJianghan = ratings.Actor{Name: "江汉区监察", Role: ratings.RoleCounty, Region: "420103"}
	cityWuhan      = ratings.Actor{Name: "武汉市监察", Role: ratings.RoleCity, Region: "420100"}
	provinceHubei  = ratings.Actor{Name: "湖北省厅", Role: ratings.RoleProvince, Region: "420000"}
)

// countRows counts the rows of a table, optionally filtered.
func countRows(t *testing.T, db bun.IDB, table string, where ...any) int {
	t.Helper()
	q := db.NewSelect().Table(table)
	switch {
	case len(where) == 1:
		q = q.Where(where[0].(string))
	case len(where) > 1:
		q = q.Where(where[0].(string), where[1:]...)
	}
	n, err := q.Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// badCheckChar returns uscc with a wrong GB 32100 check character.
func badCheckChar(t testing.TB, uscc string) string {
	t.Helper()
	bad := uscc[:17] + "0"
	if uscc[17] == '0' {
		bad = uscc[:17] + "1"
	}
	require.Error(t, engine.CheckUSCC(bad))
	return bad
}

// badOrgCode returns a USCC whose own check character is right but whose
// embedded organisation code (GB 11714) fails its check.
func badOrgCode(t testing.TB, region string, n int) string {
	t.Helper()
	good := code(t, region, n)
	wrong := byte('0')
	if good[16] == '0' {
		wrong = '1'
	}
	first := good[:16] + string(wrong)
	check, err := engine.USCCCheckChar(first)
	require.NoError(t, err)
	bad := first + string(check)
	require.NoError(t, engine.CheckUSCC(bad))
	require.Error(t, engine.CheckOrgCode(bad))
	return bad
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ratings.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, field, ve.Field, "reason: %s", ve.Reason)
}

func TestAddEmployer(t *testing.T) {
	t.Parallel()
	valid := code(t, "420102", 1)
	regions, err := ratings.DefaultRegions()
	require.NoError(t, err)
	employerUser := ratings.Actor{Name: "某公司", Role: ratings.RoleEmployer, Region: "420102", USCC: valid}
	withChar := func(c byte) string { return valid[:10] + string(c) + valid[11:] }
	tests := []struct {
		name      string
		actor     ratings.Actor
		employer  ratings.Employer
		wantErr   error  // a sentinel, for errors.Is
		wantField string // the field of a *ValidationError
		wantMsg   string // the exact message, when stable
	}{
		{name: "valid", actor: admin, employer: ratings.Employer{USCC: valid, Name: "武汉某建筑公司", Region: "420102", Industry: "construction", Employees: 120}},
		{name: "wrong check character", actor: admin, employer: ratings.Employer{USCC: badCheckChar(t, valid), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "organisation code check fails", actor: admin, employer: ratings.Employer{USCC: badOrgCode(t, "420102", 2), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "letter I", actor: admin, employer: ratings.Employer{USCC: withChar('I'), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "letter O", actor: admin, employer: ratings.Employer{USCC: withChar('O'), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "letter S", actor: admin, employer: ratings.Employer{USCC: withChar('S'), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "letter V", actor: admin, employer: ratings.Employer{USCC: withChar('V'), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "letter Z", actor: admin, employer: ratings.Employer{USCC: withChar('Z'), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "lower case", actor: admin, employer: ratings.Employer{USCC: strings.ToLower(valid), Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "17 characters", actor: admin, employer: ratings.Employer{USCC: valid[:17], Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "19 characters", actor: admin, employer: ratings.Employer{USCC: valid + "0", Name: "x", Region: "420102"}, wantField: "uscc"},
		{name: "empty code", actor: admin, employer: ratings.Employer{Name: "x", Region: "420102"}, wantField: "uscc"},
		{
			name: "region not on the list", actor: admin, employer: ratings.Employer{USCC: valid, Name: "x", Region: "999999"}, wantField: "region",
			wantMsg: "region: region code 999999 is not on the GB/T 2260 list (revision " + regions.Revision() + ")",
		},
		{
			name: "region of 4 digits", actor: admin, employer: ratings.Employer{USCC: valid, Name: "x", Region: "4201"}, wantField: "region",
			wantMsg: `region: region code "4201" is not 6 digits`,
		},
		{name: "empty name", actor: admin, employer: ratings.Employer{USCC: valid, Name: "", Region: "420102"}, wantField: "name", wantMsg: "name: required"},
		{name: "blank name", actor: admin, employer: ratings.Employer{USCC: valid, Name: " \t", Region: "420102"}, wantField: "name"},
		{name: "negative employees", actor: admin, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420102", Employees: -1}, wantField: "employees"},
		{
			name: "county officer outside its county", actor: countyJiangan, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420103"}, wantErr: ratings.ErrForbidden,
			wantMsg: "forbidden: region 420103 is outside 江岸区监察's region 420102",
		},
		{name: "county officer in its county", actor: countyJiangan, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420102"}},
		{name: "city officer in a county of the city", actor: cityWuhan, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420102"}},
		{name: "city officer outside the city", actor: cityWuhan, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420881"}, wantErr: ratings.ErrForbidden},
		{name: "province officer in the province", actor: provinceHubei, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420881"}},
		{name: "province officer outside the province", actor: provinceHubei, employer: ratings.Employer{USCC: valid, Name: "x", Region: "110101"}, wantErr: ratings.ErrForbidden},
		{
			name: "employer user", actor: employerUser, employer: ratings.Employer{USCC: valid, Name: "x", Region: "420102"}, wantErr: ratings.ErrForbidden,
			wantMsg: "forbidden: 某公司 (employer " + valid + ") may not do this (needs [county city province admin])",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				svc := newService(t, db)
				got, err := svc.AddEmployer(ctx, tt.actor, tt.employer)
				if tt.wantErr == nil && tt.wantField == "" {
					require.NoError(t, err)
					require.NotZero(t, got.ID)
					stored, err := ratings.EmployerByCode(ctx, db, tt.employer.USCC)
					require.NoError(t, err)
					require.Equal(t, got.ID, stored.ID)
					require.Equal(t, tt.employer.Name, stored.Name)
					require.Equal(t, tt.employer.Region, stored.Region)
					require.Equal(t, tt.employer.Industry, stored.Industry)
					require.Equal(t, tt.employer.Employees, stored.Employees)
					require.Equal(t, 1, countRows(t, db, "employers"))
					return
				}
				require.Error(t, err)
				require.Nil(t, got)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				if tt.wantField != "" {
					requireField(t, err, tt.wantField)
				}
				if tt.wantMsg != "" {
					require.EqualError(t, err, tt.wantMsg)
				}
				require.Zero(t, countRows(t, db, "employers"), "a refused employer was written")
			})
		})
	}
}

func TestAddEmployerDuplicate(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		uscc := code(t, "420102", 7)
		_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
		require.NoError(t, err)
		_, err = svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "乙", Region: "420103"})
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.Equal(t, 1, countRows(t, db, "employers"))
		e, err := ratings.EmployerByCode(ctx, db, uscc)
		require.NoError(t, err)
		require.Equal(t, "甲", e.Name)

		_, err = ratings.EmployerByCode(ctx, db, code(t, "420102", 8))
		require.ErrorIs(t, err, ratings.ErrNotFound)
	})
}

func TestLegacyCodes(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		// A real code (DOMAIN.md) with its check character changed, as the
		// early pilot codes have.
		genuine := "91350100M000100Y43"
		require.NoError(t, engine.CheckUSCC(genuine))
		require.NoError(t, engine.CheckOrgCode(genuine))
		legacy := badCheckChar(t, genuine)
		employer := ratings.Employer{USCC: legacy, Name: "厦门某公司", Region: "350203"}

		_, err := svc.AddEmployer(ctx, admin, employer)
		requireField(t, err, "uscc")

		err = svc.AddLegacyCode(ctx, provinceHubei, legacy, "registry record 2014-123")
		require.ErrorIs(t, err, ratings.ErrForbidden)
		err = svc.AddLegacyCode(ctx, countyJiangan, legacy, "registry record 2014-123")
		require.ErrorIs(t, err, ratings.ErrForbidden)

		err = svc.AddLegacyCode(ctx, admin, legacy, "")
		requireField(t, err, "reason")
		require.EqualError(t, err, "reason: required: say why this code is real (e.g. the registry record)")
		err = svc.AddLegacyCode(ctx, admin, legacy, "   ")
		requireField(t, err, "reason")

		err = svc.AddLegacyCode(ctx, admin, genuine, "registry record")
		requireField(t, err, "uscc")
		require.EqualError(t, err, "uscc: "+genuine+" passes its checks; only codes that fail them go on the allow-list")
		err = svc.AddLegacyCode(ctx, admin, legacy[:17], "registry record")
		requireField(t, err, "uscc")

		require.Zero(t, countRows(t, db, "legacy_codes"))
		require.Zero(t, countRows(t, db, "audit_log", "action = ?", "legacy_code.add"))

		require.NoError(t, svc.AddLegacyCode(ctx, admin, legacy, "厦门试点代码，登记机关档案 2014-123"))
		require.Equal(t, 1, countRows(t, db, "legacy_codes"))
		var entries []ratings.AuditEntry
		require.NoError(t, db.NewSelect().Model(&entries).Where("action = ?", "legacy_code.add").Scan(ctx))
		require.Len(t, entries, 1)
		require.Equal(t, "uscc:"+legacy, entries[0].Subject)
		require.Equal(t, admin.String(), entries[0].Actor)
		require.Nil(t, entries[0].Before)
		require.NotNil(t, entries[0].After)
		require.JSONEq(t, `{"uscc": "`+legacy+`", "reason": "厦门试点代码，登记机关档案 2014-123"}`, *entries[0].After)

		e, err := svc.AddEmployer(ctx, admin, employer)
		require.NoError(t, err)
		require.Equal(t, legacy, e.USCC)
		require.NoError(t, ratings.CheckCode(ctx, db, legacy))

		err = svc.AddLegacyCode(ctx, admin, legacy, "again")
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.Equal(t, 1, countRows(t, db, "legacy_codes"))
		require.Equal(t, 1, countRows(t, db, "audit_log", "action = ?", "legacy_code.add"), "a refused legacy code left an audit entry")
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, countRows(t, db, "audit_log"), n)
	})
}

// A code that cannot be real (characters outside the USCC alphabet) has no
// place on the allow-list of real codes that fail their check character.
func TestLegacyCodeRefusesImpossibleCodes(t *testing.T) {
	t.Parallel()
	valid := code(t, "420102", 3)
	tests := []struct {
		name string
		uscc string
	}{
		{name: "letter O", uscc: valid[:10] + "O" + valid[11:]},
		{name: "lower case", uscc: strings.ToLower(valid)},
		{name: "spaces", uscc: strings.Repeat(" ", 18)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				svc := newService(t, db)
				err := svc.AddLegacyCode(ctx, admin, tt.uscc, "registry record")
				requireField(t, err, "uscc")
				require.Zero(t, countRows(t, db, "legacy_codes"))
				_, err = svc.AddEmployer(ctx, admin, ratings.Employer{USCC: tt.uscc, Name: "x", Region: "420102"})
				requireField(t, err, "uscc")
				require.Zero(t, countRows(t, db, "employers"))
			})
		})
	}
}

func TestRecordCaseRefused(t *testing.T) {
	t.Parallel()
	registered := code(t, "420102", 1)
	good := engine.Case{ID: "WH-2026-0001", Source: "complaint", Opened: "2026-03-02", Concluded: "2026-04-10",
		Violations: []string{"wage_arrears"}, Outcome: "rectified", BackWages: 52000, WorkersAffected: 14}
	with := func(f func(c *engine.Case)) engine.Case {
		c := good
		c.Violations = append([]string(nil), good.Violations...)
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		actor     ratings.Actor
		rec       ratings.CaseRecord
		wantErr   error
		wantField string
		wantMsg   string
	}{
		{
			name: "unknown employer", actor: admin, rec: ratings.CaseRecord{USCC: code(t, "420102", 2), Case: good}, wantField: "uscc",
			wantMsg: "uscc: no employer with code " + code(t, "420102", 2) + " is registered",
		},
		{name: "bad opened date", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Opened = "2026-02-30" })},
			wantField: "opened", wantMsg: `opened: not a date (want YYYY-MM-DD): "2026-02-30"`},
		{name: "opened missing", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Opened = "" })}, wantField: "opened"},
		{name: "bad concluded date", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Concluded = "2026/04/10" })}, wantField: "concluded"},
		{name: "concluded before opened", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Concluded = "2026-03-01" })}, wantField: "concluded"},
		{name: "pending with a concluded date", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Outcome = "pending" })},
			wantField: "outcome", wantMsg: "outcome: pending, but the case has a concluded date"},
		{name: "rectified without a concluded date", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Concluded = "" })}, wantField: "concluded"},
		{name: "unknown source", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Source = "hotline" })}, wantField: "source"},
		{name: "unknown violation", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Violations = []string{"overtime", "theft"} })}, wantField: "violations[1]"},
		{name: "rectified without violations", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.Violations = nil })}, wantField: "violations"},
		{name: "no case number", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.ID = "" })}, wantField: "id"},
		{name: "negative back wages", actor: admin, rec: ratings.CaseRecord{USCC: registered, Case: with(func(c *engine.Case) { c.BackWages = -1 })}, wantField: "back_wages"},
		{name: "county officer of another county", actor: countyJianghan, rec: ratings.CaseRecord{USCC: registered, Case: good}, wantErr: ratings.ErrForbidden},
		{name: "employer user", actor: ratings.Actor{Name: "某公司", Role: ratings.RoleEmployer, Region: "420102", USCC: registered},
			rec: ratings.CaseRecord{USCC: registered, Case: good}, wantErr: ratings.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				svc := newService(t, db)
				_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: registered, Name: "甲", Region: "420102"})
				require.NoError(t, err)
				c, err := svc.RecordCase(ctx, tt.actor, tt.rec)
				require.Error(t, err)
				require.Nil(t, c)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				if tt.wantField != "" {
					requireField(t, err, tt.wantField)
				}
				if tt.wantMsg != "" {
					require.EqualError(t, err, tt.wantMsg)
				}
				require.Zero(t, countRows(t, db, "cases"))
				require.Zero(t, countRows(t, db, "case_violations"))
			})
		})
	}
}

func TestRecordCase(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		first := code(t, "420102", 1)
		second := code(t, "420102", 2)
		for _, u := range []string{first, second} {
			_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: u, Name: "企业" + u[10:14], Region: "420102"})
			require.NoError(t, err)
		}
		violations := func(caseID int64) []string {
			var vs []string
			require.NoError(t, db.NewSelect().Model((*ratings.CaseViolation)(nil)).Column("violation").
				Where("case_id = ?", caseID).Order("violation").Scan(ctx, &vs))
			return vs
		}

		// Written, with its violations deduplicated.
		c, err := svc.RecordCase(ctx, countyJiangan, ratings.CaseRecord{USCC: first, Case: engine.Case{ID: "WH-2026-0001", Source: "complaint",
			Opened: "2026-03-02", Concluded: "2026-04-10", Violations: []string{"wage_arrears", "overtime", "wage_arrears", "overtime"},
			Outcome: "rectified", BackWages: 52000.5, WorkersAffected: 14, OrderRefused: true}})
		require.NoError(t, err)
		require.NotZero(t, c.ID)
		require.Equal(t, []string{"overtime", "wage_arrears"}, violations(c.ID))
		var stored ratings.Case
		require.NoError(t, db.NewSelect().Model(&stored).Where("id = ?", c.ID).Scan(ctx))
		require.Equal(t, "WH-2026-0001", stored.CaseNo)
		require.Equal(t, ratings.Date("2026-03-02"), stored.Opened)
		require.Equal(t, ratings.Date("2026-04-10"), stored.Concluded)
		require.Equal(t, "rectified", stored.Outcome)
		require.True(t, stored.OrderRefused)
		require.False(t, stored.Obstructed)
		require.InDelta(t, 52000.5, stored.BackWages, 0.001)
		require.Equal(t, 14, stored.WorkersAffected)

		// An open case: no concluded date is NULL.
		open, err := svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: first, Case: engine.Case{ID: "WH-2026-0002", Source: "routine_inspection",
			Opened: "2026-11-02", Outcome: "pending"}})
		require.NoError(t, err)
		require.Empty(t, violations(open.ID))
		require.Equal(t, 1, countRows(t, db, "cases", "concluded IS NULL"))

		// The same case number again, even for another employer, is a
		// conflict and writes nothing.
		_, err = svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: second, Case: engine.Case{ID: "WH-2026-0001", Source: "special_inspection",
			Opened: "2026-05-01", Concluded: "2026-05-20", Violations: []string{"child_labor"}, Outcome: "penalized"}})
		require.ErrorIs(t, err, ratings.ErrConflict)
		require.Equal(t, 2, countRows(t, db, "cases"))
		require.Equal(t, []string{"overtime", "wage_arrears"}, violations(c.ID))
		require.Equal(t, 2, countRows(t, db, "case_violations"))
		require.Zero(t, countRows(t, db, "case_violations", "case_id NOT IN (SELECT id FROM cases)"))
		require.Zero(t, countRows(t, db, "case_violations", "violation = ?", "child_labor"))
	})
}

func TestRecordReview(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		uscc := code(t, "420102", 1)
		e, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
		require.NoError(t, err)
		load := func() []ratings.AnnualReview {
			var rs []ratings.AnnualReview
			require.NoError(t, db.NewSelect().Model(&rs).Scan(ctx))
			return rs
		}

		err = svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 2026,
			AnnualReview: engine.AnnualReview{Submitted: false, OnTime: true, Employees: 10}})
		requireField(t, err, "on_time")
		require.EqualError(t, err, "on_time: cannot be true when submitted is false")
		err = svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 1989})
		requireField(t, err, "period")
		err = svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 2026, AnnualReview: engine.AnnualReview{ContractsSigned: -1}})
		requireField(t, err, "contracts_signed")
		err = svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: code(t, "420102", 2), Period: 2026})
		requireField(t, err, "uscc")
		err = svc.RecordReview(ctx, countyJianghan, ratings.ReviewRecord{USCC: uscc, Period: 2026})
		require.ErrorIs(t, err, ratings.ErrForbidden)
		require.Empty(t, load())

		require.NoError(t, svc.RecordReview(ctx, countyJiangan, ratings.ReviewRecord{USCC: uscc, Period: 2026,
			AnnualReview: engine.AnnualReview{Submitted: true, OnTime: true, Employees: 10, ContractsSigned: 8, Insured: 7, RosterComplete: true}}))
		require.Equal(t, []ratings.AnnualReview{{EmployerID: e.ID, Period: 2026, Submitted: true, OnTime: true, Employees: 10,
			ContractsSigned: 8, Insured: 7, RosterComplete: true}}, load())

		// Again for the same period: replaced, every field.
		require.NoError(t, svc.RecordReview(ctx, countyJiangan, ratings.ReviewRecord{USCC: uscc, Period: 2026,
			AnnualReview: engine.AnnualReview{Submitted: true, OnTime: false, Employees: 12, ContractsSigned: 12, Insured: 11, RosterComplete: false}}))
		require.Equal(t, []ratings.AnnualReview{{EmployerID: e.ID, Period: 2026, Submitted: true, OnTime: false, Employees: 12,
			ContractsSigned: 12, Insured: 11, RosterComplete: false}}, load())

		// Another period is another row.
		require.NoError(t, svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 2025}))
		require.Len(t, load(), 2)
	})
}

func TestRecordComplaint(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		uscc := code(t, "420102", 1)
		_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
		require.NoError(t, err)

		for _, bad := range []string{"2026-13-01", "2026-02-29", "20260301", ""} {
			err = svc.RecordComplaint(ctx, admin, uscc, "TS-2026-1", bad)
			requireField(t, err, "received")
		}
		err = svc.RecordComplaint(ctx, admin, uscc, "", "2026-03-01")
		requireField(t, err, "complaint_no")
		err = svc.RecordComplaint(ctx, admin, code(t, "420102", 2), "TS-2026-1", "2026-03-01")
		requireField(t, err, "uscc")
		err = svc.RecordComplaint(ctx, countyJianghan, uscc, "TS-2026-1", "2026-03-01")
		require.ErrorIs(t, err, ratings.ErrForbidden)
		require.Zero(t, countRows(t, db, "complaints"))

		require.NoError(t, svc.RecordComplaint(ctx, countyJiangan, uscc, "TS-2026-1", "2024-02-29"))
		err = svc.RecordComplaint(ctx, countyJiangan, uscc, "TS-2026-1", "2026-03-02")
		require.ErrorIs(t, err, ratings.ErrConflict)
		var cs []ratings.Complaint
		require.NoError(t, db.NewSelect().Model(&cs).Scan(ctx))
		require.Len(t, cs, 1)
		require.Equal(t, ratings.Date("2024-02-29"), cs[0].Received)
	})
}

func TestRecordDeposit(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		uscc := code(t, "420102", 1)
		e, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
		require.NoError(t, err)
		load := func() []ratings.WageDeposit {
			var ds []ratings.WageDeposit
			require.NoError(t, db.NewSelect().Model(&ds).Order("period").Scan(ctx))
			return ds
		}

		requireField(t, svc.RecordDeposit(ctx, admin, uscc, 2101, true, true), "period")
		requireField(t, svc.RecordDeposit(ctx, admin, code(t, "420102", 2), 2026, true, true), "uscc")
		require.ErrorIs(t, svc.RecordDeposit(ctx, countyJianghan, uscc, 2026, true, true), ratings.ErrForbidden)
		require.Empty(t, load())

		require.NoError(t, svc.RecordDeposit(ctx, admin, uscc, 2026, true, false))
		require.Equal(t, []ratings.WageDeposit{{EmployerID: e.ID, Period: 2026, Required: true, Paid: false}}, load())
		require.NoError(t, svc.RecordDeposit(ctx, countyJiangan, uscc, 2026, false, true))
		require.Equal(t, []ratings.WageDeposit{{EmployerID: e.ID, Period: 2026, Required: false, Paid: true}}, load())
		require.NoError(t, svc.RecordDeposit(ctx, admin, uscc, 2027, true, true))
		require.Len(t, load(), 2)
	})
}

func TestRecordBlacklisting(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		uscc := code(t, "420102", 1)
		_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
		require.NoError(t, err)

		err = svc.RecordBlacklisting(ctx, admin, uscc, "2026-05-01", "2026-04-30")
		requireField(t, err, "removed_on")
		require.EqualError(t, err, `removed_on: must be a date on or after listed_on, got "2026-04-30"`)
		requireField(t, svc.RecordBlacklisting(ctx, admin, uscc, "2026-05-01", "2026-05-32"), "removed_on")
		requireField(t, svc.RecordBlacklisting(ctx, admin, uscc, "2026-5-1", ""), "listed_on")
		requireField(t, svc.RecordBlacklisting(ctx, admin, code(t, "420102", 2), "2026-05-01", ""), "uscc")
		require.ErrorIs(t, svc.RecordBlacklisting(ctx, countyJianghan, uscc, "2026-05-01", ""), ratings.ErrForbidden)
		require.Zero(t, countRows(t, db, "blacklist_entries"))
		require.Zero(t, countRows(t, db, "audit_log", "action = ?", "blacklist.add"))

		require.NoError(t, svc.RecordBlacklisting(ctx, countyJiangan, uscc, "2026-05-01", ""))
		require.NoError(t, svc.RecordBlacklisting(ctx, countyJiangan, uscc, "2024-01-10", "2024-01-10"))
		require.ErrorIs(t, svc.RecordBlacklisting(ctx, countyJiangan, uscc, "2026-05-01", "2026-06-01"), ratings.ErrConflict)
		var bs []ratings.BlacklistEntry
		require.NoError(t, db.NewSelect().Model(&bs).Order("listed_on").Scan(ctx))
		require.Len(t, bs, 2)
		require.Equal(t, ratings.Date("2024-01-10"), bs[0].ListedOn)
		require.Equal(t, ratings.Date("2024-01-10"), bs[0].RemovedOn)
		require.Equal(t, ratings.Date("2026-05-01"), bs[1].ListedOn)
		require.Equal(t, ratings.Date(""), bs[1].RemovedOn)
		require.Equal(t, 2, countRows(t, db, "audit_log", "action = ?", "blacklist.add"))
		n, err := ratings.VerifyAudit(ctx, db)
		require.NoError(t, err)
		require.EqualValues(t, countRows(t, db, "audit_log"), n)
	})
}

// The constraints live in the database: a row that bypasses the service
// is still checked.
func TestCaseConstraintsInDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		source string
		opened string
		done   string // concluded, "" for NULL
		outc   string
		ok     bool
	}{
		{name: "valid", source: "complaint", opened: "2026-01-05", outc: "pending", ok: true},
		{name: "unknown source", source: "hotline", opened: "2026-01-05", outc: "pending"},
		{name: "unknown outcome", source: "complaint", opened: "2026-01-05", done: "2026-02-01", outc: "closed"},
		{name: "pending but concluded", source: "complaint", opened: "2026-01-05", done: "2026-02-01", outc: "pending"},
		{name: "concluded before opened", source: "complaint", opened: "2026-01-05", done: "2026-01-04", outc: "rectified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				e, err := newService(t, db).AddEmployer(ctx, admin, ratings.Employer{USCC: code(t, "420102", 1), Name: "甲", Region: "420102"})
				require.NoError(t, err)
				var concluded any
				if tt.done != "" {
					concluded = tt.done
				}
				_, err = db.ExecContext(ctx, "INSERT INTO cases (case_no, employer_id, source, opened, concluded, outcome) VALUES (?, ?, ?, ?, ?, ?)",
					"X-1", e.ID, tt.source, tt.opened, concluded, tt.outc)
				if tt.ok {
					require.NoError(t, err)
					require.Equal(t, 1, countRows(t, db, "cases"))
					return
				}
				require.Error(t, err)
				require.Contains(t, strings.ToLower(err.Error()), "check constraint")
				require.Zero(t, countRows(t, db, "cases"))
			})
		})
	}
}

// A direct insert of an unknown violation or an orphan violation fails too.
func TestCaseViolationConstraintsInDatabase(t *testing.T) {
	t.Parallel()
	ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := newService(t, db)
		uscc := code(t, "420102", 1)
		_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
		require.NoError(t, err)
		c, err := svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: uscc, Case: engine.Case{ID: "C-1", Source: "complaint",
			Opened: "2026-01-05", Concluded: "2026-02-01", Violations: []string{"overtime"}, Outcome: "rectified"}})
		require.NoError(t, err)

		_, err = db.ExecContext(ctx, "INSERT INTO case_violations (case_id, violation) VALUES (?, ?)", c.ID, "theft")
		require.Error(t, err)
		require.Contains(t, strings.ToLower(err.Error()), "check constraint")
		_, err = db.ExecContext(ctx, "INSERT INTO case_violations (case_id, violation) VALUES (?, ?)", c.ID+100, "overtime")
		require.Error(t, err)
		require.Contains(t, strings.ToLower(err.Error()), "foreign key")
		_, err = db.ExecContext(ctx, "INSERT INTO case_violations (case_id, violation) VALUES (?, ?)", c.ID, "overtime")
		require.Error(t, err)
		require.True(t, strings.Contains(strings.ToLower(err.Error()), "unique") || strings.Contains(err.Error(), "duplicate key"), err.Error())
		require.Equal(t, 1, countRows(t, db, "case_violations"))
	})
}

// Numbers the PostgreSQL columns cannot hold are refused alike on both
// dialects, as validation errors naming the field, and nothing is written.
func TestRecordsOutOfRangeNumbers(t *testing.T) {
	t.Parallel()
	uscc, other := code(t, "420102", 1), code(t, "420102", 2)
	closed := func(c engine.Case) engine.Case {
		c.ID, c.Source, c.Opened, c.Concluded, c.Outcome, c.Violations = "C-1", "complaint", "2026-01-05", "2026-02-01", "rectified", []string{"overtime"}
		return c
	}
	tests := []struct {
		name  string
		call  func(ctx context.Context, svc *ratings.Service) error
		field string
		table string
	}{
		{
			name: "employer employees",
			call: func(ctx context.Context, svc *ratings.Service) error {
				_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: other, Name: "乙", Region: "420102", Employees: math.MaxInt32 + 1})
				return err
			},
			field: "employees", table: "employers",
		},
		{
			name: "review employees",
			call: func(ctx context.Context, svc *ratings.Service) error {
				return svc.RecordReview(ctx, admin, ratings.ReviewRecord{USCC: uscc, Period: 2026, AnnualReview: engine.AnnualReview{Employees: math.MaxInt32 + 1}})
			},
			field: "employees", table: "annual_reviews",
		},
		{
			name: "case workers affected",
			call: func(ctx context.Context, svc *ratings.Service) error {
				_, err := svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: uscc, Case: closed(engine.Case{WorkersAffected: math.MaxInt32 + 1})})
				return err
			},
			field: "workers_affected", table: "cases",
		},
		{
			name: "case back wages",
			call: func(ctx context.Context, svc *ratings.Service) error {
				_, err := svc.RecordCase(ctx, admin, ratings.CaseRecord{USCC: uscc, Case: closed(engine.Case{BackWages: 1e15})})
				return err
			},
			field: "back_wages", table: "cases",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ratingstest.ForEachDB(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				svc := newService(t, db)
				_, err := svc.AddEmployer(ctx, admin, ratings.Employer{USCC: uscc, Name: "甲", Region: "420102"})
				require.NoError(t, err)
				before := countRows(t, db, tt.table)
				requireField(t, tt.call(ctx, svc), tt.field)
				require.Equal(t, before, countRows(t, db, tt.table))
			})
		})
	}
}
