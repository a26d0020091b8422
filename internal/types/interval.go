package types

import (
	"math"
	"strconv"
	"strings"

	"github.com/shardsql/shardsql/internal/pgerr"
)

// Span is the value of an interval: PostgreSQL keeps months, days and
// microseconds apart, because a month and a day have no fixed length.
type Span struct {
	Months int32
	Days   int32
	Micros int64
}

// Microsecond counts of the fixed units.
const (
	MicrosPerSecond = int64(1e6)
	MicrosPerMinute = 60 * MicrosPerSecond
	MicrosPerHour   = 60 * MicrosPerMinute
	MicrosPerDay    = 24 * MicrosPerHour
)

// NewInterval returns an interval datum. Months and days share the bits of
// the float field (the interval has no float), microseconds are the int.
func NewInterval(v Span) Datum {
	return Datum{fam: IntervalFamily, i: v.Micros, f: math.Float64frombits(uint64(uint32(v.Months))<<32 | uint64(uint32(v.Days)))}
}

// Interval returns the value of an interval datum.
func (d Datum) Interval() Span {
	b := math.Float64bits(d.f)
	return Span{Months: int32(uint32(b >> 32)), Days: int32(uint32(b)), Micros: d.i}
}

// IntervalOrder returns the sort key of an interval: PostgreSQL compares
// intervals as if a month were 30 days and a day 24 hours. The key is
// (whole days, microseconds within the day), so it cannot overflow.
func IntervalOrder(v Span) (days int64, micros int64) {
	days = int64(v.Months)*30 + int64(v.Days) + floorDiv(v.Micros, MicrosPerDay)
	return days, v.Micros - floorDiv(v.Micros, MicrosPerDay)*MicrosPerDay
}

// CompareInterval orders two intervals as PostgreSQL does.
func CompareInterval(a, b Span) int {
	ad, am := IntervalOrder(a)
	bd, bm := IntervalOrder(b)
	if ad != bd {
		if ad < bd {
			return -1
		}
		return 1
	}
	switch {
	case am < bm:
		return -1
	case am > bm:
		return 1
	}
	return 0
}

