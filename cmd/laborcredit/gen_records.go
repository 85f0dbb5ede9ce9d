package main

import "strconv"

// period writes employer i's records of period index py: its annual
// review, cases, complaints and wage deposit.
func (g *generator) period(i, py int) {
	y := g.first + py
	g.reseed(uint64(i), uint64(y)<<2|2)
	e := &g.emp
	rng := g.rng

	// Annual review: about 92% submitted, 88% of those on time; of the
	// rest 70% have no row at all and 30% a row with submitted=false.
	submitted := rng.Float64() < genKinds[e.kind].submitted
	if submitted || rng.Float64() < 0.3 {
		r := append(g.row[:0], e.uscc[:]...)
		r = append(r, ',')
		r = strconv.AppendInt(r, int64(y), 10)
		r = append(r, ',')
		r = appendBool(r, submitted)
		r = append(r, ',')
		r = appendBool(r, submitted && rng.Float64() < 0.88)
		if submitted {
			n := e.employees
			if py < g.years-1 { // earlier years: the workforce drifts
				n = max(1, int(float64(n)*(0.85+0.2*rng.Float64())))
			}
			contracts, insured := n, n
			if rng.Float64() < 0.10 {
				contracts -= 1 + rng.IntN(max(1, n/5))
			}
			if rng.Float64() < 0.18 {
				insured -= 1 + rng.IntN(max(1, n*3/10))
			}
			r = append(r, ',')
			r = strconv.AppendInt(r, int64(n), 10)
			r = append(r, ',')
			r = strconv.AppendInt(r, int64(max(0, contracts)), 10)
			r = append(r, ',')
			r = strconv.AppendInt(r, int64(max(0, insured)), 10)
			r = append(r, ',')
			r = appendBool(r, rng.Float64() < 0.93)
		} else {
			r = append(r, ",,,,"...)
		}
		g.writeRow(fileReviews, r)
	}

	// Cases.
	nc := 0
	if rng.Float64() < min(0.9, genViolationRate*e.mult) {
		n := 1
		switch u := rng.Float64(); {
		case u < 0.006:
			n = 4
		case u < 0.03:
			n = 3
		case u < 0.11:
			n = 2
		}
		serious := seriousNone
		if rng.Float64() < genSeriousRate {
			serious = genSerious[g.pick(g.seriousCum)].kind
		}
		for j := range n {
			s := seriousNone
			if j == 0 {
				s = serious
			}
			g.violationCase(&g.cases[nc], y, s)
			nc++
		}
	}
	if rng.Float64() < genNoViolationRate*e.mult {
		c := &g.cases[nc]
		nc++
		*c = genCase{source: genSources[g.pick(g.sourceCum)].source, outcome: "no_violation"}
		dur := 5 + rng.IntN(36)
		c.opened = rng.IntN(daysInYear(y) - dur)
		c.concluded = c.opened + dur
	}
	if rng.Float64() < genOpenRate*e.mult {
		c := &g.cases[nc]
		nc++
		*c = genCase{source: genSources[g.pick(g.sourceCum)].source, outcome: "pending", concluded: -1}
		c.opened = daysInYear(y) - 1 - rng.IntN(75)
	}
	for j := range nc {
		g.writeCase(&g.cases[j], y, py)
	}

	// Complaints that led to no case.
	if rng.Float64() < genComplaintRate*e.mult {
		n := 1
		if u := rng.Float64(); u < 0.02 {
			n = 3
		} else if u < 0.12 {
			n = 2
		}
		for range n {
			g.writeComplaint(y, py, rng.IntN(daysInYear(y)))
		}
	}

	// Wage-guarantee deposits: builders must pay one unless exempt (some
	// local rules exempt three A years running), some mines too; about
	// 80% of those required have paid. Employers without an obligation or
	// exemption get no row.
	required, record := false, false
	switch e.industry.id {
	case "construction":
		record, required = true, rng.Float64() < 0.9
	case "mining":
		record = rng.Float64() < 0.35
		required = record
	}
	if record {
		r := append(g.row[:0], e.uscc[:]...)
		r = append(r, ',')
		r = strconv.AppendInt(r, int64(y), 10)
		r = append(r, ',')
		r = appendBool(r, required)
		r = append(r, ',')
		r = appendBool(r, required && rng.Float64() < 0.8)
		g.writeRow(fileDeposits, r)
	}
}

