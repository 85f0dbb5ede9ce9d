package ratings_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"laborcredit/ratings"
)

var calChina = time.FixedZone("CST", 8*3600)

// calDay parses a date at midnight UTC.
func calDay(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

func TestParseCalendarErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		wantErr string // "" parses
	}{
		{name: "comments, blank lines, names and CRLF", text: "# 2026\r\n\r\n2026-01-01 off 元旦\r\n  2026-01-04   work   元旦 调休  \r\n"},
		{name: "empty", text: ""},
		{name: "bad date", text: "2026-01-01 off\n2026-13-01 off\n", wantErr: `calendar line 2: "2026-13-01" is not a date`},
		{name: "date without padding, after a comment and a blank line", text: "# header\n\n2026-1-5 work\n", wantErr: `calendar line 3: "2026-1-5" is not a date`},
		{name: "a day February does not have", text: "2026-02-30 off\n", wantErr: `calendar line 1: "2026-02-30" is not a date`},
		{name: "unknown kind", text: "2026-01-01 holiday 元旦\n", wantErr: `calendar line 1: kind "holiday" is neither off nor work`},
		{name: "kind in capitals", text: "# x\n2026-01-01 OFF\n", wantErr: `calendar line 2: kind "OFF" is neither off nor work`},
		{name: "duplicate date", text: "2026-01-01 off 元旦\n2026-01-02 off 元旦\n# again\n2026-01-01 work\n", wantErr: "calendar line 4: 2026-01-01 is listed twice"},
		{name: "duplicate date, same kind", text: "2026-01-01 off\n2026-01-01 off\n", wantErr: "calendar line 2: 2026-01-01 is listed twice"},
		{name: "kind missing", text: "\n2026-01-01\n", wantErr: `calendar line 2: want "YYYY-MM-DD off|work [name]", got "2026-01-01"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ratings.ParseCalendar(tt.text)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.EqualError(t, err, tt.wantErr)
			require.Nil(t, c)
		})
	}
}

func TestWorkingDay(t *testing.T) {
	t.Parallel()
	cal, err := ratings.DefaultCalendar()
	require.NoError(t, err)
	tests := []struct {
		name string
		day  time.Time
		want bool
	}{
		{name: "Tuesday", day: calDay(t, "2026-03-03"), want: true},
		{name: "Saturday", day: calDay(t, "2026-03-07")},
		{name: "Sunday", day: calDay(t, "2026-03-08")},
		{name: "National Day, a Thursday", day: calDay(t, "2026-10-01")},
		{name: "Spring Festival Monday", day: calDay(t, "2026-02-16")},
		{name: "Dragon Boat Festival, a Friday", day: calDay(t, "2026-06-19")},
		{name: "Mid-Autumn Festival, a Friday", day: calDay(t, "2026-09-25")},
		{name: "make-up Saturday before the Spring Festival", day: calDay(t, "2026-02-14"), want: true},
		{name: "make-up Saturday after the Spring Festival", day: calDay(t, "2026-02-28"), want: true},
		{name: "make-up Sunday before National Day", day: calDay(t, "2026-09-20"), want: true},
		{name: "make-up Sunday of 2025", day: calDay(t, "2025-01-26"), want: true},
		{name: "a Monday of a year the file does not list", day: calDay(t, "2031-03-03"), want: true},
		// The date is read in the time's own location: Monday 07:00 in
		// China is still Sunday in UTC.
		{name: "Monday morning in China", day: time.Date(2026, 3, 9, 7, 0, 0, 0, calChina), want: true},
		{name: "the same instant in UTC, a Sunday", day: time.Date(2026, 3, 9, 7, 0, 0, 0, calChina).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cal.WorkingDay(tt.day), tt.day.Format(time.RFC3339))
		})
	}
}

func TestAddWorkingDays(t *testing.T) {
	t.Parallel()
	cal, err := ratings.DefaultCalendar()
	require.NoError(t, err)
	tests := []struct {
		name string
		from time.Time
		n    int
		want string
	}{
		{name: "Thursday before the Spring Festival, with a make-up Saturday", from: calDay(t, "2026-02-12"), n: 5, want: "2026-02-26"},
		{name: "after the Spring Festival, with a make-up Saturday", from: calDay(t, "2026-02-24"), n: 5, want: "2026-03-02"},
		{name: "make-up Sunday and the Mid-Autumn Festival", from: calDay(t, "2026-09-18"), n: 7, want: "2026-09-29"},
		{name: "across National Day and its make-up Saturday", from: calDay(t, "2026-09-30"), n: 5, want: "2026-10-13"},
		{name: "across National Day 2025", from: calDay(t, "2025-09-26"), n: 5, want: "2025-10-10"},
		{name: "plain week", from: calDay(t, "2026-03-02"), n: 5, want: "2026-03-09"},
		{name: "zero is the same day", from: calDay(t, "2026-03-03"), n: 0, want: "2026-03-03"},
		{name: "zero on a holiday is still that day", from: calDay(t, "2026-10-01"), n: 0, want: "2026-10-01"},
		{name: "across the year end and New Year", from: calDay(t, "2025-12-29"), n: 5, want: "2026-01-06"},
		{name: "New Year's Eve to the make-up Sunday", from: calDay(t, "2025-12-31"), n: 1, want: "2026-01-04"},
		{name: "from a Saturday", from: calDay(t, "2026-03-07"), n: 1, want: "2026-03-09"},
		{name: "from late evening in China counts from that date", from: time.Date(2026, 2, 12, 23, 30, 0, 0, calChina), n: 5, want: "2026-02-26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := cal.AddWorkingDays(tt.from, tt.n)
			require.Equal(t, tt.want, got.Format(time.DateOnly))
			require.True(t, tt.n == 0 || cal.WorkingDay(got), "the last day of a period is a working day")
		})
	}
}

// TestHolidaysFile checks the embedded calendar's data: dates in order,
// every make-up working day on a weekend and every listed holiday on a
// weekday (a weekend holiday would say nothing), each with a name.
func TestHolidaysFile(t *testing.T) {
	t.Parallel()
	f, err := os.Open("holidays.txt")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	prev := ""
	years := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.GreaterOrEqual(t, len(fields), 3, "line %d has no name", n)
		d := calDay(t, fields[0])
		require.Greater(t, fields[0], prev, "line %d is out of order", n)
		prev = fields[0]
		weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		switch fields[1] {
		case "work":
			require.True(t, weekend, "line %d: make-up working day %s is a %s", n, fields[0], d.Weekday())
		case "off":
			require.False(t, weekend, "line %d: holiday %s is a %s, a rest day anyway", n, fields[0], d.Weekday())
		}
		years[fields[0][:4]]++
	}
	require.NoError(t, sc.Err())
	require.Contains(t, years, "2025")
	require.Contains(t, years, "2026")
}
