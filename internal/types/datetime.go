package types

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // AT TIME ZONE must not depend on the host's zone files

	"github.com/cockroachdb/apd/v3"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// The session time zone is UTC (sqlfront reports TimeZone = UTC and has no
// SET TimeZone), so a timestamptz is µs since the epoch shown in UTC.

var timestampRE = regexp.MustCompile(`^(\d{4,})-(\d{1,2})-(\d{1,2})(?:(?:[ t]+|t)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?\s*(z|utc|gmt|[+-]\d{1,2}(?::?\d{2})?)?$`)

// parseTimestamp reads "YYYY-MM-DD[ HH:MM[:SS[.frac]]][zone]" and returns
// µs since the epoch; a zone is applied only when withZone is true (a
// timestamp without time zone ignores it, as PostgreSQL does).
func parseTimestamp(s string, withZone bool) (int64, bool, error) {
	now := func() int64 { return time.Now().UnixMicro() }
	today := func(days int64) int64 { return (floorDiv(now(), MicrosPerDay) + days) * MicrosPerDay }
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "epoch":
		return 0, false, nil
	case "infinity", "+infinity":
		return PosInfinity, false, nil
	case "-infinity":
		return NegInfinity, false, nil
	case "now":
		return now(), true, nil
	case "today":
		return today(0), false, nil
	case "tomorrow":
		return today(1), false, nil
	case "yesterday":
		return today(-1), false, nil
	}
	m := timestampRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false, errSyntax
	}
	num := func(i int) int {
		v, _ := strconv.Atoi(m[i])
		return v
	}
	y, mo, d := num(1), num(2), num(3)
	h, mi, sec := num(4), num(5), num(6)
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, time.Month(mo)) || h > 24 || mi > 59 || sec > 60 ||
		(h == 24 && (mi != 0 || sec != 0)) {
		return 0, false, pgerr.New(pgerr.DatetimeFieldOverflow, "date/time field value out of range: \"%s\"", s)
	}
	var frac int64
	if m[7] != "" {
		f, _ := strconv.ParseFloat("0."+m[7], 64)
		frac = int64(math.RoundToEven(f * 1e6))
	}
	us := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).UnixMicro() + frac
	if withZone && m[8] != "" && m[8] != "z" && m[8] != "utc" && m[8] != "gmt" {
		z := m[8]
		sign := int64(1)
		if z[0] == '-' {
			sign = -1
		}
		z = strings.ReplaceAll(z[1:], ":", "")
		var zh, zm int
		if len(z) <= 2 {
			zh, _ = strconv.Atoi(z)
		} else {
			zh, _ = strconv.Atoi(z[:len(z)-2])
			zm, _ = strconv.Atoi(z[len(z)-2:])
		}
		us -= sign * (int64(zh)*MicrosPerHour + int64(zm)*MicrosPerMinute)
	}
	return us, m[4] != "", nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func badDatetime(t T, s string) error {
	return pgerr.New(InvalidDatetimeFormat, "invalid input syntax for type %s: \"%s\"", t, s)
}

// The infinite timestamps and dates ('infinity', '-infinity'): the
// extremes of int64, which sort and key-encode at the ends.
const (
	PosInfinity = math.MaxInt64
	NegInfinity = math.MinInt64
)

// IsInfinite reports whether a timestamp (µs) or date (days) is infinite.
func IsInfinite(v int64) bool { return v == PosInfinity || v == NegInfinity }

// DateToMicros converts a date (days) to a timestamp (µs), keeping infinities.
func DateToMicros(days int64) int64 {
	if IsInfinite(days) {
		return days
	}
	return days * MicrosPerDay
}

// MicrosToDate converts a timestamp (µs) to a date (days), keeping infinities.
func MicrosToDate(us int64) int64 {
	if IsInfinite(us) {
		return us
	}
	return floorDiv(us, MicrosPerDay)
}