func plural(b *strings.Builder, v int64, unit string, isZero, isBefore *bool) {
	if v == 0 {
		return
	}
	if !*isZero {
		b.WriteByte(' ')
	}
	if *isBefore && v > 0 {
		b.WriteByte('+')
	}
	b.WriteString(strconv.FormatInt(v, 10))
	b.WriteByte(' ')
	b.WriteString(unit)
	if v != 1 {
		b.WriteByte('s')
	}
	*isBefore, *isZero = v < 0, false
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// FormatInterval writes v in PostgreSQL's default IntervalStyle (postgres):
// "1 year 2 mons 3 days 04:05:06.5", "-00:00:01", "00:00:00".
func FormatInterval(v Span) string {
	var b strings.Builder
	isZero, isBefore := true, false
	plural(&b, int64(v.Months/12), "year", &isZero, &isBefore)
	plural(&b, int64(v.Months%12), "mon", &isZero, &isBefore)
	plural(&b, int64(v.Days), "day", &isZero, &isBefore)
	if isZero || v.Micros != 0 {
		if !isZero {
			b.WriteByte(' ')
		}
		switch {
		case v.Micros < 0:
			b.WriteByte('-')
		case isBefore:
			b.WriteByte('+')
		}
		m := abs64(v.Micros)
		writeClock(&b, m/MicrosPerHour, m/MicrosPerMinute%60, m/MicrosPerSecond%60, m%MicrosPerSecond)
	}
	return b.String()
}

// writeClock writes hh:mm:ss[.ffffff] with trailing fraction zeros dropped.
func writeClock(b *strings.Builder, h, m, s, frac int64) {
	two := func(v int64) {
		if v < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	two(h)
	b.WriteByte(':')
	two(m)
	b.WriteByte(':')
	two(s)
	if frac != 0 {
		f := strconv.FormatInt(frac+1e6, 10)[1:]
		b.WriteByte('.')
		b.WriteString(strings.TrimRight(f, "0"))
	}
}

func badInterval(s string) error {
	return pgerr.New(InvalidDatetimeFormat, "invalid input syntax for type interval: \"%s\"", s)
}

// InvalidDatetimeFormat is the SQLSTATE of a malformed date, time or interval.
const InvalidDatetimeFormat = "22007"

// intervalUnits maps a unit name to (months, days, microseconds) per unit.
var intervalUnits = map[string][3]float64{}

func init() {
	add := func(v [3]float64, names ...string) {
		for _, n := range names {
			intervalUnits[n] = v
		}
	}
	add([3]float64{0, 0, 1}, "microsecond", "microseconds", "us", "usec", "usecs", "useconds")
	add([3]float64{0, 0, 1e3}, "millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds")
	add([3]float64{0, 0, 1e6}, "second", "seconds", "s", "sec", "secs")
	add([3]float64{0, 0, 60e6}, "minute", "minutes", "m", "min", "mins")
	add([3]float64{0, 0, 3600e6}, "hour", "hours", "h", "hr", "hrs")
	add([3]float64{0, 1, 0}, "day", "days", "d")
	add([3]float64{0, 7, 0}, "week", "weeks", "w")
	add([3]float64{1, 0, 0}, "month", "months", "mon", "mons")
	add([3]float64{12, 0, 0}, "year", "years", "y", "yr", "yrs")
	add([3]float64{120, 0, 0}, "decade", "decades")
	add([3]float64{1200, 0, 0}, "century", "centuries")
	add([3]float64{12000, 0, 0}, "millennium", "millennia")
}

// accum adds n units to a span the way PostgreSQL cascades fractions:
// fractional years become months, fractional months 30-day days, and
// fractional days microseconds.
type accum struct {
	months, days int64
	micros       float64
}

func (a *accum) add(n float64, u [3]float64) {
	if u[0] != 0 {
		m := n * u[0]
		whole := math.Trunc(m)
		a.months += int64(whole)
		if u[0] >= 12 {
			a.months += int64(math.RoundToEven(m - whole)) // fractional years round to months
			return
		}
		n, u = (m-whole)*30, [3]float64{0, 1, 0}
	}
	if u[1] != 0 {
		d := n * u[1]
		whole := math.Trunc(d)
		a.days += int64(whole)
		a.micros += (d - whole) * float64(MicrosPerDay)
		return
	}
	a.micros += n * u[2]
}

// ParseInterval reads an interval: "1 day 2 hours", "01:02:03",
// "-1 year +2 mons", "3 days ago", "@ 1 minute", "5" (seconds) and the ISO
// 8601 form "P1Y2M3DT4H5M6S".
func ParseInterval(s string) (Span, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	var a accum
	var err error
	if strings.HasPrefix(in, "p") {
		err = parseISOInterval(in[1:], &a)
	} else {
		err = parsePGInterval(strings.TrimPrefix(in, "@"), &a)
	}
	if err != nil {
		return Span{}, badInterval(s)
	}
	micros := math.RoundToEven(a.micros)
	if a.months > math.MaxInt32 || a.months < math.MinInt32 || a.days > math.MaxInt32 || a.days < math.MinInt32 ||
		math.Abs(micros) > 9.2e18 {
		return Span{}, pgerr.New(pgerr.DatetimeFieldOverflow, "interval field value out of range: \"%s\"", s)
	}
	return Span{Months: int32(a.months), Days: int32(a.days), Micros: int64(micros)}, nil
}

var errSyntax = pgerr.New(InvalidDatetimeFormat, "syntax")

func parsePGInterval(in string, a *accum) error {
	var toks []string
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case c == ' ' || c == '\t' || c == ',':
			i++
		case c >= 'a' && c <= 'z':
			j := i
			for j < len(in) && in[j] >= 'a' && in[j] <= 'z' {
				j++
			}
			toks = append(toks, in[i:j])
			i = j
		case c == '+' || c == '-' || c == '.' || c == ':' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(in) && (in[j] == '.' || in[j] == ':' || (in[j] >= '0' && in[j] <= '9')) {
				j++
			}
			toks = append(toks, in[i:j])
			i = j
		default:
			return errSyntax
		}
	}
	if len(toks) == 0 {
		return errSyntax
	}
	ago, sawClock := false, false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "ago" {
			if i != len(toks)-1 {
				return errSyntax
			}
			ago = true
			continue
		}
		if t[0] >= 'a' && t[0] <= 'z' {
			return errSyntax
		}
		if strings.Contains(t, ":") {
			if err := parseClock(t, a); err != nil {
				return err
			}
			sawClock = true
			continue
		}
		n, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return errSyntax
		}
		unit := [3]float64{0, 0, 1e6}
		if i+1 < len(toks) && toks[i+1] != "ago" && toks[i+1][0] >= 'a' && toks[i+1][0] <= 'z' {
			u, ok := intervalUnits[toks[i+1]]
			if !ok {
				return errSyntax
			}
			unit = u
			i++
		} else if i+1 < len(toks) && toks[i+1] != "ago" || sawClock {
			return errSyntax // a number without a unit (seconds) must come last
		}
		a.add(n, unit)
	}
	if ago {
		a.months, a.days, a.micros = -a.months, -a.days, -a.micros
	}
	return nil
}

