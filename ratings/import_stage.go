package ratings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Staging: rows go to a temporary table (COPY on PostgreSQL, multi-row
// INSERTs on SQLite), are checked for duplicates there, and are merged
// into their table in one statement.

const (
	stageTable      = "import_stage"
	stageViolations = "import_stage_violations"
	vchangedTable   = "import_vchanged"
)

func (im *importer) createStage(ctx context.Context) error {
	cols := []string{"row_no integer NOT NULL"}
	for _, c := range im.k.stage {
		typ := c.sqlite
		if im.pg {
			typ = c.pg
		}
		cols = append(cols, c.name+" "+typ)
	}
	tables := map[string]string{stageTable: strings.Join(cols, ", ")}
	if im.k.name == "cases" {
		tables[stageViolations] = "row_no integer NOT NULL, violation text NOT NULL"
	}
	for _, name := range []string{stageTable, stageViolations} {
		def, ok := tables[name]
		if !ok {
			continue
		}
		q := "CREATE TEMP TABLE " + name + " (" + def + ")"
		if im.pg {
			q += " ON COMMIT DROP"
		} else if _, err := im.tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+name); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		if _, err := im.tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
	}
	if im.pg {
		// Room to find duplicate keys among a million staged rows without
		// spilling to disk; for this transaction only.
		if _, err := im.tx.ExecContext(ctx, "SET LOCAL work_mem = '64MB'"); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
	}
	return nil
}

// dropStage drops the staging tables (PostgreSQL drops them at commit).
func (im *importer) dropStage(ctx context.Context) error {
	if im.pg {
		return nil
	}
	for _, name := range []string{stageTable, stageViolations, vchangedTable} {
		if _, err := im.tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+name); err != nil {
			return fmt.Errorf("drop staging table: %w", err)
		}
	}
	return nil
}

func (im *importer) stageRows(ctx context.Context, rows []*importRow) error {
	if len(rows) == 0 {
		return nil
	}
	cols := []string{"row_no"}
	for _, c := range im.k.stage {
		cols = append(cols, c.name)
	}
	err := im.insert(ctx, stageTable, cols, len(rows), func(i int, v []any) []any {
		return im.k.values(rows[i], append(v, rows[i].row))
	})
	if err != nil {
		return err
	}
	im.staged += len(rows)
	if im.k.name != "cases" {
		return nil
	}
	type pair struct {
		row int
		v   string
	}
	var vs []pair
	for _, r := range rows {
		for _, v := range r.kase.Violations {
			vs = append(vs, pair{r.row, v})
		}
	}
	return im.insert(ctx, stageViolations, []string{"row_no", "violation"}, len(vs), func(i int, v []any) []any {
		return append(v, vs[i].row, vs[i].v)
	})
}

// insert writes n rows into a staging table: COPY on PostgreSQL, batched
// multi-row INSERTs on SQLite.
func (im *importer) insert(ctx context.Context, table string, cols []string, n int, row func(i int, v []any) []any) error {
	if n == 0 {
		return nil
	}
	if im.pg {
		if im.copying != nil && im.copyTable != table {
			if err := im.idle(ctx); err != nil {
				return err
			}
		}
		if im.copying == nil {
			stmt, err := im.tx.Tx.PrepareContext(ctx, copyIn(table, cols...))
			if err != nil {
				return fmt.Errorf("stage rows: %w", err)
			}
			im.copying, im.copyTable = stmt, table
		}
		for i := range n {
			im.vals = row(i, im.vals[:0])
			if _, err := im.copying.ExecContext(ctx, im.vals...); err != nil {
				return fmt.Errorf("stage rows: %w", err)
			}
		}
		return nil
	}
	per := max(1, 30000/len(cols))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	for lo := 0; lo < n; lo += per {
		hi := min(n, lo+per)
		var q strings.Builder
		q.WriteString(head)
		args := im.vals[:0]
		for i := lo; i < hi; i++ {
			if i > lo {
				q.WriteString(", ")
			}
			q.WriteString(one)
			args = row(i, args)
		}
		im.vals = args
		if _, err := im.tx.Tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("stage rows: %w", err)
		}
	}
	return nil
}

