package sqlfront

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
)

// settingDefaults are the settings a session keeps as text (SET stores,
// SHOW reads, RESET restores them); the few that change behaviour
// (isolation, timeouts, shardsql.*) live in session fields instead.
var settingDefaults = map[string]string{
	"application_name":                    "",
	"bytea_output":                        "hex",
	"client_encoding":                     "UTF8",
	"client_min_messages":                 "notice",
	"datestyle":                           "ISO, MDY",
	"default_transaction_read_only":       "off",
	"extra_float_digits":                  "1",
	"idle_in_transaction_session_timeout": "0",
	"integer_datetimes":                   "on",
	"intervalstyle":                       "postgres",
	"is_superuser":                        "on",
	"max_identifier_length":               "63",
	"search_path":                         `"$user", public`,
	"server_encoding":                     "UTF8",
	"server_version":                      "15.4",
	"server_version_num":                  "150004",
	"standard_conforming_strings":         "on",
	"timezone":                            "UTC",
}

// reportedSettings are the ones PostgreSQL reports to the client with
// ParameterStatus when they change, by their reported spelling.
var reportedSettings = map[string]string{
	"application_name": "application_name", "client_encoding": "client_encoding", "datestyle": "DateStyle",
	"timezone": "TimeZone", "intervalstyle": "IntervalStyle", "is_superuser": "is_superuser",
	"standard_conforming_strings": "standard_conforming_strings", "integer_datetimes": "integer_datetimes",
	"server_version": "server_version", "server_encoding": "server_encoding",
}

// settingValue returns a setting's current value.
func (s *session) settingValue(name string) (string, bool) {
	name = strings.ToLower(name)
	switch name {
	case "transaction_isolation":
		return s.currentIsolation(), true
	case "default_transaction_isolation":
		return s.defaultIsolation, true
	case "lock_timeout":
		return formatMillis(s.lockTimeout), true
	case "statement_timeout":
		return formatMillis(s.statementTimeout), true
	case "shardsql.pushdown":
		return map[bool]string{false: "on", true: "off"}[s.noPushdown], true
	case "shardsql.max_statement_memory":
		return fmt.Sprintf("%dkB", memOrDefault(s.memBudget)>>10), true
	case "default_transaction_read_only":
		return map[bool]string{false: "off", true: "on"}[s.defaultReadOnly], true
	}
	if v, ok := s.gucs[name]; ok {
		return v, true
	}
	v, ok := settingDefaults[name]
	return v, ok
}

// setSetting stores a text setting, reporting it when PostgreSQL would.
func (s *session) setSetting(name, value string) {
	name = strings.ToLower(name)
	if s.gucs == nil {
		s.gucs = map[string]string{}
	}
	old, _ := s.settingValue(name)
	s.gucs[name] = value
	if rep, ok := reportedSettings[name]; ok && old != value {
		s.be.Send(&pgproto3.ParameterStatus{Name: rep, Value: value})
	}
}

// resetSetting restores a text setting's default.
func (s *session) resetSetting(name string) {
	name = strings.ToLower(name)
	if _, ok := s.gucs[name]; !ok {
		return
	}
	old := s.gucs[name]
	delete(s.gucs, name)
	if rep, ok := reportedSettings[name]; ok && old != settingDefaults[name] {
		s.be.Send(&pgproto3.ParameterStatus{Name: rep, Value: settingDefaults[name]})
	}
}

// setGeneric handles SET / RESET of a setting without behaviour of its
// own: the value is kept so that SHOW, current_setting and ParameterStatus
// tell it back. RESET ALL restores every setting.
func (s *session) setGeneric(vs *pg.VariableSetStmt) error {
	switch vs.Kind {
	case pg.VariableSetKind_VAR_RESET_ALL:
		for name := range s.gucs {
			s.resetSetting(name)
		}
		s.statementTimeout, s.lockTimeout, s.noPushdown, s.memBudget = 0, 0, false, 0
		s.defaultIsolation, s.defaultReadOnly = readCommitted, false
		return nil
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		s.resetSetting(vs.Name)
		return nil
	}
	name := strings.ToLower(vs.Name)
	if name == "" {
		return nil
	}
	var parts []string
	for _, a := range vs.Args {
		parts = append(parts, settingText(a))
	}
	v := strings.Join(parts, ", ")
	if name == "idle_in_transaction_session_timeout" {
		if _, err := parseSettingDuration(v); err != nil {
			return err
		}
	}
	s.setSetting(name, v)
	return nil
}

