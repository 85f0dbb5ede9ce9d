package ratings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// CheckCode checks a unified social credit code: its characters, its check
// character (GB 32100-2015) and the check character of the organisation
// code inside it (GB 11714). A real code that fails them may be on the
// legacy allow-list. The error is a *ValidationError for field "uscc".
func CheckCode(ctx context.Context, db bun.IDB, uscc string) error {
	err := engine.CheckUSCC(uscc)
	if err == nil {
		err = engine.CheckOrgCode(uscc)
	}
	if err == nil {
		return nil
	}
	if len(uscc) == 18 {
		n, qerr := db.NewSelect().Model((*LegacyCode)(nil)).Where("uscc = ?", uscc).Count(ctx)
		if qerr != nil {
			return fmt.Errorf("check code: %w", qerr)
		}
		if n > 0 {
			return nil
		}
	}
	return invalid("uscc", "%s is not a valid unified social credit code: %v", uscc, err)
}

// NormalizeCode tidies a code as people type or paste it: surrounding
// spaces (an ideographic space too) go, full-width characters (ＡＢＣ１２３)
// become ASCII and letters upper case. What is left is checked as is.
func NormalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}, strings.TrimSpace(s))
}

// LookupCode is the one code policy of every path that looks an employer
// up by its code (credit single, batch and as-of, the public pages,
// nominations, the integrity file, notifications): it tidies what people
// paste (NormalizeCode: spaces, full-width characters, lower case), then
// checks the characters and check character (engine.CheckUSCC); a code
// that fails the check passes if it is on the legacy allow-list. It returns
// the tidied code; the error is a *CodeError saying why the code is
// malformed (length, character, check character).
func (s *Service) LookupCode(ctx context.Context, raw string) (string, error) {
	codes, errs, err := s.lookupCodes(ctx, []string{raw})
	if err != nil {
		return NormalizeCode(raw), err
	}
	return codes[0], errs[0]
}

// lookupCodes is LookupCode for many codes at once, with one read of the
// allow-list: the tidied codes, and for each a *CodeError or nil; err is
// a failure to read the list.
func (s *Service) lookupCodes(ctx context.Context, raws []string) ([]string, []error, error) {
	codes := make([]string, len(raws))
	errs := make([]error, len(raws))
	var failed []string
	for i, raw := range raws {
		codes[i] = NormalizeCode(raw)
		if err := engine.CheckUSCC(codes[i]); err != nil {
			errs[i] = &CodeError{Code: codes[i], Err: err}
			if len(codes[i]) == 18 {
				failed = append(failed, codes[i])
			}
		}
	}
	if len(failed) == 0 {
		return codes, errs, nil
	}
	// Real early codes that fail the check are on the legacy list.
	var legacy []string
	if err := s.db.NewSelect().Model((*LegacyCode)(nil)).Column("uscc").Where("uscc IN (?)", bun.List(failed)).Scan(ctx, &legacy); err != nil {
		return nil, nil, fmt.Errorf("check codes: %w", dbError(err))
	}
	for i := range codes {
		if errs[i] != nil && slices.Contains(legacy, codes[i]) {
			errs[i] = nil
		}
	}
	return codes, errs, nil
}

// CodeError is a malformed unified social credit code given to look
// something up (LookupCode).
type CodeError struct {
	Code string
	Err  error // why: length, character, check character
}

func (e *CodeError) Error() string { return "malformed unified social credit code: " + e.Err.Error() }

func (e *CodeError) Unwrap() error { return e.Err }