// abandonCopy closes a COPY still in progress, so that nothing reads the
// connection while the transaction is rolled back.
func (im *importer) abandonCopy() {
	if im.copying != nil {
		_ = im.copying.Close()
		im.copying = nil
	}
}

// idle ends the COPY in progress, if any, so that the connection takes
// queries again.
func (im *importer) idle(ctx context.Context) error {
	stmt := im.copying
	if stmt == nil {
		return nil
	}
	im.copying = nil
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("stage rows: %w", err)
	}
	return stmt.Close()
}

// duplicates rejects every row whose natural key an earlier row of the
// file has (and, when skipping, unstages it), and says how many.
func (im *importer) duplicates(ctx context.Context) (int, error) {
	if im.staged == 0 {
		return 0, nil
	}
	key := strings.Join(im.stageKey(), ", ")
	dups := "SELECT row_no, " + im.k.dupCol + ", min(row_no) OVER (PARTITION BY " + key + ") AS first_row FROM " + stageTable +
		" WHERE (" + key + ") IN (SELECT " + key + " FROM " + stageTable + " GROUP BY " + key + " HAVING count(*) > 1)"
	res, err := im.tx.Tx.QueryContext(ctx, dups+" ORDER BY row_no")
	if err != nil {
		return 0, fmt.Errorf("find duplicate rows: %w", err)
	}
	defer res.Close()
	var found []RowError
	count := 0
	for res.Next() {
		var row, first int
		var value string
		if err := res.Scan(&row, &value, &first); err != nil {
			return 0, fmt.Errorf("find duplicate rows: %w", err)
		}
		if row == first {
			continue
		}
		// Only the first ones are listed unless skipping (by row, so the
		// first of the merged list are among them); all are counted.
		if count++; (!im.skip && len(found) >= MaxRejectedReported) || (im.skip && im.rep.RejectedCount+count > MaxImportRejected) {
			continue
		}
		reason := fmt.Sprintf("duplicate: row %d has the same %s", first, im.keyHeaders())
		found = append(found, RowError{Row: row, Column: im.hm.header(im.k.dupCol), Value: shownValue(value), Reason: reason})
	}
	if err := res.Err(); err != nil {
		return 0, fmt.Errorf("find duplicate rows: %w", err)
	}
	res.Close()
	if count == 0 {
		return 0, nil
	}
	if im.skip && im.rep.RejectedCount+count > MaxImportRejected {
		im.rep.RejectedCount += count
		return 0, im.tooManyRejected()
	}
	if im.skip {
		n, err := im.tx.Tx.ExecContext(ctx, "DELETE FROM "+stageTable+" WHERE row_no IN (SELECT row_no FROM ("+dups+") d WHERE row_no <> first_row)")
		if err != nil {
			return 0, fmt.Errorf("unstage duplicate rows: %w", err)
		}
		k, _ := n.RowsAffected()
		im.staged -= int(k)
	}
	// Merge them into the rows rejected so far, by row.
	all := append(im.rep.Rejected, found...)
	slices.SortStableFunc(all, func(a, b RowError) int { return a.Row - b.Row })
	im.rep.RejectedCount += count
	if !im.skip && len(all) > MaxRejectedReported {
		all = all[:MaxRejectedReported]
	}
	im.rep.Rejected = all
	return count, nil
}

// stageKey is the natural key as staged: the employer's code stands for
// its id.
func (im *importer) stageKey() []string {
	var out []string
	for _, k := range im.k.key {
		if k == "employer_id" {
			k = "uscc"
		}
		out = append(out, k)
	}
	return out
}

func (im *importer) keyHeaders() string {
	var hs []string
	for _, k := range im.stageKey() {
		hs = append(hs, im.hm.header(k))
	}
	return strings.Join(hs, " and ")
}