// AddMonths adds months to a timestamp (µs), clamping the day to the end
// of the resulting month as PostgreSQL does ('2024-01-31' + 1 mon = '2024-02-29').
func AddMonths(us int64, months int32) int64 {
	if months == 0 {
		return us
	}
	t := time.UnixMicro(us).UTC()
	y, m, d := t.Date()
	total := y*12 + int(m) - 1 + int(months)
	ny, nm := floorDivInt(total, 12), time.Month(total-floorDivInt(total, 12)*12+1)
	d = min(d, daysIn(ny, nm))
	day := time.Date(ny, nm, d, 0, 0, 0, 0, time.UTC).UnixMicro()
	return day + (us - floorDiv(us, MicrosPerDay)*MicrosPerDay)
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }

// AddSpanToTimestamp returns us + v (months first, then days, then time).
func AddSpanToTimestamp(us int64, v Span) (int64, error) {
	if IsInfinite(us) {
		return us, nil
	}
	r := AddMonths(us, v.Months) + int64(v.Days)*MicrosPerDay + v.Micros
	if r < minTimestamp || r > maxTimestamp {
		return 0, pgerr.New(pgerr.DatetimeFieldOverflow, "timestamp out of range")
	}
	return r, nil
}

// The range of timestamps arithmetic may produce: 4714 BC (PostgreSQL's
// lower bound) to about the year 287000 (below PostgreSQL's 294276, well
// inside int64).
const (
	minTimestamp = -210866803200000000
	maxTimestamp = 9000000000000000000
)

// SubTimestamps returns a - b as an interval of days and time (timestamp_mi).
func SubTimestamps(a, b int64) (Span, error) {
	if IsInfinite(a) || IsInfinite(b) {
		return Span{}, pgerr.New(pgerr.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
	}
	return JustifyHours(Span{Micros: a - b}), nil
}

// canonicalUnit maps the unit names date_trunc and extract accept.
func canonicalUnit(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	switch u {
	case "microsecond", "microseconds", "us", "usec", "usecs", "useconds":
		return "microseconds"
	case "millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds":
		return "milliseconds"
	case "second", "seconds", "s", "sec", "secs":
		return "second"
	case "minute", "minutes", "m", "min", "mins":
		return "minute"
	case "hour", "hours", "h", "hr", "hrs":
		return "hour"
	case "day", "days", "d":
		return "day"
	case "week", "weeks", "w":
		return "week"
	case "month", "months", "mon", "mons":
		return "month"
	case "quarter", "qtr":
		return "quarter"
	case "year", "years", "y", "yr", "yrs":
		return "year"
	case "decade", "decades", "dec", "decs":
		return "decade"
	case "century", "centuries", "c", "cent":
		return "century"
	case "millennium", "millennia", "mil", "mils", "millenniums":
		return "millennium"
	}
	return u
}

func badUnit(unit string, t T) error {
	name := t.String()
	if t.Family == TimestampFamily {
		name = "timestamp without time zone"
	}
	return pgerr.New(pgerr.InvalidParameterValue, "unit \"%s\" not recognized for type %s", unit, name)
}

// TruncTimestamp is date_trunc on a timestamp (µs since the epoch, UTC).
func TruncTimestamp(unit string, us int64, t T) (int64, error) {
	if IsInfinite(us) {
		return us, nil
	}
	tm := time.UnixMicro(us).UTC()
	y, mo, d := tm.Date()
	h, mi, s := tm.Clock()
	frac := us - floorDiv(us, MicrosPerSecond)*MicrosPerSecond
	switch canonicalUnit(unit) {
	case "microseconds":
		return us, nil
	case "milliseconds":
		frac -= frac % 1000
	case "second":
		frac = 0
	case "minute":
		s, frac = 0, 0
	case "hour":
		mi, s, frac = 0, 0, 0
	case "day":
		h, mi, s, frac = 0, 0, 0, 0
	case "week":
		wd := (int(tm.Weekday()) + 6) % 7 // days since Monday
		start := time.Date(y, mo, d-wd, 0, 0, 0, 0, time.UTC)
		return start.UnixMicro(), nil
	case "month":
		d, h, mi, s, frac = 1, 0, 0, 0, 0
	case "quarter":
		mo = (mo-1)/3*3 + 1
		d, h, mi, s, frac = 1, 0, 0, 0, 0
	case "year":
		mo, d, h, mi, s, frac = 1, 1, 0, 0, 0, 0
	case "decade":
		y = y - y%10
		mo, d, h, mi, s, frac = 1, 1, 0, 0, 0, 0
	case "century":
		y = (y+99)/100*100 - 99
		mo, d, h, mi, s, frac = 1, 1, 0, 0, 0, 0
	case "millennium":
		y = (y+999)/1000*1000 - 999
		mo, d, h, mi, s, frac = 1, 1, 0, 0, 0, 0
	default:
		return 0, badUnit(unit, t)
	}
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC).UnixMicro() + frac, nil
}