// AddLegacyCode puts a real code that fails its check character on the
// allow-list. Only an admin may, and it is audited.
func (s *Service) AddLegacyCode(ctx context.Context, a Actor, uscc, reason string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	if !engine.InUSCCAlphabet(uscc) {
		return invalid("uscc", "must be 18 characters of the USCC character set (digits and upper-case letters but I, O, S, V, Z)")
	}
	if engine.CheckUSCC(uscc) == nil && engine.CheckOrgCode(uscc) == nil {
		return invalid("uscc", "%s passes its checks; only codes that fail them go on the allow-list", uscc)
	}
	if strings.TrimSpace(reason) == "" {
		return invalid("reason", "required: say why this code is real (e.g. the registry record)")
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		lc := &LegacyCode{USCC: uscc, Reason: reason, AddedBy: a.String(), AddedAt: s.now().UTC()}
		if _, err := tx.NewInsert().Model(lc).Exec(ctx); err != nil {
			return fmt.Errorf("add legacy code: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "legacy_code.add", "uscc:"+uscc, nil, map[string]string{"uscc": uscc, "reason": reason})
	})
}

// validateEmployer checks an employer's fields against the code rules and
// the region list.
func (s *Service) validateEmployer(ctx context.Context, db bun.IDB, e *Employer) error {
	if err := CheckCode(ctx, db, e.USCC); err != nil {
		return err
	}
	if strings.TrimSpace(e.Name) == "" {
		return invalid("name", "required")
	}
	if err := CheckName("name", e.Name); err != nil {
		return err
	}
	if err := CheckName("industry", e.Industry); err != nil {
		return err
	}
	if err := s.regions.Check(e.Region); err != nil {
		return invalid("region", "%v", err)
	}
	if e.Employees < 0 || e.Employees > engine.MaxCount {
		return invalid("employees", "must be from 0 to %d, got %d", engine.MaxCount, e.Employees)
	}
	return nil
}

// AddEmployer registers an employer inside the actor's region.
func (s *Service) AddEmployer(ctx context.Context, a Actor, e Employer) (*Employer, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if err := s.validateEmployer(ctx, tx, &e); err != nil {
			return err
		}
		if err := s.within(a, e.Region); err != nil {
			return err
		}
		e.ID = 0
		if _, err := tx.NewInsert().Model(&e).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("add employer %s: %w", e.USCC, dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "employer.add", "uscc:"+e.USCC, nil, e)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// EmployerByCode loads an employer by its USCC.
func EmployerByCode(ctx context.Context, db bun.IDB, uscc string) (*Employer, error) {
	var e Employer
	if err := db.NewSelect().Model(&e).Where("uscc = ?", uscc).Scan(ctx); err != nil {
		return nil, fmt.Errorf("employer %s: %w", uscc, dbError(err))
	}
	return &e, nil
}

// employerFor resolves the employer a record names, inside the actor's
// region; an unknown code is a validation error of the record's field.
func (s *Service) employerFor(ctx context.Context, db bun.IDB, a Actor, uscc string) (*Employer, error) {
	e, err := EmployerByCode(ctx, db, uscc)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("uscc", "no employer with code %s is registered", uscc)
	}
	if err != nil {
		return nil, err
	}
	if err := s.within(a, e.Region); err != nil {
		return nil, err
	}
	return e, nil
}

// CaseRecord is a case as recorded by an officer, naming its employer by
// code.
type CaseRecord struct {
	USCC string
	engine.Case
}

// RecordCase records an inspection or complaint case with its violations.
func (s *Service) RecordCase(ctx context.Context, a Actor, r CaseRecord) (*Case, error) {
	if err := officer(a); err != nil {
		return nil, err
	}
	if err := r.Case.Validate(); err != nil {
		var fe engine.FactsError
		if errors.As(err, &fe) {
			return nil, &ValidationError{Field: fe[0].Path, Reason: fe[0].Reason}
		}
		return nil, err
	}
	var c *Case
	err := s.inTx(ctx, func(tx bun.Tx) error {
		e, err := s.employerFor(ctx, tx, a, r.USCC)
		if err != nil {
			return err
		}
		c = &Case{CaseNo: r.ID, EmployerID: e.ID, Source: r.Source, Opened: Date(r.Opened), Concluded: Date(r.Concluded),
			Outcome: r.Outcome, OrderRefused: r.OrderRefused, Obstructed: r.Obstructed, MassIncident: r.MassIncident,
			SeriousImpact: r.SeriousImpact, Criminal: r.Criminal, BackWages: r.BackWages, WorkersAffected: r.WorkersAffected,
			Violations: r.Violations}
		if err := insertCase(ctx, tx, c); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.now(), a, "case.record", fmt.Sprintf("uscc:%s case:%s", r.USCC, r.ID), nil, r.Case)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func insertCase(ctx context.Context, db bun.IDB, c *Case) error {
	if _, err := db.NewInsert().Model(c).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("record case %s: %w", c.CaseNo, dbError(err))
	}
	seen := map[string]bool{}
	for _, v := range c.Violations {
		if seen[v] {
			continue
		}
		seen[v] = true
		if _, err := db.NewInsert().Model(&CaseViolation{CaseID: c.ID, Violation: v}).Exec(ctx); err != nil {
			return fmt.Errorf("record case %s violation %s: %w", c.CaseNo, v, dbError(err))
		}
	}
	return nil
}

// ReviewRecord is an annual review (the yearly written declaration).
type ReviewRecord struct {
	USCC   string
	Period int
	engine.AnnualReview
}

// RecordReview records (or replaces) an employer's annual review.
func (s *Service) RecordReview(ctx context.Context, a Actor, r ReviewRecord) error {
	if err := officer(a); err != nil {
		return err
	}
	if err := checkReview(r.Period, r.AnnualReview); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		e, err := s.employerFor(ctx, tx, a, r.USCC)
		if err != nil {
			return err
		}
		if err := upsertReview(ctx, tx, e.ID, r.Period, r.AnnualReview); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.now(), a, "review.record", fmt.Sprintf("uscc:%s period:%d", r.USCC, r.Period), nil, r.AnnualReview)
	})
}

