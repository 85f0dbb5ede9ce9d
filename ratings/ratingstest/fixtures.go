package ratingstest

import (
	"fmt"
	"sync"
	"time"

	"laborcredit/engine"
)

// Clock is a settable NowFunc for tests, safe for concurrent use. The zero
// value reads the zero time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// chinaTime is UTC+8, the time of the authority's calendar.
var chinaTime = time.FixedZone("CST", 8*3600)

// Now reads the clock (its NowFunc).
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to 10:00 China time (02:00 UTC) on a date
// (YYYY-MM-DD); a bad date panics.
func (c *Clock) Set(date string) {
	d, err := time.ParseInLocation(time.DateOnly, date, chinaTime)
	if err != nil {
		panic(err)
	}
	c.SetTime(d.Add(10 * time.Hour))
}

// SetDateTime moves the clock to a China time of day ("YYYY-MM-DD
// HH:MM:SS"); a bad time panics.
func (c *Clock) SetDateTime(datetime string) {
	d, err := time.ParseInLocation(time.DateTime, datetime, chinaTime)
	if err != nil {
		panic(err)
	}
	c.SetTime(d)
}

// SetTime moves the clock to t.
func (c *Clock) SetTime(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Code makes a valid unified social credit code of an enterprise (91…) in
// a region from an 8-character organisation stem: both check characters
// (GB 11714 and GB 32100) right. A stem outside the code's alphabet panics.
func Code(region, stem string) string {
	oc, err := engine.OrgCheckChar(stem)
	if err != nil {
		panic(err)
	}
	first := "91" + region + stem + string(oc)
	c, err := engine.USCCCheckChar(first)
	if err != nil {
		panic(err)
	}
	return first + string(c)
}

// CodeN is Code with the stem "MA" and n in six digits, the codes the
// test fixtures use.
func CodeN(region string, n int) string { return Code(region, fmt.Sprintf("MA%06d", n)) }