// parseClock reads [-]h:m[:s[.frac]].
func parseClock(t string, a *accum) error {
	neg := false
	switch t[0] {
	case '-':
		neg, t = true, t[1:]
	case '+':
		t = t[1:]
	}
	parts := strings.Split(t, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return errSyntax
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || m > 59 {
		return errSyntax
	}
	v := float64(h*MicrosPerHour + m*MicrosPerMinute)
	if len(parts) == 3 {
		sec, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || sec >= 60 || strings.HasPrefix(parts[2], "-") {
			return errSyntax
		}
		v += sec * 1e6
	}
	if neg {
		v = -v
	}
	a.micros += v
	return nil
}

// parseISOInterval reads the part of an ISO 8601 duration after the P.
func parseISOInterval(in string, a *accum) error {
	timePart := false
	if in == "" {
		return errSyntax
	}
	for len(in) > 0 {
		if in[0] == 't' {
			timePart = true
			in = in[1:]
			continue
		}
		j := 0
		for j < len(in) && (in[j] == '-' || in[j] == '+' || in[j] == '.' || (in[j] >= '0' && in[j] <= '9')) {
			j++
		}
		if j == 0 || j == len(in) {
			return errSyntax
		}
		n, err := strconv.ParseFloat(in[:j], 64)
		if err != nil {
			return errSyntax
		}
		var unit string
		switch in[j] {
		case 'y':
			unit = "year"
		case 'm':
			unit = "month"
			if timePart {
				unit = "minute"
			}
		case 'w':
			unit = "week"
		case 'd':
			unit = "day"
		case 'h':
			unit = "hour"
		case 's':
			unit = "second"
		default:
			return errSyntax
		}
		a.add(n, intervalUnits[unit])
		in = in[j+1:]
	}
	return nil
}

func intervalOverflow() error {
	return pgerr.New(pgerr.NumericOutOfRange, "interval out of range")
}

// AddSpans adds two intervals field by field.
func AddSpans(a, b Span) (Span, error) {
	m, d, us := int64(a.Months)+int64(b.Months), int64(a.Days)+int64(b.Days), a.Micros+b.Micros
	if m != int64(int32(m)) || d != int64(int32(d)) || (b.Micros > 0) != (us > a.Micros) && b.Micros != 0 {
		return Span{}, intervalOverflow()
	}
	return Span{Months: int32(m), Days: int32(d), Micros: us}, nil
}

// NegSpan negates an interval.
func NegSpan(a Span) Span { return Span{Months: -a.Months, Days: -a.Days, Micros: -a.Micros} }

// MulSpan multiplies an interval by a factor as PostgreSQL's interval_mul
// does: fractional months spill into days and fractional days into time.
func MulSpan(a Span, f float64) (Span, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Span{}, intervalOverflow()
	}
	return scaleSpan(a, func(x float64) float64 { return x * f })
}

