package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"laborcredit/ratings"
	scoringrules "laborcredit/scoring-rules"
)

// demoCommand is the main job on the embedded default: a synthetic
// province loaded through the real import, one whole rating period run
// through the real workflow with the clock moved forward, then served.
func demoCommand() *command {
	return &command{name: "demo", short: "load a synthetic province, run a whole rating period through the workflow, and serve it", run: runDemo}
}

const (
	// demoPeriod is the period the demo rates: the records of 2025, rated
	// in the round of spring 2026. 2024 is published before it, so that
	// "A two years running" (the award) can happen.
	demoPeriod = 2025
	// demoDBFile is the SQLite file the demo makes when no database is
	// configured; each run replaces it.
	demoDBFile = "laborcredit-demo.db"
	// demoAward is the award of the national rule set.
	demoAward = "best-integrity-unit"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "laborcredit demo [--employers N] [--addr HOST:PORT] [--seed S] [--db URL] [--no-serve]")
	n := fs.Int("employers", 5000, "number of synthetic employers")
	addr := fs.String("addr", "127.0.0.1:8080", "where to serve the site and the API")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same province")
	dbf := fs.String("db", "", "an empty database to load the demo into (default $LABORCREDIT_DB, else a fresh SQLite file "+demoDBFile+" in the current directory, replaced on every run)")
	noServe := fs.Bool("no-serve", false, "load and run the period, print the summary, and stop instead of serving")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("demo: unexpected argument %q", pos[0])
	}
	if *n < 1 {
		return usagef("demo: --employers must be at least 1")
	}
	url := cmp.Or(*dbf, os.Getenv("LABORCREDIT_DB"))
	if url == "" {
		// A fresh file each run: the demo's own, never a configured database.
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(demoDBFile + suffix); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("demo: replace %s: %w", demoDBFile, err)
			}
		}
		url = "sqlite://" + demoDBFile
	}
	var ln net.Listener
	if !*noServe {
		// Listen first: a busy port should fail before the work, not after.
		if ln, err = net.Listen("tcp", *addr); err != nil {
			return fmt.Errorf("demo: listen on %s: %w (choose another with --addr)", *addr, err)
		}
		defer ln.Close()
	}
	d, err := loadDemo(ctx, e.stdout, demoParams{URL: url, Employers: *n, Seed: *seed})
	if err != nil {
		return err
	}
	defer d.db.Close()
	if ln == nil {
		d.print(e.stdout, "http://"+*addr)
		fmt.Fprintf(e.stdout, "not served (--no-serve); serve them with: laborcredit serve --db %s --addr %s\n", ratings.Redact(url), *addr)
		return nil
	}
	d.print(e.stdout, "http://"+ln.Addr().String())
	fmt.Fprintln(e.stdout, "Press Ctrl-C to stop.")
	d.clock.run()
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return serveOn(ctx, e, ln, d.svc, logger, time.Minute, nil)
}

// demoParams say what to load.
type demoParams struct {
	URL       string
	Employers int
	Seed      uint64
}

// demoClock is the service's clock in the demo: set to the days of the
// procedure while the period runs, then running from the last of them.
type demoClock struct {
	mu      sync.Mutex
	at      time.Time
	since   time.Time // when it started running; zero while it is set by hand
	running bool
}

func (c *demoClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return c.at.Add(time.Since(c.since))
	}
	return c.at
}

// set moves the clock to 10:00 China time on a date.
func (c *demoClock) set(date string) {
	d, err := time.ParseInLocation(time.DateOnly, date, time.FixedZone("CST", 8*3600))
	if err != nil {
		panic(err) // the demo's own dates
	}
	c.mu.Lock()
	c.at, c.running = d.Add(10*time.Hour), false
	c.mu.Unlock()
}

func (c *demoClock) run() {
	c.mu.Lock()
	c.since, c.running = time.Now(), true
	c.mu.Unlock()
}

