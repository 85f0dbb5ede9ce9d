package ratings

import (
	"bufio"
	_ "embed"
	"fmt"
	"os"
	"strings"
	"time"
)

//go:embed holidays.txt
var holidaysTxt string

// Calendar tells working days from rest days: Monday to Friday work,
// Saturday and Sunday rest, except the listed public holidays and make-up
// working days (调休).
type Calendar struct {
	days  map[string]bool // date → is a working day, for listed dates
	years map[int]bool    // years with entries: the calendar knows them
}

// DefaultCalendar returns the embedded official calendar (holidays.txt).
func DefaultCalendar() (*Calendar, error) { return ParseCalendar(holidaysTxt) }

// ParseCalendar reads a calendar file: lines "YYYY-MM-DD off|work [name]";
// # starts a comment. Errors name the line.
func ParseCalendar(text string) (*Calendar, error) {
	c := &Calendar{days: map[string]bool{}, years: map[int]bool{}}
	if err := c.add(text); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCalendar returns the embedded calendar, plus the entries of the file
// at path when path is not "" (LABORCREDIT_CALENDAR): a deployment adds
// each new year's schedule there as the State Council publishes it.
func LoadCalendar(path string) (*Calendar, error) {
	c, err := DefaultCalendar()
	if err != nil || path == "" {
		return c, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if err := c.add(string(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Covers reports whether the calendar has the holiday schedule of a year.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

func (c *Calendar) add(text string) error {
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("calendar line %d: want \"YYYY-MM-DD off|work [name]\", got %q", n, line)
		}
		d, err := time.Parse(time.DateOnly, f[0])
		if err != nil {
			return fmt.Errorf("calendar line %d: %q is not a date", n, f[0])
		}
		if _, dup := c.days[f[0]]; dup {
			return fmt.Errorf("calendar line %d: %s is listed twice", n, f[0])
		}
		switch f[1] {
		case "off":
			c.days[f[0]] = false
		case "work":
			c.days[f[0]] = true
		default:
			return fmt.Errorf("calendar line %d: kind %q is neither off nor work", n, f[1])
		}
		c.years[d.Year()] = true
	}
	return sc.Err()
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