// DivSpan divides an interval by a non-zero number as interval_div does.
func DivSpan(a Span, f float64) (Span, error) {
	if f == 0 {
		return Span{}, pgerr.New(pgerr.DivisionByZero, "division by zero")
	}
	if math.IsNaN(f) {
		return Span{}, intervalOverflow()
	}
	return scaleSpan(a, func(x float64) float64 { return x / f })
}

func scaleSpan(a Span, scale func(float64) float64) (Span, error) {
	tsround := func(v float64) float64 { return math.RoundToEven(v*1e6) / 1e6 }
	m := scale(float64(a.Months))
	d := scale(float64(a.Days))
	if math.Abs(m) > math.MaxInt32 || math.Abs(d) > math.MaxInt32 {
		return Span{}, intervalOverflow()
	}
	out := Span{Months: int32(m), Days: int32(d)}
	monthRemDays := tsround((m - float64(out.Months)) * 30)
	secRem := tsround((d - float64(out.Days) + monthRemDays - math.Trunc(monthRemDays)) * 86400)
	if math.Abs(secRem) >= 86400 {
		out.Days += int32(secRem / 86400)
		secRem -= math.Trunc(secRem/86400) * 86400
	}
	out.Days += int32(monthRemDays)
	t := math.RoundToEven(scale(float64(a.Micros)) + secRem*1e6)
	if math.Abs(t) > 9.2e18 {
		return Span{}, intervalOverflow()
	}
	out.Micros = int64(t)
	return out, nil
}

// JustifyHours moves whole days out of the time part (justify_hours).
func JustifyHours(a Span) Span {
	whole := a.Micros / MicrosPerDay
	a.Micros -= whole * MicrosPerDay
	a.Days += int32(whole)
	switch {
	case a.Days > 0 && a.Micros < 0:
		a.Micros += MicrosPerDay
		a.Days--
	case a.Days < 0 && a.Micros > 0:
		a.Micros -= MicrosPerDay
		a.Days++
	}
	return a
}

// Interval field bits of an interval type modifier (INTERVAL_MASK).
const (
	fieldMonth  = 1 << 1
	fieldYear   = 1 << 2
	fieldDay    = 1 << 3
	fieldHour   = 1 << 10
	fieldMinute = 1 << 11
	fieldSecond = 1 << 12
)

// ParseIntervalFields reads an interval restricted to the fields of mask
// (INTERVAL '1' DAY, INTERVAL '1-2' is not supported): a bare number counts
// the lowest field, and fields below the lowest are dropped.
func ParseIntervalFields(s string, mask int64) (Span, error) {
	low := ""
	switch {
	case mask&fieldSecond != 0:
		low = "second"
	case mask&fieldMinute != 0:
		low = "minute"
	case mask&fieldHour != 0:
		low = "hour"
	case mask&fieldDay != 0:
		low = "day"
	case mask&fieldMonth != 0:
		low = "month"
	case mask&fieldYear != 0:
		low = "year"
	}
	t := strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(t, 64); err == nil && low != "" {
		t += " " + low
	}
	v, err := ParseInterval(t)
	if err != nil {
		return Span{}, badInterval(s)
	}
	switch low {
	case "year":
		v.Months -= v.Months % 12
		v.Days, v.Micros = 0, 0
	case "month":
		v.Days, v.Micros = 0, 0
	case "day":
		v.Micros = 0
	case "hour":
		v.Micros -= v.Micros % MicrosPerHour
	case "minute":
		v.Micros -= v.Micros % MicrosPerMinute
	}
	return v, nil
}