func (c *demoClock) date() string {
	return c.now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
}

// demo is a loaded demo: the database, the service over it, and what
// the summary shows.
type demo struct {
	db    interface{ Close() error }
	svc   *ratings.Service
	clock *demoClock
	url   string
	took  time.Duration

	employers   int
	grades      map[int]map[string]int // period → grade → published ratings
	objections  [3]int                 // filed, upheld, rejected
	nominated   int
	approved    int
	republished string // the code whose rating is under publicity again after an upheld objection
	examples    struct{ a, c, award string }
	token       string // a provincial officer's token
	countyToken string
	key         string // a bank's credit-sharing key
}

// loadDemo makes the demo's database: migrate, generate, import, two
// periods through the workflow, users and a key. Progress goes to out.
func loadDemo(ctx context.Context, out io.Writer, p demoParams) (*demo, error) {
	start := time.Now()
	step := func(what string, t0 time.Time) {
		fmt.Fprintf(out, "  %-64s %5.1fs\n", what, time.Since(t0).Seconds())
	}
	fmt.Fprintf(out, "laborcredit demo: a synthetic province of %d employers in %s\n", p.Employers, ratings.Redact(p.URL))

	t0 := time.Now()
	db, err := ratings.Open(ctx, p.URL)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			db.Close()
		}
	}()
	if _, err := ratings.MigrateUp(ctx, db); err != nil {
		return nil, err
	}
	if n, err := db.NewSelect().Model((*ratings.Employer)(nil)).Count(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, fmt.Errorf("demo: the database already holds %d employers; the demo loads its synthetic province only into an empty database (leave --db and LABORCREDIT_DB unset for a fresh SQLite file)", n)
	}
	cal, err := ratings.LoadCalendar(os.Getenv("LABORCREDIT_CALENDAR"))
	if err != nil {
		return nil, err
	}
	d := &demo{db: db, clock: &demoClock{}, url: p.URL, employers: p.Employers, grades: map[int]map[string]int{}}
	d.clock.set("2025-01-06")
	// The demo's tokens are made on its clock, in 2026, but work on the real
	// one too (laborcredit serve on this database, or on a restored backup
	// of it): valid from the demo's start to 90 days after today.
	ttl := max(time.Since(d.clock.now())+ratings.DefaultTokenTTL, ratings.DefaultTokenTTL)
	if d.svc, err = ratings.NewService(db, ratings.ServiceParams{NowFunc: d.clock.now, Calendar: cal, TokenTTL: ttl}); err != nil {
		return nil, err
	}
	step("migrated the database", t0)

	t0 = time.Now()
	dir, err := os.MkdirTemp("", "laborcredit-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := generateProvince(ctx, generateParams{Employers: p.Employers, Period: demoPeriod, Years: 2, Seed: p.Seed, Province: "420000", Out: dir}); err != nil {
		return nil, fmt.Errorf("demo: generate: %w", err)
	}
	step("generated employers and their records of 2024 and 2025 (CSV)", t0)

	t0 = time.Now()
	admin := ratings.Actor{Name: "系统管理员", Role: ratings.RoleAdmin, Region: "420000"}
	rows := 0
	for _, kind := range []string{"employers", "reviews", "cases", "complaints", "deposits"} {
		f, err := os.Open(filepath.Join(dir, kind+".csv"))
		if err != nil {
			return nil, err
		}
		rep, err := d.svc.Import(ctx, admin, ratings.ImportParams{Kind: kind, FileName: kind + ".csv", Reader: f})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("demo: import %s: %w", kind, err)
		}
		rows += rep.Rows
	}
	step(fmt.Sprintf("imported %d rows of five kinds", rows), t0)

	src, err := scoringrules.FS.ReadFile("national-2016.yaml")
	if err != nil {
		return nil, err
	}
	rs, err := d.svc.UploadRuleSet(ctx, admin, "national-2016.yaml", src)
	if err != nil {
		return nil, err
	}
	for _, period := range []int{demoPeriod - 1, demoPeriod} {
		if err := d.svc.ActivateRuleSet(ctx, admin, period, rs.Hash); err != nil {
			return nil, err
		}
	}
	if err := d.runPeriods(ctx, out, step); err != nil {
		return nil, err
	}

	t0 = time.Now()
	if _, d.token, err = d.svc.CreateUser(ctx, admin, "湖北省人社厅 演示账号", ratings.RoleProvince, "420000", ""); err != nil {
		return nil, err
	}
	if _, d.countyToken, err = d.svc.CreateUser(ctx, admin, "江岸区劳动保障监察大队 演示账号", ratings.RoleCounty, "420102", ""); err != nil {
		return nil, err
	}
	if _, d.key, err = d.svc.CreateAPIClient(ctx, admin, "演示银行 武汉分行", "bank", ratings.ScopeCreditRead, 50); err != nil {
		return nil, err
	}
	if err := d.count(ctx); err != nil {
		return nil, err
	}
	if _, err := ratings.VerifyAudit(ctx, db); err != nil {
		return nil, fmt.Errorf("demo: the audit log does not verify: %w", err)
	}
	step("created an officer, a county officer and a bank's API key; audit log verified", t0)
	d.took = time.Since(start)
	ok = true
	return d, nil
}

