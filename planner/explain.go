package planner

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/shardsql/shardsql/internal/pgerr"
)

// Explain is EXPLAIN [ANALYZE] of a SELECT, INSERT, UPDATE or DELETE.
type Explain struct {
	Inner   Plan
	Analyze bool
}

func (*Explain) plan() {}

func buildExplain(es *pg.ExplainStmt, cat Catalog) (Plan, error) {
	e := &Explain{}
	for _, o := range es.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		on := true
		if d.Arg != nil {
			v := strings.ToLower(defElemText(d.Arg))
			switch v {
			case "true", "on", "1", "yes":
			case "false", "off", "0", "no":
				on = false
			default:
				if strings.ToLower(d.Defname) != "format" {
					return nil, pgerr.New(pgerr.SyntaxError, "%s requires a Boolean value", d.Defname)
				}
			}
			if strings.ToLower(d.Defname) == "format" && v != "text" {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "EXPLAIN (FORMAT %s) is not supported yet; FORMAT TEXT is", strings.ToUpper(v))
			}
		}
		switch strings.ToLower(d.Defname) {
		case "analyze":
			e.Analyze = on
		case "verbose", "costs", "buffers", "timing", "summary", "settings", "wal", "format":
		default:
			return nil, pgerr.New(pgerr.SyntaxError, "unrecognized EXPLAIN option %q", d.Defname)
		}
	}
	inner, err := Build(es.Query, cat)
	if err != nil {
		return nil, err
	}
	switch inner.(type) {
	case *Select, *Insert, *Update, *Delete:
	default:
		return nil, pgerr.New(pgerr.FeatureNotSupported, "EXPLAIN of %s is not supported", stmtKind(es.Query))
	}
	e.Inner = inner
	return e, nil
}

// defElemText returns the text of an option's argument.
func defElemText(n *pg.Node) string {
	switch {
	case n.GetString_() != nil:
		return n.GetString_().Sval
	case n.GetBoolean() != nil:
		if n.GetBoolean().Boolval {
			return "true"
		}
		return "false"
	case n.GetInteger() != nil:
		if n.GetInteger().Ival != 0 {
			return "1"
		}
		return "0"
	case n.GetAConst() != nil:
		return defElemText(constNode(n.GetAConst()))
	}
	return ""
}

func constNode(c *pg.A_Const) *pg.Node {
	switch {
	case c.GetSval() != nil:
		return &pg.Node{Node: &pg.Node_String_{String_: c.GetSval()}}
	case c.GetBoolval() != nil:
		return &pg.Node{Node: &pg.Node_Boolean{Boolean: c.GetBoolval()}}
	case c.GetIval() != nil:
		return &pg.Node{Node: &pg.Node_Integer{Integer: c.GetIval()}}
	}
	return &pg.Node{}
}