// upsertReview writes (or replaces) the annual review of an employer.
func upsertReview(ctx context.Context, db bun.IDB, employerID int64, period int, r engine.AnnualReview) error {
	ar := &AnnualReview{EmployerID: employerID, Period: period, Submitted: r.Submitted, OnTime: r.OnTime, Employees: r.Employees,
		ContractsSigned: r.ContractsSigned, Insured: r.Insured, RosterComplete: r.RosterComplete}
	_, err := db.NewInsert().Model(ar).On("CONFLICT (employer_id, period) DO UPDATE").
		Set("submitted = EXCLUDED.submitted, on_time = EXCLUDED.on_time, employees = EXCLUDED.employees").
		Set("contracts_signed = EXCLUDED.contracts_signed, insured = EXCLUDED.insured, roster_complete = EXCLUDED.roster_complete").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record review: %w", dbError(err))
	}
	return nil
}

func checkReview(period int, r engine.AnnualReview) error {
	switch {
	case period < 1990 || period > 2100:
		return invalid("period", "must be a year between 1990 and 2100, got %d", period)
	case r.Employees < 0 || r.Employees > engine.MaxCount:
		return invalid("employees", "must be from 0 to %d", engine.MaxCount)
	case r.ContractsSigned < 0 || r.ContractsSigned > engine.MaxCount:
		return invalid("contracts_signed", "must be from 0 to %d", engine.MaxCount)
	case r.Insured < 0 || r.Insured > engine.MaxCount:
		return invalid("insured", "must be from 0 to %d", engine.MaxCount)
	case r.OnTime && !r.Submitted:
		return invalid("on_time", "cannot be true when submitted is false")
	}
	return nil
}

// RecordComplaint records a complaint or report received about an employer.
func (s *Service) RecordComplaint(ctx context.Context, a Actor, uscc, complaintNo, received string) error {
	if err := officer(a); err != nil {
		return err
	}
	if strings.TrimSpace(complaintNo) == "" {
		return invalid("complaint_no", "required")
	}
	if !engine.ValidDate(received) {
		return invalid("received", "not a date (want YYYY-MM-DD): %q", received)
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		e, err := s.employerFor(ctx, tx, a, uscc)
		if err != nil {
			return err
		}
		c := &Complaint{ComplaintNo: complaintNo, EmployerID: e.ID, Received: Date(received)}
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			return fmt.Errorf("record complaint %s: %w", complaintNo, dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "complaint.record", fmt.Sprintf("uscc:%s complaint:%s", uscc, complaintNo), nil,
			map[string]string{"received": received})
	})
}

// RecordDeposit records whether an employer had to pay, and paid, its
// wage-guarantee deposit in a period.
func (s *Service) RecordDeposit(ctx context.Context, a Actor, uscc string, period int, required, paid bool) error {
	if err := officer(a); err != nil {
		return err
	}
	if period < 1990 || period > 2100 {
		return invalid("period", "must be a year between 1990 and 2100, got %d", period)
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		e, err := s.employerFor(ctx, tx, a, uscc)
		if err != nil {
			return err
		}
		d := &WageDeposit{EmployerID: e.ID, Period: period, Required: required, Paid: paid}
		_, err = tx.NewInsert().Model(d).On("CONFLICT (employer_id, period) DO UPDATE").
			Set("required = EXCLUDED.required, paid = EXCLUDED.paid").Exec(ctx)
		if err != nil {
			return fmt.Errorf("record deposit: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "deposit.record", fmt.Sprintf("uscc:%s period:%d", uscc, period), nil,
			map[string]bool{"required": required, "paid": paid})
	})
}

// RecordBlacklisting records a span on the wage-arrears blacklist;
// removedOn is "" while the employer is still listed.
func (s *Service) RecordBlacklisting(ctx context.Context, a Actor, uscc, listedOn, removedOn string) error {
	if err := officer(a); err != nil {
		return err
	}
	if !engine.ValidDate(listedOn) {
		return invalid("listed_on", "not a date (want YYYY-MM-DD): %q", listedOn)
	}
	if removedOn != "" && (!engine.ValidDate(removedOn) || removedOn < listedOn) {
		return invalid("removed_on", "must be a date on or after listed_on, got %q", removedOn)
	}
	return s.inTx(ctx, func(tx bun.Tx) error {
		e, err := s.employerFor(ctx, tx, a, uscc)
		if err != nil {
			return err
		}
		b := &BlacklistEntry{EmployerID: e.ID, ListedOn: Date(listedOn), RemovedOn: Date(removedOn)}
		if _, err := tx.NewInsert().Model(b).Exec(ctx); err != nil {
			return fmt.Errorf("record blacklisting: %w", dbError(err))
		}
		return appendAudit(ctx, tx, s.now(), a, "blacklist.add", "uscc:"+uscc, nil, map[string]string{"listed_on": listedOn, "removed_on": removedOn})
	})
}