// TruncSpan is date_trunc on an interval.
func TruncSpan(unit string, v Span) (Span, error) {
	years, mons := int64(v.Months/12), int64(v.Months%12)
	days := int64(v.Days)
	us := v.Micros
	h, mi, s, frac := us/MicrosPerHour, us/MicrosPerMinute%60, us/MicrosPerSecond%60, us%MicrosPerSecond
	switch canonicalUnit(unit) {
	case "microseconds":
	case "milliseconds":
		frac -= frac % 1000
	case "second":
		frac = 0
	case "minute":
		s, frac = 0, 0
	case "hour":
		mi, s, frac = 0, 0, 0
	case "day":
		h, mi, s, frac = 0, 0, 0, 0
	case "month":
		days, h, mi, s, frac = 0, 0, 0, 0, 0
	case "quarter":
		mons = mons / 3 * 3
		days, h, mi, s, frac = 0, 0, 0, 0, 0
	case "year", "decade", "century", "millennium":
		div := map[string]int64{"year": 1, "decade": 10, "century": 100, "millennium": 1000}[canonicalUnit(unit)]
		years = years / div * div
		mons, days, h, mi, s, frac = 0, 0, 0, 0, 0, 0
	case "week":
		return Span{}, pgerr.New(pgerr.FeatureNotSupported, "interval units \"%s\" not supported because months usually have fractional weeks", unit)
	default:
		return Span{}, badUnit(unit, Interval)
	}
	return Span{Months: int32(years*12 + mons), Days: int32(days), Micros: h*MicrosPerHour + mi*MicrosPerMinute + s*MicrosPerSecond + frac}, nil
}

// scaled returns v / 10^scale as a numeric with that many decimals.
func scaled(v int64, scale int32) Datum {
	return NewDecimal(apd.New(v, -scale))
}

// ExtractTimestamp is extract(unit from ts) for timestamp, timestamptz and
// date (isDate): PostgreSQL 15 returns numeric.
func ExtractTimestamp(unit string, us int64, t T) (Datum, error) {
	isDate := t.Family == DateFamily
	if IsInfinite(us) {
		switch canonicalUnit(unit) {
		case "epoch", "year", "decade", "century", "millennium", "isoyear", "julian":
			return NewDecimal(&apd.Decimal{Form: apd.Infinite, Negative: us < 0}), nil
		}
		return Null, nil
	}
	tm := time.UnixMicro(us).UTC()
	y, mo, d := tm.Date()
	h, mi, s := tm.Clock()
	frac := us - floorDiv(us, MicrosPerSecond)*MicrosPerSecond
	u := canonicalUnit(unit)
	switch u {
	case "microseconds", "milliseconds", "second", "minute", "hour":
		if isDate {
			return Null, pgerr.New(pgerr.FeatureNotSupported, "unit \"%s\" not supported for type date", unit)
		}
	}
	n := func(v int) (Datum, error) { return scaled(int64(v), 0), nil }
	switch u {
	case "microseconds":
		return scaled(int64(s)*1e6+frac, 0), nil
	case "milliseconds":
		return scaled(int64(s)*1e6+frac, 3), nil
	case "second":
		return scaled(int64(s)*1e6+frac, 6), nil
	case "minute":
		return n(mi)
	case "hour":
		return n(h)
	case "day":
		return n(d)
	case "month":
		return n(int(mo))
	case "quarter":
		return n((int(mo)-1)/3 + 1)
	case "year":
		return n(y)
	case "decade":
		return n(y / 10)
	case "century":
		return n((y + 99) / 100)
	case "millennium":
		return n((y + 999) / 1000)
	case "week":
		_, w := tm.ISOWeek()
		return n(w)
	case "isoyear":
		iy, _ := tm.ISOWeek()
		return n(iy)
	case "dow":
		return n(int(tm.Weekday()))
	case "isodow":
		return n((int(tm.Weekday())+6)%7 + 1)
	case "doy":
		return n(tm.YearDay())
	case "epoch":
		if isDate {
			return scaled(floorDiv(us, MicrosPerSecond), 0), nil
		}
		return scaled(us, 6), nil
	}
	return Null, badUnit(unit, t)
}