// settingText renders one SET argument as PostgreSQL shows it.
func settingText(n *pg.Node) string {
	if c := n.GetAConst(); c != nil {
		switch {
		case c.GetSval() != nil:
			return c.GetSval().Sval
		case c.GetIval() != nil:
			return fmt.Sprint(c.GetIval().Ival)
		case c.GetFval() != nil:
			return c.GetFval().Fval
		case c.GetBoolval() != nil:
			return map[bool]string{false: "off", true: "on"}[c.GetBoolval().Boolval]
		}
	}
	if tc := n.GetTypeCast(); tc != nil { // SET TIME ZONE INTERVAL '...'
		return settingText(tc.Arg)
	}
	return ""
}

// showAll answers SHOW ALL: name, setting, description.
func (s *session) showAll() {
	names := map[string]bool{
		"transaction_isolation": true, "default_transaction_isolation": true, "lock_timeout": true,
		"statement_timeout": true, "shardsql.pushdown": true, "shardsql.max_statement_memory": true,
	}
	for n := range settingDefaults {
		names[n] = true
	}
	for n := range s.gucs {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	rows := make([][]types.Datum, 0, len(sorted))
	for _, n := range sorted {
		v, _ := s.settingValue(n)
		rows = append(rows, []types.Datum{types.NewString(n), types.NewString(v), types.NewString("")})
	}
	s.sendRows([]exec.Column{{Name: "name", Type: types.Text}, {Name: "setting", Type: types.Text}, {Name: "description", Type: types.Text}}, rows)
	s.complete("SHOW")
}

// sessionSettings gives current_setting and set_config the session's
// settings (exec.Settings).
type sessionSettings struct{ s *session }

func (x sessionSettings) Setting(name string) (string, bool) { return x.s.settingValue(name) }

func (x sessionSettings) SetSetting(name, value string) error {
	switch strings.ToLower(name) {
	case "transaction_isolation", "default_transaction_isolation", "lock_timeout", "statement_timeout",
		"shardsql.pushdown", "shardsql.max_statement_memory", "default_transaction_read_only":
		return pgerr.New(pgerr.FeatureNotSupported, "set_config of %s is not supported; use SET", name)
	}
	x.s.setSetting(name, value)
	return nil
}

// idleInTxTimeout is idle_in_transaction_session_timeout (0: none).
func (s *session) idleInTxTimeout() time.Duration {
	v, _ := s.settingValue("idle_in_transaction_session_timeout")
	d, _ := parseSettingDuration(v)
	return d
}

// parseSettingDuration reads a time setting as PostgreSQL writes it: a
// number of milliseconds, or a number with a unit (us, ms, s, min, h, d).
func parseSettingDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(v[:i], 64)
	if err != nil {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid value for a time setting: %q", v)
	}
	units := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[strings.ToLower(strings.TrimSpace(v[i:]))]
	if !ok {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid value for a time setting: %q", v).
			WithHint("Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".")
	}
	return time.Duration(n * float64(u)), nil
}

// settingsSnap is a copy of a session's settings, to undo SET at ROLLBACK
// and SET LOCAL at the end of the transaction.
type settingsSnap struct {
	gucs                          map[string]string
	statementTimeout, lockTimeout time.Duration
	noPushdown, defaultReadOnly   bool
	memBudget                     int64
	defaultIsolation              string
}

func (s *session) snapshotSettings() *settingsSnap {
	g := make(map[string]string, len(s.gucs))
	for k, v := range s.gucs {
		g[k] = v
	}
	return &settingsSnap{gucs: g, statementTimeout: s.statementTimeout, lockTimeout: s.lockTimeout,
		noPushdown: s.noPushdown, defaultReadOnly: s.defaultReadOnly, memBudget: s.memBudget, defaultIsolation: s.defaultIsolation}
}

func (s *session) restoreSettings(snap *settingsSnap) {
	for name, v := range snap.gucs {
		s.setSetting(name, v)
	}
	for name := range s.gucs {
		if _, ok := snap.gucs[name]; !ok {
			s.resetSetting(name)
		}
	}
	s.statementTimeout, s.lockTimeout = snap.statementTimeout, snap.lockTimeout
	s.noPushdown, s.defaultReadOnly, s.memBudget, s.defaultIsolation = snap.noPushdown, snap.defaultReadOnly, snap.memBudget, snap.defaultIsolation
}

// settingsBeforeSet records, before a SET runs inside a transaction, what
// to restore when it ends: everything at ROLLBACK (PostgreSQL undoes SET
// with the transaction), the values before the first SET LOCAL at COMMIT.
// It reports false for a SET LOCAL outside a transaction (a warning, no
// effect, as in PostgreSQL).
func (s *session) settingsBeforeSet(local bool) bool {
	if s.tx == nil {
		if local {
			s.warning("SET LOCAL can only be used in transaction blocks")
			return false
		}
		return true
	}
	if s.tx.settingsBefore == nil {
		s.tx.settingsBefore = s.snapshotSettings()
	}
	if local && s.tx.settingsBeforeLocal == nil {
		s.tx.settingsBeforeLocal = s.snapshotSettings()
	}
	return true
}
