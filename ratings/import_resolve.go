package ratings

// Resolving a batch's codes: the employers rows name, and the records they refer to.

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"laborcredit/engine"
)

func distinctKeys(rows []*importRow, key func(*importRow) string, keep func(*importRow) bool) []string {
	seen := make(map[string]bool, len(rows))
	var out []string
	for _, r := range rows {
		if k := key(r); (keep == nil || keep(r)) && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// resolveEmployers checks employer rows against the legacy allow-list and,
// for officers, the region of employers already registered.
func resolveEmployers(ctx context.Context, im *importer, rows []*importRow) error {
	legacy := distinctKeys(rows, func(r *importRow) string { return r.uscc }, func(r *importRow) bool { return r.legacyWhy != "" })
	if len(legacy) > 0 || im.a.Role != RoleAdmin {
		if err := im.idle(ctx); err != nil {
			return err
		}
	}
	allowed := map[string]bool{}
	if len(legacy) > 0 {
		var codes []string
		if err := im.tx.NewSelect().Model((*LegacyCode)(nil)).Column("uscc").Where("uscc IN (?)", bun.List(legacy)).Scan(ctx, &codes); err != nil {
			return fmt.Errorf("check legacy codes: %w", err)
		}
		for _, c := range codes {
			allowed[c] = true
		}
	}
	existing := map[string]string{}
	if im.a.Role != RoleAdmin {
		codes := distinctKeys(rows, func(r *importRow) string { return r.uscc }, nil)
		var es []Employer
		if err := im.tx.NewSelect().Model(&es).Column("uscc", "region").Where("uscc IN (?)", bun.List(codes)).Scan(ctx); err != nil {
			return fmt.Errorf("load employers: %w", err)
		}
		for _, e := range es {
			existing[e.USCC] = e.Region
		}
	}
	for _, r := range rows {
		switch old, ok := existing[r.uscc]; {
		case r.legacyWhy != "" && !allowed[r.uscc]:
			im.fail(r, "uscc", "not a valid unified social credit code: "+r.legacyWhy)
		case !im.inScope(r.region):
			im.fail(r, "region", im.outside())
		case ok && !im.inScope(old):
			im.fail(r, "uscc", fmt.Sprintf("this employer is registered in %s, %s", im.regionName(old), im.outside()))
		}
	}
	return nil
}

// resolveReferences finds the employer each row names, inside the actor's
// region, and for cases and complaints checks that a record already
// imported stays with its employer.
func resolveReferences(ctx context.Context, im *importer, rows []*importRow) error {
	if err := im.idle(ctx); err != nil {
		return err
	}
	codes := distinctKeys(rows, func(r *importRow) string { return r.uscc }, nil)
	var es []Employer
	if err := im.tx.NewSelect().Model(&es).Column("id", "uscc", "region").Where("uscc IN (?)", bun.List(codes)).Scan(ctx); err != nil {
		return fmt.Errorf("load employers: %w", err)
	}
	byCode := make(map[string]*Employer, len(es))
	for i := range es {
		byCode[es[i].USCC] = &es[i]
	}
	for _, r := range rows {
		e, ok := byCode[r.uscc]
		switch {
		case !ok && engine.CheckUSCC(r.uscc) != nil:
			im.fail(r, "uscc", "no employer has this code, and it is not a valid unified social credit code: "+engine.CheckUSCC(r.uscc).Error())
		case !ok:
			im.fail(r, "uscc", "no employer with this code is registered (import employers first)")
		case !im.inScope(e.Region):
			im.fail(r, "uscc", fmt.Sprintf("the employer is in %s, %s", im.regionName(e.Region), im.outside()))
		default:
			r.employerID = e.ID
		}
	}
	var table, keyCol string
	var key func(r *importRow) string
	switch im.k.name {
	case "cases":
		table, keyCol, key = "cases", "case_no", func(r *importRow) string { return r.kase.ID }
	case "complaints":
		table, keyCol, key = "complaints", "complaint_no", func(r *importRow) string { return r.complaintNo }
	default:
		return nil
	}
	keys := distinctKeys(rows, key, func(r *importRow) bool { return r.err == nil })
	if len(keys) == 0 {
		return nil
	}
	q := fmt.Sprintf("SELECT t.%s, t.employer_id, e.uscc FROM %s t JOIN employers e ON e.id = t.employer_id WHERE t.%s IN (?)", keyCol, table, keyCol)
	res, err := im.tx.QueryContext(ctx, q, bun.List(keys))
	if err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	defer res.Close()
	type owner struct {
		id   int64
		uscc string
	}
	owners := map[string]owner{}
	for res.Next() {
		var k string
		var o owner
		if err := res.Scan(&k, &o.id, &o.uscc); err != nil {
			return fmt.Errorf("load %s: %w", table, err)
		}
		owners[k] = o
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	for _, r := range rows {
		if o, ok := owners[key(r)]; ok && r.err == nil && o.id != r.employerID {
			im.fail(r, keyCol, fmt.Sprintf("already recorded for the employer %s; a record cannot move to another employer", o.uscc))
		}
	}
	return nil
}
