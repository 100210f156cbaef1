package admin

import (
	"errors"
	"strings"
	"time"
)

// jsDateLayout is the text of JavaScript's Date.prototype.toString without
// the zone name in brackets that follows it, for example
// "Thu Dec 04 2025 16:32:00 GMT+0100".
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

var errDateFormat = errors.New("invalid date: use RFC 3339 (2025-12-04T16:32:00Z), " +
	"a date (2025-12-04) or the text of JavaScript's Date.toString()")

// parseDateValue parses a date sent in a filter and returns the interval
// [start, end) of the times it names, in UTC. The interval is as wide as the
// precision of the text: a second for Date.toString() and RFC 3339 without a
// fraction, a day for a bare date, the last fraction digit otherwise. The
// store keeps milliseconds, so a finer precision is widened to the
// millisecond that contains the time.
func parseDateValue(s string) (start, end time.Time, err error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		precision := fractionPrecision(s)
		start := t.UTC().Truncate(precision)
		return start, start.Add(precision), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC1123, s); err == nil {
		// Date.toUTCString() text.
		return t.UTC(), t.UTC().Add(time.Second), nil
	}
	text, _, _ := strings.Cut(s, " (")
	if t, err := time.Parse(jsDateLayout, text); err == nil {
		return t.UTC(), t.UTC().Add(time.Second), nil
	}
	return time.Time{}, time.Time{}, errDateFormat
}

// fractionPrecision returns the unit of the last fraction digit of an
// RFC 3339 time, at least a millisecond, or a second when it has no
// fraction.
func fractionPrecision(s string) time.Duration {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return time.Second
	}
	digits := 0
	for _, r := range s[dot+1:] {
		if r < '0' || r > '9' {
			break
		}
		digits++
	}
	precision := time.Second
	for range digits {
		precision /= 10
	}
	return max(precision, time.Millisecond)
}