// merge writes the staged rows into their table. When none of their keys
// is there yet (a first import), the rows are inserted right away and a
// key given twice in the file shows as a unique violation, rolled back to
// look for the duplicates; otherwise the duplicates are looked for first.
func (im *importer) merge(ctx context.Context) error {
	merge := im.k.merge
	if merge == nil {
		merge = func(ctx context.Context, im *importer, fresh bool) (int, int, error) { return im.upsert(ctx, fresh) }
	}
	fresh, err := im.fresh(ctx)
	if err != nil {
		return err
	}
	if !fresh {
		if err := im.dedupe(ctx); err != nil {
			return err
		}
	} else if _, err := im.tx.ExecContext(ctx, "SAVEPOINT import_merge"); err != nil {
		return fmt.Errorf("merge %s: %w", im.k.table, err)
	}
	ins, upd, err := merge(ctx, im, fresh)
	if fresh && errors.Is(err, ErrConflict) {
		if _, rerr := im.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT import_merge"); rerr != nil {
			return fmt.Errorf("merge %s: %w", im.k.table, rerr)
		}
		n, derr := im.duplicates(ctx)
		switch {
		case derr != nil:
			return derr
		case n == 0: // not a duplicate: another transaction inserted the key
			return err
		case !im.skip:
			return &ImportError{Report: im.rep}
		}
		ins, upd, err = merge(ctx, im, fresh)
	}
	if err != nil {
		return err
	}
	im.rep.Inserted, im.rep.Updated = ins, upd
	im.rep.Unchanged = im.staged - ins - upd
	return nil
}

// fresh reports whether none of the staged keys is in the table yet: at
// once when the table is empty, else by looking each key up.
func (im *importer) fresh(ctx context.Context) (bool, error) {
	var found bool
	if err := im.tx.Tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+im.k.table+")").Scan(&found); err != nil {
		return false, fmt.Errorf("merge %s: %w", im.k.table, err)
	}
	if !found {
		return true, nil
	}
	var match []string
	for _, c := range im.k.key {
		match = append(match, "t."+c+" = s."+c)
	}
	q := "SELECT EXISTS (SELECT 1 FROM " + stageTable + " s WHERE EXISTS (SELECT 1 FROM " + im.k.table + " t WHERE " + strings.Join(match, " AND ") + "))"
	if err := im.tx.Tx.QueryRowContext(ctx, q).Scan(&found); err != nil {
		return false, fmt.Errorf("merge %s: %w", im.k.table, err)
	}
	return !found, nil
}

// dedupe rejects the duplicate rows; unless skipping them, any is an
// *ImportError.
func (im *importer) dedupe(ctx context.Context) error {
	n, err := im.duplicates(ctx)
	if err == nil && n > 0 && !im.skip {
		err = &ImportError{Report: im.rep}
	}
	return err
}

