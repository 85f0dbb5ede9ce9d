package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/uptrace/bun"
	"golang.org/x/term"

	"laborcredit/ratings"
)

// dbFlag adds --db to a flag set: the database URL, from the flag, else
// LABORCREDIT_DB, else the SQLite file laborcredit.db.
func dbFlag(fs *flagSet) *string {
	return fs.String("db", "", "database: sqlite://PATH or postgres://… (default $LABORCREDIT_DB, else "+ratings.DefaultDB+")")
}

func dbURL(flagValue string) string {
	return cmp.Or(flagValue, os.Getenv("LABORCREDIT_DB"), ratings.DefaultDB)
}

// openDB opens the database and checks that its schema is current.
func openDB(ctx context.Context, flagValue string) (*bun.DB, error) {
	db, err := ratings.Open(ctx, dbURL(flagValue))
	if err != nil {
		return nil, err
	}
	ms, err := ratings.MigrationStatus(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n := len(ms.Unapplied()); n > 0 {
		db.Close()
		return nil, fmt.Errorf("the database schema is not current (%s pending): run laborcredit migrate up", plural(n, "migration"))
	}
	return db, nil
}

// openService opens the database (checking its schema) and the domain
// service over it; close releases the database.
func openService(ctx context.Context, flagValue string, p ratings.ServiceParams) (svc *ratings.Service, close func(), err error) {
	if p.Calendar == nil {
		// LABORCREDIT_CALENDAR adds years the embedded calendar lacks.
		if p.Calendar, err = ratings.LoadCalendar(os.Getenv("LABORCREDIT_CALENDAR")); err != nil {
			return nil, nil, err
		}
	}
	db, err := openDB(ctx, flagValue)
	if err != nil {
		return nil, nil, err
	}
	svc, err = ratings.NewService(db, p)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

func migrateCommand() *command {
	return &command{
		name:  "migrate",
		short: "apply, roll back or list the schema migrations",
		subs: []*command{
			{name: "up", short: "apply every pending migration", run: migrateRun("up")},
			{name: "down", short: "roll back the last group of migrations", run: migrateRun("down")},
			{name: "status", short: "list the migrations and whether each is applied", run: migrateRun("status")},
		},
	}
}

func migrateRun(action string) func(ctx context.Context, e *env, args []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		fs := newFlags(e, "migrate "+action, "laborcredit migrate "+action+" [--db URL]")
		dbf := dbFlag(fs)
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usagef("migrate %s: unexpected argument %q", action, pos[0])
		}
		db, err := ratings.Open(ctx, dbURL(*dbf))
		if err != nil {
			return err
		}
		defer db.Close()
		switch action {
		case "up":
			g, err := ratings.MigrateUp(ctx, db)
			if err != nil {
				return err
			}
			if g.IsZero() {
				fmt.Fprintln(e.stdout, "the database is up to date")
				return nil
			}
			fmt.Fprintf(e.stdout, "applied %s\n", g)
		case "down":
			g, err := ratings.MigrateDown(ctx, db)
			if err != nil {
				return err
			}
			if g.IsZero() {
				fmt.Fprintln(e.stdout, "nothing to roll back")
				return nil
			}
			fmt.Fprintf(e.stdout, "rolled back %s\n", g)
		case "status":
			ms, err := ratings.MigrationStatus(ctx, db)
			if err != nil {
				return err
			}
			for _, m := range ms {
				state := "pending"
				if m.IsApplied() {
					state = "applied " + m.MigratedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(e.stdout, "%s  %s\n", m.Name+"_"+m.Comment, state)
			}
		}
		return nil
	}
}

func rateCommand() *command {
	return &command{name: "rate", short: "run the rating cycle for a period (resumable)", run: runRate}
}

func runRate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rate", "laborcredit rate --period YEAR [--region CODE] [--replace-reviewed] [--db URL]")
	dbf := dbFlag(fs)
	period := fs.Int("period", 0, "the year to rate (required)")
	region := fs.String("region", "", "GB/T 2260 code of the region to rate (default: every employer)")
	replace := fs.Bool("replace-reviewed", false, "also apply re-ratings of ratings already reviewed or confirmed (they are reported otherwise)")
	batch := fs.Int("batch", 2000, "employers per transaction")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("rate: unexpected argument %q", pos[0])
	}
	if *period == 0 {
		return usagef("rate: --period is required")
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	progress := newProgress(e.stderr, "rating")
	held := 0
	rep, err := svc.Rate(ctx, ratings.System, ratings.RateParams{
		Period: *period, Region: cmp.Or(*region, ratings.AllRegions), ReplaceReviewed: *replace, BatchSize: *batch,
		Progress: progress,
		Held: func(uscc, from, to string) {
			if held++; held <= 20 {
				fmt.Fprintf(e.stdout, "held: %s would change %s → %s (already reviewed; use --replace-reviewed to apply)\n", uscc, from, to)
			}
		},
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; run the same command again to resume: %w", err)
		}
		return err
	}
	resumed := ""
	if rep.Resumed {
		resumed = " (resumed)"
	}
	fmt.Fprintf(e.stdout, "period %d%s: %d employers, %d new ratings, %d unchanged, %d held; rule set %s %s\n",
		*period, resumed, rep.Employers, rep.Rated, rep.Unchanged, rep.Held, rep.RuleSet, rep.Hash)
	return nil
}

// newProgress reports progress: a bar on a terminal, a line every 10%
// otherwise (logs, CI).
func newProgress(w io.Writer, what string) func(done, total int) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
					progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("employers"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			bar.Set(done) //nolint:errcheck // display only
			if done >= total {
				bar.Finish() //nolint:errcheck
			}
		}
	}
	last := -1
	return func(done, total int) {
		pct := 100
		if total > 0 {
			pct = done * 100 / total
		}
		if pct/10 != last/10 || done == total {
			last = pct
			fmt.Fprintf(w, "%s: %d of %d employers (%d%%)\n", what, done, total, pct)
		}
	}
}

func auditCommand() *command {
	return &command{
		name:  "audit",
		short: "check the audit log",
		subs:  []*command{{name: "verify", short: "walk the hash chain and name the first broken entry", run: runAuditVerify}},
	}
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "audit verify", "laborcredit audit verify [--db URL]")
	dbf := dbFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("audit verify: unexpected argument %q", pos[0])
	}
	db, err := openDB(ctx, *dbf)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := ratings.VerifyAudit(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d entries\n", n)
	return nil
}