// demoOffice is an officer of a county or city, named after it.
func (d *demo) office(code string, role ratings.Role) ratings.Actor {
	name := code
	if r, ok := d.svc.Regions().Lookup(code); ok {
		name = r.Name
	}
	suffix := "劳动保障监察大队"
	if role == ratings.RoleCity {
		suffix = "人力资源和社会保障局"
	}
	return ratings.Actor{Name: name + suffix, Role: role, Region: code}
}

// runPeriods runs 2024 and then 2025 through the procedure.
func (d *demo) runPeriods(ctx context.Context, out io.Writer, step func(string, time.Time)) error {
	province := ratings.Actor{Name: "湖北省人力资源和社会保障厅", Role: ratings.RoleProvince, Region: "420000"}
	var counties []string
	if err := d.svc.DB().NewSelect().Model((*ratings.Employer)(nil)).Distinct().Column("region").Order("region").Scan(ctx, &counties); err != nil {
		return err
	}
	reviewConfirm := func(period int, override func() error) error {
		for _, c := range counties {
			if _, err := d.svc.ReviewAll(ctx, d.office(c, ratings.RoleCounty), ratings.BulkParams{Period: period}); err != nil {
				return err
			}
		}
		if override != nil {
			if err := override(); err != nil {
				return err
			}
		}
		for _, c := range counties {
			if _, err := d.svc.ConfirmAll(ctx, d.office(c, ratings.RoleCounty), ratings.BulkParams{Period: period}); err != nil {
				return err
			}
		}
		return nil
	}
	// publish moves the clock to the day after the publicity and publishes.
	publish := func(ends string) error {
		day, err := time.Parse(time.DateOnly, ends)
		if err != nil {
			return err
		}
		d.clock.set(day.AddDate(0, 0, 1).Format(time.DateOnly))
		_, err = d.svc.Tick(ctx)
		return err
	}

	// 2024, in the round of spring 2025.
	t0 := time.Now()
	d.clock.set("2025-03-03")
	if _, err := d.svc.Rate(ctx, province, ratings.RateParams{Period: demoPeriod - 1}); err != nil {
		return err
	}
	if err := reviewConfirm(demoPeriod-1, nil); err != nil {
		return err
	}
	d.clock.set("2025-03-04")
	_, ends, err := d.svc.Publicize(ctx, province, ratings.PublicizeParams{Period: demoPeriod - 1})
	if err != nil {
		return err
	}
	if err := publish(ends); err != nil {
		return err
	}
	step(fmt.Sprintf("2024: rated, reviewed, confirmed, publicized to %s, published", ends), t0)

	// 2025, in the round of spring 2026: rated on 2 March.
	t0 = time.Now()
	d.clock.set("2026-03-02")
	if _, err := d.svc.Rate(ctx, province, ratings.RateParams{Period: demoPeriod}); err != nil {
		return err
	}
	// One county officer overrides an engine A: the employer sent no
	// annual declaration (a B under local practice), with the reason.
	override := func() error {
		found, err := d.find(ctx, province, ratings.StatusReviewed, 1, func(r ratings.RatingView) bool {
			return r.EngineGrade == "A" && strings.Contains(r.Facts, `"submitted":false`)
		})
		if err != nil || len(found) == 0 {
			return err
		}
		r := found[0]
		_, err = d.svc.Confirm(ctx, d.office(r.Region, ratings.RoleCounty), ratings.Ref{ID: r.ID, LockVersion: r.LockVersion}, "B",
			"该单位未按规定报送2025年度书面审查材料，经督促仍未报送，依本地评价细则评为B级")
		return err
	}
	if err := reviewConfirm(demoPeriod, override); err != nil {
		return err
	}
	d.clock.set("2026-03-03")
	_, ends, err = d.svc.Publicize(ctx, province, ratings.PublicizeParams{Period: demoPeriod})
	if err != nil {
		return err
	}
	step(fmt.Sprintf("2025: rated, reviewed (one override), confirmed, publicized to %s", ends), t0)

	// Objections during the publicity: two employers graded C object, and a
	// worker objects to an A.
	t0 = time.Now()
	d.clock.set("2026-03-05")
	// The objectors graded worst: C where there are any, else B.
	var cs []ratings.RatingView
	for _, grade := range []string{"C", "B"} {
		if len(cs) == 2 {
			break
		}
		found, err := d.find(ctx, province, ratings.StatusPublicized, 2-len(cs), func(r ratings.RatingView) bool {
			return r.Grade == grade && r.OverrideReason == nil
		})
		if err != nil {
			return err
		}
		cs = append(cs, found...)
	}
	as, err := d.find(ctx, province, ratings.StatusPublicized, 1, func(r ratings.RatingView) bool { return r.Grade == "A" })
	if err != nil {
		return err
	}
	type filed struct {
		id       int64
		rating   ratings.RatingView
		upheld   bool
		decision string
	}
	var objections []filed
	for i, c := range cs {
		// The employer objects with its own account: no name or contact to give.
		p := ratings.ObjectionParams{RatingID: c.ID, Address: "127.0.0.1",
			By:     &ratings.Actor{Name: "法务部 张律师", Role: ratings.RoleEmployer, Region: c.Region, USCC: c.USCC},
			Reason: "本单位已在责令改正期限内整改完毕并补发工资，不应评为" + c.Grade + "级", Evidence: "整改报告、工资补发银行凭证"}
		decision := "经复核，该单位已按期整改，原评定所依据的情形证据不足，异议成立，退回重新审核"
		if i == 1 {
			p.Reason, p.Evidence = "对评定等级有异议，请求复核", ""
			decision = "经核实，案件事实清楚、证据确凿，维持原评定"
		}
		o, err := d.svc.FileObjection(ctx, p)
		if err != nil {
			return err
		}
		objections = append(objections, filed{o.ID, c, i == 0, decision})
	}
	for _, a := range as {
		o, err := d.svc.FileObjection(ctx, ratings.ObjectionParams{RatingID: a.ID, FiledBy: "职工 王某", Contact: "138 0000 0000",
			Address: "127.0.0.1", Reason: "该单位2025年曾拖欠加班工资", Evidence: "工资条照片"})
		if err != nil {
			return err
		}
		objections = append(objections, filed{o.ID, a, false, "经调取工资支付记录核实，未发现拖欠工资，维持原评定"})
	}
	d.clock.set("2026-03-09")
	for _, o := range objections {
		if err := d.svc.DecideObjection(ctx, d.office(o.rating.Region, ratings.RoleCounty), o.id, o.upheld, o.decision); err != nil {
			return err
		}
		d.objections[0]++
		if o.upheld {
			d.objections[1]++
		} else {
			d.objections[2]++
		}
	}
	if err := publish(ends); err != nil {
		return err
	}
	step(fmt.Sprintf("2025: %s decided; published on %s", plural(len(objections), "objection"), d.clock.date()), t0)

	// Nominations by each city of up to three employers the rule set marks
	// eligible, and the province's decisions: one is turned down.
	t0 = time.Now()
	d.clock.set("2026-03-12")
	var cities []string
	for _, c := range counties {
		if r, ok := d.svc.Regions().Lookup(c); ok && r.Parent != "" && !slices.Contains(cities, r.Parent) {
			cities = append(cities, r.Parent)
		}
	}
	var nominations []int64
	for _, city := range cities {
		actor := d.office(city, ratings.RoleCity)
		found, err := d.find(ctx, actor, ratings.StatusPublished, 3, func(r ratings.RatingView) bool {
			ok, _ := ratings.EligibleFor(r.Result, demoAward)
			return r.Grade == "A" && ok
		})
		if err != nil {
			return err
		}
		for _, r := range found {
			nm, err := d.svc.Nominate(ctx, actor, r.USCC, demoPeriod, demoAward)
			if err != nil {
				return err
			}
			nominations = append(nominations, nm.ID)
			d.nominated++
		}
	}
	d.clock.set("2026-03-16")
	for i, id := range nominations {
		approve, reason := true, ""
		if i == len(nominations)-1 && i > 0 {
			approve, reason = false, "征求行业主管部门意见，该单位存在尚未办结的投诉，本年度暂缓命名"
		}
		if err := d.svc.DecideNomination(ctx, province, id, approve, reason); err != nil {
			return err
		}
		if approve {
			d.approved++
		}
	}
	step(fmt.Sprintf("2025: %d nominated by the cities, %d approved by the province", d.nominated, d.approved), t0)

	// The upheld objection: the county re-examines and confirms a B with the
	// reason, and it goes under publicity again — still there when served.
	t0 = time.Now()
	d.clock.set("2026-03-17")
	for _, o := range objections {
		if !o.upheld {
			continue
		}
		r, err := d.svc.Rating(ctx, province, o.rating.ID)
		if err != nil {
			return err
		}
		office := d.office(r.Region, ratings.RoleCounty)
		better := map[string]string{"C": "B", "B": "A"}[r.EngineGrade]
		if _, err := d.svc.Confirm(ctx, office, ratings.Ref{ID: r.ID, LockVersion: r.LockVersion}, better,
			"异议成立：经复核该单位已在期限内整改并补发工资，原认定情形不成立，改评为"+better+"级"); err != nil {
			return err
		}
		if _, ends, err = d.svc.Publicize(ctx, office, ratings.PublicizeParams{Period: demoPeriod, IDs: []int64{r.ID}}); err != nil {
			return err
		}
		d.republished = r.USCC
	}
	d.clock.set("2026-03-20")
	if d.republished != "" {
		step(fmt.Sprintf("2025: the upheld one re-confirmed a grade better, under publicity again to %s", ends), t0)
	}
	return nil
}