// violationCase fills c with a concluded case that found violations, in
// the serious situation s (seriousNone for none).
func (g *generator) violationCase(c *genCase, y, s int) {
	rng := g.rng
	e := &g.emp
	if s == seriousMassIncident && e.employees < 10 {
		s = seriousOrderRefused // a mass incident needs a crowd
	}
	*c = genCase{source: genSources[g.pick(g.sourceCum)].source, outcome: "rectified"}
	if s != seriousNone || rng.Float64() < 0.25 {
		c.outcome = "penalized"
	}
	switch s {
	case seriousChildLabor:
		c.viol[0], c.nviol = "child_labor", 1
	case seriousForcedLabor:
		c.viol[0], c.nviol = "forced_labor", 1
	case seriousMassIncident, seriousImpact, seriousCriminal:
		c.viol[0], c.nviol = "wage_arrears", 1
	}
	n := 1
	if u := rng.Float64(); u < 0.05 {
		n = 3
	} else if u < 0.30 {
		n = 2
	}
	for c.nviol < n {
		v := genViolations[g.pick(g.violCum)].code
		dup := false
		for _, have := range c.viol[:c.nviol] {
			dup = dup || have == v
		}
		if !dup {
			c.viol[c.nviol] = v
			c.nviol++
		}
	}
	switch s {
	case seriousOrderRefused:
		c.flags[0] = true
	case seriousObstructed:
		c.flags[1] = true
	case seriousMassIncident:
		c.flags[2] = true
	case seriousImpact:
		c.flags[3] = true
	case seriousCriminal:
		c.flags[4] = true
	}

	// Workers affected and wages paid back: log-uniform up to a cap that
	// depends on the violation and the trade (construction crews are large).
	wages, minWage := false, false
	for _, v := range c.viol[:c.nviol] {
		wages = wages || v == "wage_arrears"
		minWage = minWage || v == "below_min_wage"
	}
	capW := 10.0
	switch {
	case wages && e.industry.id == "construction":
		capW = 200
	case wages || minWage:
		capW = 40
	case c.viol[0] == "no_contract" || c.viol[0] == "social_insurance":
		capW = 50
	}
	c.workers = min(e.employees, int(g.logUniform(1, capW+1)))
	if s == seriousMassIncident || s == seriousImpact {
		c.workers = min(e.employees, max(c.workers, 10+rng.IntN(60)))
	}
	switch {
	case wages:
		monthly := int64(2500 + 100*rng.IntN(66)) // 2,500–9,000 yuan
		months := int64(1 + rng.IntN(6))
		c.backWages = int64(c.workers) * monthly * months
		if s == seriousCriminal {
			c.backWages = max(c.backWages, int64(20000+100*rng.IntN(800)))
		}
	case minWage:
		c.backWages = int64(c.workers) * int64(100+10*rng.IntN(70)) * int64(1+rng.IntN(12))
	}

	dur := 10 + rng.IntN(81)
	if s != seriousNone {
		dur = 30 + rng.IntN(121)
	}
	c.opened = rng.IntN(daysInYear(y) - dur)
	c.concluded = c.opened + dur
}

// writeCase writes one case and, for a case that started from a complaint,
// the complaint (several for a mass incident), received up to ten days
// before the case was opened.
func (g *generator) writeCase(c *genCase, y, py int) {
	e := &g.emp
	seq := &g.caseSeq[e.region*g.years+py]
	*seq++
	code := g.regions[e.region].code
	r := append(g.row[:0], code...)
	r = append(r, '-')
	r = strconv.AppendInt(r, int64(y), 10)
	r = append(r, '-')
	r = appendSeq(r, *seq, 6)
	r = append(r, ',')
	r = append(r, e.uscc[:]...)
	r = append(r, ',')
	r = append(r, c.source...)
	r = append(r, ',')
	r = appendDate(r, y, c.opened)
	r = append(r, ',')
	if c.concluded >= 0 {
		r = appendDate(r, y, c.concluded)
	}
	r = append(r, ',')
	r = append(r, c.outcome...)
	r = append(r, ',')
	for j, v := range c.viol[:c.nviol] {
		if j > 0 {
			r = append(r, ';')
		}
		r = append(r, v...)
	}
	for _, f := range c.flags {
		r = append(r, ',')
		r = appendBool(r, f)
	}
	r = append(r, ',')
	r = strconv.AppendInt(r, c.backWages, 10)
	r = append(r, ',')
	r = strconv.AppendInt(r, int64(c.workers), 10)
	g.writeRow(fileCases, r)

	if c.source != "complaint" {
		return
	}
	n := 1
	if c.flags[2] {
		n = 2 + g.rng.IntN(4)
	}
	for range n {
		g.writeComplaint(y, py, max(0, c.opened-1-g.rng.IntN(10)))
	}
}

// writeComplaint writes one complaint received on day doy of year y.
func (g *generator) writeComplaint(y, py, doy int) {
	e := &g.emp
	seq := &g.complaintSeq[e.region*g.years+py]
	*seq++
	r := append(g.row[:0], "TS"...)
	r = append(r, g.regions[e.region].code...)
	r = append(r, '-')
	r = strconv.AppendInt(r, int64(y), 10)
	r = append(r, '-')
	r = appendSeq(r, *seq, 6)
	r = append(r, ',')
	r = append(r, e.uscc[:]...)
	r = append(r, ',')
	r = appendDate(r, y, doy)
	g.writeRow(fileComplaints, r)
}
