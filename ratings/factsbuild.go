package ratings

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

// employerFacts is one employer of a batch with its facts for the period.
type employerFacts struct {
	ID    int64
	Facts engine.Facts
}

// historyYears is how many earlier periods of published grades the facts
// carry (rules look at the last few; the integrity file keeps them all).
const historyYears = 10

// loadFacts builds the facts of up to limit employers in scope (region code
// starting with prefix, id after afterID), in id order, exactly as DESIGN.md
// defines them, with one query per kind of record for the whole batch —
// never a query per employer. The records are taken as they stood at the
// end of the period: a case concluded after it is presented as still open.
func loadFacts(ctx context.Context, db bun.IDB, period int, prefix string, afterID int64, limit int) ([]employerFacts, error) {
	rows, err := db.QueryContext(ctx,
		"SELECT id, uscc, name, region, industry, employees FROM employers WHERE region LIKE ? AND id > ? ORDER BY id LIMIT ?",
		prefix+"%", afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("load employers: %w", err)
	}
	var batch []employerFacts
	for rows.Next() {
		var ef employerFacts
		e := &ef.Facts.Employer
		if err := rows.Scan(&ef.ID, &e.USCC, &e.Name, &e.Region, &e.Industry, &e.Employees); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load employers: %w", err)
		}
		ef.Facts.Period = period
		batch = append(batch, ef)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load employers: %w", err)
	}
	if len(batch) == 0 {
		return nil, nil
	}
	lo, hi := batch[0].ID, batch[len(batch)-1].ID
	index := make(map[int64]*engine.Facts, len(batch))
	for i := range batch {
		index[batch[i].ID] = &batch[i].Facts
	}
	start, end := strconv.Itoa(period)+"-01-01", strconv.Itoa(period)+"-12-31"

	// each runs a query over the batch's id range and hands every row to
	// scan, which skips rows of employers in the id range but outside the
	// scope (index has no entry for them).
	each := func(what, query string, scan func(rows *sql.Rows) error, args ...any) error {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("load %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("load %s: %w", what, err)
			}
		}
		return rows.Err()
	}

	var id int64
	err = each("annual reviews",
		"SELECT employer_id, submitted, on_time, employees, contracts_signed, insured, roster_complete FROM annual_reviews WHERE period = ? AND employer_id BETWEEN ? AND ?",
		func(rows *sql.Rows) error {
			var r engine.AnnualReview
			if err := rows.Scan(&id, &r.Submitted, &r.OnTime, &r.Employees, &r.ContractsSigned, &r.Insured, &r.RosterComplete); err != nil {
				return err
			}
			if f := index[id]; f != nil {
				f.AnnualReview = r
			}
			return nil
		}, period, lo, hi)
	if err != nil {
		return nil, err
	}

	// Cases open at some time in the period: opened by its end, and not
	// concluded before its start.
	caseByID := map[int64]*engine.Case{}
	type caseRef struct {
		employer int64
		caseID   int64
	}
	var order []caseRef
	err = each("cases",
		"SELECT id, employer_id, case_no, source, opened, concluded, outcome, order_refused, obstructed, mass_incident, serious_impact, criminal, back_wages, workers_affected"+
			" FROM cases WHERE employer_id BETWEEN ? AND ? AND opened <= ? AND (concluded IS NULL OR concluded >= ?) ORDER BY employer_id, opened, id",
		func(rows *sql.Rows) error {
			var c engine.Case
			var caseID int64
			var opened, concluded Date
			if err := rows.Scan(&caseID, &id, &c.ID, &c.Source, &opened, &concluded, &c.Outcome, &c.OrderRefused, &c.Obstructed,
				&c.MassIncident, &c.SeriousImpact, &c.Criminal, &c.BackWages, &c.WorkersAffected); err != nil {
				return err
			}
			if index[id] == nil {
				return nil
			}
			c.Opened, c.Concluded = string(opened), string(concluded)
			if c.Concluded > end {
				// As it stood at the end of the period: still open.
				c.Concluded, c.Outcome = "", "pending"
			}
			caseByID[caseID] = &c
			order = append(order, caseRef{id, caseID})
			return nil
		}, lo, hi, end, start)
	if err != nil {
		return nil, err
	}
	if len(caseByID) > 0 {
		err = each("case violations",
			"SELECT v.case_id, v.violation FROM case_violations v JOIN cases c ON c.id = v.case_id"+
				" WHERE c.employer_id BETWEEN ? AND ? AND c.opened <= ? AND (c.concluded IS NULL OR c.concluded >= ?) ORDER BY v.case_id, v.violation",
			func(rows *sql.Rows) error {
				var caseID int64
				var v string
				if err := rows.Scan(&caseID, &v); err != nil {
					return err
				}
				if c := caseByID[caseID]; c != nil {
					c.Violations = append(c.Violations, v)
				}
				return nil
			}, lo, hi, end, start)
		if err != nil {
			return nil, err
		}
		for _, r := range order {
			f := index[r.employer]
			f.Cases = append(f.Cases, *caseByID[r.caseID])
		}
	}

	err = each("complaints",
		"SELECT employer_id, count(*) FROM complaints WHERE employer_id BETWEEN ? AND ? AND received BETWEEN ? AND ? GROUP BY employer_id",
		func(rows *sql.Rows) error {
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			if f := index[id]; f != nil {
				f.Complaints = n
			}
			return nil
		}, lo, hi, start, end)
	if err != nil {
		return nil, err
	}

	err = each("wage deposits",
		"SELECT employer_id, required, paid FROM wage_deposits WHERE period = ? AND employer_id BETWEEN ? AND ?",
		func(rows *sql.Rows) error {
			var d engine.WageDeposit
			if err := rows.Scan(&id, &d.Required, &d.Paid); err != nil {
				return err
			}
			if f := index[id]; f != nil {
				f.WageDeposit = d
			}
			return nil
		}, period, lo, hi)
	if err != nil {
		return nil, err
	}

	err = each("blacklist",
		"SELECT DISTINCT employer_id FROM blacklist_entries WHERE employer_id BETWEEN ? AND ? AND listed_on <= ? AND (removed_on IS NULL OR removed_on >= ?)",
		func(rows *sql.Rows) error {
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if f := index[id]; f != nil {
				f.Blacklisted = true
			}
			return nil
		}, lo, hi, end, start)
	if err != nil {
		return nil, err
	}

	err = each("history",
		"SELECT employer_id, period, grade FROM ratings WHERE current = ? AND status = ? AND period < ? AND period >= ? AND employer_id BETWEEN ? AND ? ORDER BY employer_id, period DESC",
		func(rows *sql.Rows) error {
			var h engine.HistoryEntry
			if err := rows.Scan(&id, &h.Period, &h.Grade); err != nil {
				return err
			}
			if f := index[id]; f != nil {
				f.History = append(f.History, h)
			}
			return nil
		}, true, StatusPublished, period, period-historyYears, lo, hi)
	if err != nil {
		return nil, err
	}
	return batch, nil
}