// find returns, in one pass over the list, the first n current ratings of
// the period in the actor's region with the status that match says yes to.
func (d *demo) find(ctx context.Context, a ratings.Actor, status string, n int, match func(ratings.RatingView) bool) ([]ratings.RatingView, error) {
	var out []ratings.RatingView
	for page := 1; len(out) < n; page++ {
		rs, err := d.svc.ListRatings(ctx, a, ratings.RatingFilter{Period: demoPeriod, Status: status, Page: page})
		if err != nil || len(rs) == 0 {
			return out, err
		}
		for _, r := range rs {
			if len(out) < n && match(r) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// count fills the summary's figures and examples from the database.
func (d *demo) count(ctx context.Context) error {
	var rows []struct {
		Period int    `bun:"period"`
		Grade  string `bun:"grade"`
		N      int    `bun:"n"`
	}
	if err := d.svc.DB().NewSelect().Model((*ratings.Rating)(nil)).ColumnExpr("period, grade, count(*) AS n").
		Where("current = ? AND status = ?", true, ratings.StatusPublished).Group("period", "grade").Order("period", "grade").Scan(ctx, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		if d.grades[r.Period] == nil {
			d.grades[r.Period] = map[string]int{}
		}
		d.grades[r.Period][r.Grade] = r.N
	}
	pick := func(grade string) (string, error) {
		page, err := d.svc.SearchPublished(ctx, ratings.PublicQuery{Period: demoPeriod, Grade: grade, PerPage: 1})
		if err != nil || len(page.Items) == 0 {
			return "", err
		}
		return page.Items[0].USCC, nil
	}
	var err error
	if d.examples.a, err = pick("A"); err != nil {
		return err
	}
	if d.examples.c, err = pick("C"); err != nil {
		return err
	}
	roll, err := d.svc.AwardRoll(ctx, demoPeriod, "")
	if err != nil {
		return err
	}
	if len(roll) > 0 {
		d.examples.award = roll[0].USCC
	}
	return nil
}

// print writes the summary: figures, where to look, and the demo keys.
func (d *demo) print(w io.Writer, base string) {
	fmt.Fprintf(w, "\nloaded in %.1f s; the demo's clock reads %s, during the 2026 rating round\n\n", d.took.Seconds(), d.clock.date())
	for _, p := range []int{demoPeriod - 1, demoPeriod} {
		g := d.grades[p]
		fmt.Fprintf(w, "  period %d published: A %d · B %d · C %d\n", p, g["A"], g["B"], g["C"])
	}
	fmt.Fprintf(w, "  objections: %d filed, %d upheld, %d rejected; 最佳诚信单位: %d nominated, %d approved\n",
		d.objections[0], d.objections[1], d.objections[2], d.nominated, d.approved)
	if d.republished != "" {
		fmt.Fprintf(w, "  under publicity again after an upheld objection: %s\n", d.republished)
	}
	fmt.Fprintf(w, "\nThe public site:\n  %s/                      search\n", base)
	if d.examples.c != "" {
		fmt.Fprintf(w, "  %s/employers/%s   an employer graded C, with the reasons\n", base, d.examples.c)
	}
	fmt.Fprintf(w, "  %s/awards?period=%d      the award roll (最佳诚信单位)\n", base, demoPeriod)
	fmt.Fprintf(w, "  %s/statistics             grades by region and period\n", base)
	fmt.Fprintf(w, "  %s/publicity              ratings under publicity, and how to object\n", base)
	fmt.Fprintf(w, "\nThe API (OpenAPI at %s/api/v1/openapi.json):\n", base)
	if d.examples.a != "" {
		fmt.Fprintf(w, "  curl -s %s/api/v1/public/ratings/%s\n", base, d.examples.a)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/credit/%s\n", d.key, base, d.examples.a)
	}
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/api/v1/ratings?period=%d&status=publicized'\n", d.token, base, demoPeriod)
	fmt.Fprintf(w, "\nDemo keys (shown once; the database is %s):\n", ratings.Redact(d.url))
	fmt.Fprintf(w, "  officer token (湖北省人社厅, province):   %s\n", d.token)
	fmt.Fprintf(w, "  officer token (江岸区, county 420102):   %s\n", d.countyToken)
	fmt.Fprintf(w, "  credit-sharing API key (演示银行, bank): %s\n", d.key)
}