// upsert inserts the staged rows whose key is new and updates those that
// differ: INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE distinct; fresh
// rows (none of their keys in the table) take a plain INSERT, cheaper than
// ON CONFLICT's speculative insertion. Should another transaction insert
// one of the keys meanwhile, the import fails with ErrConflict, having
// written nothing.
func (im *importer) upsert(ctx context.Context, fresh bool) (inserted, updated int, err error) {
	k := im.k
	list := strings.Join(slices.Concat(k.key, k.set), ", ")
	if fresh {
		res, err := im.tx.Tx.ExecContext(ctx, "INSERT INTO "+k.table+" ("+list+") SELECT "+list+" FROM "+stageTable)
		if err != nil {
			return 0, 0, fmt.Errorf("merge %s: %w", k.table, dbError(err))
		}
		n, err := res.RowsAffected()
		return int(n), 0, err
	}
	var set, old, incoming, match []string
	for _, c := range k.set {
		set = append(set, c+" = excluded."+c)
		old = append(old, k.table+"."+c)
		incoming = append(incoming, "excluded."+c)
	}
	for _, c := range k.key {
		match = append(match, "t."+c+" = s."+c)
	}
	distinctOp := " IS NOT "
	if im.pg {
		distinctOp = " IS DISTINCT FROM "
	}
	q := "INSERT INTO " + k.table + " (" + list + ") SELECT " + list + " FROM " + stageTable + " WHERE true" +
		" ON CONFLICT (" + strings.Join(k.key, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ") +
		" WHERE (" + strings.Join(old, ", ") + ")" + distinctOp + "(" + strings.Join(incoming, ", ") + ")"
	if im.pg {
		q = "WITH up AS (" + q + " RETURNING (xmax = 0) AS inserted) SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
		if err := im.tx.Tx.QueryRowContext(ctx, q).Scan(&inserted, &updated); err != nil {
			return 0, 0, fmt.Errorf("merge %s: %w", k.table, dbError(err))
		}
		return inserted, updated, nil
	}
	pre := "SELECT count(*) FROM " + stageTable + " s WHERE NOT EXISTS (SELECT 1 FROM " + k.table + " t WHERE " + strings.Join(match, " AND ") + ")"
	if err := im.tx.Tx.QueryRowContext(ctx, pre).Scan(&inserted); err != nil {
		return 0, 0, fmt.Errorf("merge %s: %w", k.table, err)
	}
	res, err := im.tx.Tx.ExecContext(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("merge %s: %w", k.table, dbError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, 0, fmt.Errorf("merge %s: %w", k.table, err)
	}
	return inserted, int(n) - inserted, nil
}

// mergeCases upserts the cases and replaces the violations of every case
// whose set of violations differs; a case whose only change is its
// violations counts as updated.
func mergeCases(ctx context.Context, im *importer, fresh bool) (inserted, updated int, err error) {
	agg := "group_concat(v.violation, ';' ORDER BY v.violation)"
	create := "CREATE TEMP TABLE " + vchangedTable + " AS "
	if im.pg {
		agg = `string_agg(v.violation, ';' ORDER BY v.violation COLLATE "C")`
		create = "CREATE TEMP TABLE " + vchangedTable + " ON COMMIT DROP AS "
	} else if _, err := im.tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+vchangedTable); err != nil {
		return 0, 0, fmt.Errorf("merge cases: %w", err)
	}
	q := create + "SELECT s.case_no, c.id IS NOT NULL AS existed FROM " + stageTable + " s LEFT JOIN cases c ON c.case_no = s.case_no" +
		" WHERE s.violations <> COALESCE((SELECT " + agg + " FROM case_violations v WHERE v.case_id = c.id), '')"
	if _, err := im.tx.ExecContext(ctx, q); err != nil {
		return 0, 0, fmt.Errorf("merge cases: %w", err)
	}
	// Cases whose row stays the same but whose violations change.
	same := " IS "
	if im.pg {
		same = " IS NOT DISTINCT FROM "
	}
	var old, staged []string
	for _, c := range im.k.set {
		old = append(old, "c."+c)
		staged = append(staged, "s."+c)
	}
	var onlyViolations int
	q = "SELECT count(*) FROM " + vchangedTable + " vc JOIN cases c ON c.case_no = vc.case_no JOIN " + stageTable + " s ON s.case_no = vc.case_no" +
		" WHERE vc.existed AND (" + strings.Join(old, ", ") + ")" + same + "(" + strings.Join(staged, ", ") + ")"
	if err := im.tx.Tx.QueryRowContext(ctx, q).Scan(&onlyViolations); err != nil {
		return 0, 0, fmt.Errorf("merge cases: %w", err)
	}
	if inserted, updated, err = im.upsert(ctx, fresh); err != nil {
		return 0, 0, err
	}
	for _, q := range []string{
		"DELETE FROM case_violations WHERE case_id IN (SELECT c.id FROM cases c JOIN " + vchangedTable + " vc ON vc.case_no = c.case_no)",
		"INSERT INTO case_violations (case_id, violation) SELECT c.id, sv.violation FROM " + stageViolations + " sv" +
			" JOIN " + stageTable + " s ON s.row_no = sv.row_no JOIN " + vchangedTable + " vc ON vc.case_no = s.case_no" +
			" JOIN cases c ON c.case_no = s.case_no",
	} {
		if _, err := im.tx.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("merge case violations: %w", dbError(err))
		}
	}
	return inserted, updated + onlyViolations, nil
}
