package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"laborcredit/ratings"
)

func importCommand() *command {
	return &command{name: "import", short: "import records (employers, reviews, cases, complaints, deposits) from CSV or XLSX", run: runImport}
}

func runImport(ctx context.Context, e *env, args []string) error {
	kinds := strings.Join(ratings.ImportKinds(), ", ")
	fs := newFlags(e, "import", "laborcredit import KIND FILE [--db URL] [--skip-invalid] [--rejects FILE]\n\n"+
		"KIND is one of "+kinds+"; FILE is a .csv or .xlsx file as docs/IMPORT.md describes.\n"+
		"By default one bad row imports nothing and every bad row is listed.")
	dbf := dbFlag(fs)
	skip := fs.Bool("skip-invalid", false, "import the valid rows and write the rejected ones to the --rejects file")
	rejects := fs.String("rejects", "", "where --skip-invalid writes the rejected rows (default FILE.rejected.csv)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usagef("import: name the KIND (%s) and the FILE", kinds)
	case !slices.Contains(ratings.ImportKinds(), pos[0]):
		return usagef("import: unknown kind %q: want one of %s", pos[0], kinds)
	case len(pos) == 1:
		return usagef("import: name the FILE to import")
	case len(pos) > 2:
		return usagef("import: unexpected argument %q", pos[2])
	case *rejects != "" && !*skip:
		return usagef("import: --rejects goes with --skip-invalid")
	}
	kind, file := pos[0], pos[1]
	if _, err := ratings.ImportFormat(file); err != nil {
		var ve *ratings.ValidationError
		if errors.As(err, &ve) {
			return usagef("import: %s", ve.Reason)
		}
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()

	rep, err := svc.Import(ctx, ratings.System, ratings.ImportParams{Kind: kind, FileName: file, Reader: f, SkipInvalid: *skip,
		Progress: importProgress(e.stderr, "importing "+kind)})
	var ie *ratings.ImportError
	switch {
	case errors.As(err, &ie):
		printRejected(e.stderr, ie.Report)
		return fmt.Errorf("nothing imported: %w", err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted; nothing was imported: %w", err)
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stdout, "%s from %s: %s, %d inserted, %d updated, %d unchanged, %d rejected\n",
		kind, file, plural(rep.Rows, "row"), rep.Inserted, rep.Updated, rep.Unchanged, rep.RejectedCount)
	if rep.RejectedCount == 0 {
		return nil
	}
	path := cmp.Or(*rejects, file+".rejected.csv")
	if err := writeRejects(kind, file, path, rep); err != nil {
		return fmt.Errorf("write the rejected rows: %w", err)
	}
	fmt.Fprintf(e.stdout, "%s rejected: written to %s with their row and reason\n", plural(rep.RejectedCount, "row"), path)
	return nil
}

// importProgress shows an import's progress: newProgress's bar or lines
// when the total is known, a line every 100,000 rows when it is not.
func importProgress(w io.Writer, what string) func(done, total int) {
	known := newProgress(w, what)
	next := 100000
	return func(done, total int) {
		if total > 0 {
			known(done, total)
			return
		}
		if done >= next {
			fmt.Fprintf(w, "%s: %d rows\n", what, done)
			next = (done/100000 + 1) * 100000
		}
	}
}

// printRejected lists rejected rows as a table: the first
// ratings.MaxRejectedReported, then how many more.
func printRejected(w io.Writer, rep *ratings.ImportReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tcolumn\tvalue\treason")
	for _, r := range rep.Rejected {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Row, oneLine(r.Column), oneLine(r.Value), oneLine(r.Reason))
	}
	tw.Flush()
	if more := rep.RejectedCount - len(rep.Rejected); more > 0 {
		fmt.Fprintf(w, "… and %d more\n", more)
	}
}

// oneLine keeps a cell on one line of the table, and the terminal's
// control out of the file's hands: control and bidirectional-formatting
// characters are shown as Go escapes (\n, \x1b, \u202e).
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeCSVRow writes a row of a file people open in a spreadsheet: every
// cell through ratings.EscapeFormula.
func writeCSVRow(w *csv.Writer, cells []string) error {
	safe := make([]string, len(cells))
	for i, c := range cells {
		safe[i] = ratings.EscapeFormula(c)
	}
	return w.Write(safe)
}

// writeRejects reads the file again and writes its rejected rows to path
// as CSV (UTF-8 with a BOM, for spreadsheets): row, reason, then the
// row's own cells under the file's header.
func writeRejects(kind, file, path string, rep *ratings.ImportReport) error {
	reasons := make(map[int]string, len(rep.Rejected))
	for _, r := range rep.Rejected {
		reason := r.Reason
		if r.Column != "" {
			reason = r.Column + ": " + r.Reason
		}
		reasons[r.Row] = reason
	}
	src, err := os.Open(file)
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.WriteString(out, "\ufeff"); err != nil {
		return err
	}
	w := csv.NewWriter(out)
	header := true
	err = ratings.ReadImportFile(kind, file, src, func(row int, cells []string) error {
		if header {
			header = false
			return writeCSVRow(w, append([]string{"row", "reason"}, cells...))
		}
		reason, ok := reasons[row]
		if !ok {
			return nil
		}
		delete(reasons, row)
		return writeCSVRow(w, append([]string{strconv.Itoa(row), reason}, cells...))
	})
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if len(reasons) > 0 {
		return fmt.Errorf("%d rejected rows not found in %s (did it change?)", len(reasons), file)
	}
	return out.Close()
}
