package ratings

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"time"
)

//go:embed holidays.txt
var holidaysTxt string

// Calendar tells working days from rest days: Monday to Friday work,
// Saturday and Sunday rest, except the listed public holidays and make-up
// working days (调休).
type Calendar struct {
	days map[string]bool // date → is a working day, for listed dates
}

// DefaultCalendar returns the embedded official calendar (holidays.txt).
func DefaultCalendar() (*Calendar, error) { return ParseCalendar(holidaysTxt) }

// ParseCalendar reads a calendar file: lines "YYYY-MM-DD off|work [name]";
// # starts a comment. Errors name the line.
func ParseCalendar(text string) (*Calendar, error) {
	c := &Calendar{days: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("calendar line %d: want \"YYYY-MM-DD off|work [name]\", got %q", n, line)
		}
		if _, err := time.Parse(time.DateOnly, f[0]); err != nil {
			return nil, fmt.Errorf("calendar line %d: %q is not a date", n, f[0])
		}
		if _, dup := c.days[f[0]]; dup {
			return nil, fmt.Errorf("calendar line %d: %s is listed twice", n, f[0])
		}
		switch f[1] {
		case "off":
			c.days[f[0]] = false
		case "work":
			c.days[f[0]] = true
		default:
			return nil, fmt.Errorf("calendar line %d: kind %q is neither off nor work", n, f[1])
		}
	}
	return c, sc.Err()
}

// WorkingDay reports whether day (its date, in any location) is a working day.
func (c *Calendar) WorkingDay(day time.Time) bool {
	if w, ok := c.days[day.Format(time.DateOnly)]; ok {
		return w
	}
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays returns the date of the n-th working day after from (from
// itself does not count): a publicity period of n working days that starts
// the day after from ends at the end of that day.
func (c *Calendar) AddWorkingDays(from time.Time, n int) time.Time {
	d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.WorkingDay(d) {
			n--
		}
	}
	return d
}