// ExtractSpan is extract(unit from interval).
func ExtractSpan(unit string, v Span) (Datum, error) {
	years, mons := int64(v.Months/12), int64(v.Months%12)
	us := v.Micros
	n := func(x int64) (Datum, error) { return scaled(x, 0), nil }
	switch canonicalUnit(unit) {
	case "microseconds":
		return n(us % MicrosPerMinute)
	case "milliseconds":
		return scaled(us%MicrosPerMinute, 3), nil
	case "second":
		return scaled(us%MicrosPerMinute, 6), nil
	case "minute":
		return n(us / MicrosPerMinute % 60)
	case "hour":
		return n(us / MicrosPerHour)
	case "day":
		return n(int64(v.Days))
	case "month":
		return n(mons)
	case "quarter":
		return n(mons/3 + 1)
	case "year":
		return n(years)
	case "decade":
		return n(years / 10)
	case "century":
		return n(years / 100)
	case "millennium":
		return n(years / 1000)
	case "epoch":
		secs := int64(365.25*86400*float64(years)) + (30*mons+int64(v.Days))*86400
		var r apd.Decimal
		if _, err := apd.BaseContext.WithPrecision(40).Add(&r, apd.New(secs*1e6, -6), apd.New(us, -6)); err != nil {
			return Null, err
		}
		return NewDecimal(&r), nil
	}
	return Null, badUnit(unit, Interval)
}

// LoadZone finds a time zone by name for AT TIME ZONE: UTC and the IANA
// names (America/New_York).
func LoadZone(name string) (*time.Location, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "UTC", "GMT", "Z", "ZULU", "UCT":
		return time.UTC, nil
	}
	if name != "" && !strings.ContainsAny(name, "+-0123456789") || strings.Contains(name, "/") {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, pgerr.New(pgerr.InvalidParameterValue, "time zone \"%s\" not recognized", name)
}

// WallToInstant reads a timestamp's wall-clock time in loc and returns
// the instant (timestamp AT TIME ZONE zone).
func WallToInstant(us int64, loc *time.Location) int64 {
	t := time.UnixMicro(us).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), loc).UnixMicro()
}

// InstantToWall returns the wall-clock time in loc of an instant
// (timestamptz AT TIME ZONE zone).
func InstantToWall(us int64, loc *time.Location) int64 {
	t := time.UnixMicro(us).In(loc)
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC).UnixMicro()
}

// MakeTimestamp is make_date / make_timestamp: fields out of range fail.
func MakeTimestamp(y, mo, d, h, mi int64, sec float64, isDate bool) (int64, error) {
	if mo < 1 || mo > 12 || d < 1 || y == 0 || d > int64(daysIn(int(y), time.Month(mo))) {
		if isDate {
			return 0, pgerr.New(pgerr.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, mo, d)
		}
		return 0, pgerr.New(pgerr.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, mo, d)
	}
	if h < 0 || h > 24 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return 0, pgerr.New(pgerr.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%02g", h, mi, sec)
	}
	if y < 0 {
		y++ // year -1 is 1 BC, which is year 0 of the proleptic calendar
	}
	base := time.Date(int(y), time.Month(mo), int(d), int(h), int(mi), 0, 0, time.UTC).UnixMicro()
	return base + int64(math.RoundToEven(sec*1e6)), nil
}
