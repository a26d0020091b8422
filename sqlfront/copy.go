package sqlfront

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardsql/shardsql/exec"
	"github.com/shardsql/shardsql/internal/pgerr"
	"github.com/shardsql/shardsql/internal/types"
	"github.com/shardsql/shardsql/planner"
	"github.com/shardsql/shardsql/txn"
)

// copyBatchRows is how many rows COPY FROM hands the executor at a time
// (all in the statement's one transaction).
const copyBatchRows = 1000

// copyFormat is a COPY statement's text or CSV options.
type copyFormat struct {
	csv       bool
	binary    bool
	header    bool
	delimiter byte
	null      string
	quote     byte
	escape    byte
}

func parseCopyOptions(opts []*pg.Node) (*copyFormat, error) {
	f := &copyFormat{delimiter: '\t', null: `\N`, quote: '"', escape: '"'}
	nullSet, delimSet, escapeSet := false, false, false
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		val := strings.ToLower(defElemString(d.Arg))
		switch strings.ToLower(d.Defname) {
		case "format":
			switch val {
			case "text":
			case "csv":
				f.csv = true
			case "binary":
				f.binary = true
			default:
				return nil, pgerr.New(pgerr.FeatureNotSupported, "COPY format %q is not supported", val)
			}
		case "header":
			f.header = d.Arg == nil || val == "true" || val == "on" || val == "1" || val == "match"
		case "delimiter":
			s := defElemString(d.Arg)
			if len(s) != 1 {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
			}
			f.delimiter, delimSet = s[0], true
		case "null":
			f.null, nullSet = defElemString(d.Arg), true
		case "quote":
			s := defElemString(d.Arg)
			if len(s) != 1 {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "COPY quote must be a single one-byte character")
			}
			f.quote = s[0]
		case "escape":
			s := defElemString(d.Arg)
			if len(s) != 1 {
				return nil, pgerr.New(pgerr.FeatureNotSupported, "COPY escape must be a single one-byte character")
			}
			f.escape, escapeSet = s[0], true
		case "freeze", "encoding":
			// accepted; nothing to do
		default:
			return nil, pgerr.New(pgerr.SyntaxError, "option %q not recognized", d.Defname)
		}
	}
	if !escapeSet {
		f.escape = f.quote // PostgreSQL: ESCAPE defaults to QUOTE
	}
	if f.csv {
		if !delimSet {
			f.delimiter = ','
		}
		if !nullSet {
			f.null = ""
		}
	}
	return f, nil
}

func defElemString(n *pg.Node) string {
	switch {
	case n == nil:
		return ""
	case n.GetString_() != nil:
		return n.GetString_().Sval
	case n.GetInteger() != nil:
		return fmt.Sprint(n.GetInteger().Ival)
	case n.GetBoolean() != nil:
		return fmt.Sprint(n.GetBoolean().Boolval)
	case n.GetAConst() != nil:
		c := n.GetAConst()
		switch {
		case c.GetSval() != nil:
			return c.GetSval().Sval
		case c.GetIval() != nil:
			return fmt.Sprint(c.GetIval().Ival)
		case c.GetBoolval() != nil:
			return fmt.Sprint(c.GetBoolval().Boolval)
		}
	}
	return ""
}

// copyStmt runs COPY ... FROM STDIN or COPY ... TO STDOUT.
func (s *session) copyStmt(ctx context.Context, cs *pg.CopyStmt, cat sessionCatalog) error {
	if cs.Filename != "" || cs.IsProgram {
		return pgerr.New(pgerr.InsufficientPrivilege, "COPY to or from a file or program is not supported; use STDIN or STDOUT")
	}
	if cs.WhereClause != nil {
		return pgerr.New(pgerr.FeatureNotSupported, "COPY FROM ... WHERE is not supported yet")
	}
	f, err := parseCopyOptions(cs.Options)
	if err != nil {
		return err
	}
	if cs.IsFrom {
		return s.copyFrom(ctx, cs, f, cat)
	}
	if f.binary {
		return pgerr.New(pgerr.FeatureNotSupported, "COPY TO in binary format is not supported yet")
	}
	return s.copyTo(ctx, cs, f, cat)
}

// copyColumns resolves a COPY column list (all visible columns by default).
func copyColumns(t *planner.Table, attlist []*pg.Node) ([]int, error) {
	var cols []int
	if len(attlist) == 0 {
		for i, c := range t.Columns {
			if !c.Hidden {
				cols = append(cols, i)
			}
		}
		return cols, nil
	}
	seen := map[int]bool{}
	for _, a := range attlist {
		name := a.GetString_().GetSval()
		i := t.ColumnIndex(name)
		if i < 0 || t.Columns[i].Hidden {
			return nil, pgerr.New(pgerr.UndefinedColumn, "column %q of relation %q does not exist", name, t.Name)
		}
		if seen[i] {
			return nil, pgerr.New(pgerr.DuplicateColumn, "column %q specified more than once", name)
		}
		seen[i] = true
		cols = append(cols, i)
	}
	return cols, nil
}

func (s *session) copyFrom(ctx context.Context, cs *pg.CopyStmt, f *copyFormat, cat sessionCatalog) error {
	if s.tx != nil && s.tx.readOnly {
		return pgerr.New("25006", "cannot execute COPY FROM in a read-only transaction")
	}
	t, err := cat.Table(cs.Relation.Relname)
	if err != nil {
		return err
	}
	if t.ViewQuery != "" {
		return pgerr.New(pgerr.WrongObjectType, "cannot copy to view %q", t.Name)
	}
	cols, err := copyColumns(t, cs.Attlist)
	if err != nil {
		return err
	}
	defaults := make([]planner.Expr, len(t.Columns))
	for i, c := range t.Columns {
		if defaults[i], err = planner.DefaultExpr(t, c); err != nil {
			return err
		}
	}
	formats := make([]uint16, len(cols))
	overall := byte(0)
	if f.binary {
		overall = 1
		for i := range formats {
			formats[i] = 1
		}
	}
	s.be.Send(&pgproto3.CopyInResponse{OverallFormat: overall, ColumnFormatCodes: formats})
	if err := s.be.Flush(); err != nil {
		return err
	}

	// The rows go into the session's transaction, or one of their own
	// (COPY is all or nothing).
	var tx *txn.Txn
	own := s.tx == nil
	if own {
		if tx, err = s.srv.client.Begin(ctx); err != nil {
			return s.drainCopy(err)
		}
	} else {
		tx = s.tx.t
	}
	var batch [][]planner.Expr
	var n int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := exec.Run(ctx, &planner.Insert{Table: t, Rows: batch}, tx, s.execIDs(), nil)
		if err == nil {
			err = s.srv.checkTxnSize(tx)
		}
		batch = batch[:0]
		return err
	}
	// addRow adds one row (values of cols) to the batch.
	addRow := func(vals []types.Datum) error {
		row := make([]planner.Expr, len(t.Columns))
		copy(row, defaults)
		for i, o := range cols {
			row[o] = &planner.Const{Val: vals[i], T: t.Columns[o].Type}
		}
		batch = append(batch, row)
		n++
		if len(batch) >= copyBatchRows {
			return flush()
		}
		return nil
	}
	var binState copyBinaryState
	lineNo := 0
	addLine := func(line string) error {
		lineNo++
		if f.header && lineNo == 1 {
			return nil
		}
		fields, err := splitCopyLine(line, f)
		if err != nil {
			return copyError(err, t.Name, lineNo)
		}
		if len(fields) != len(cols) {
			if len(fields) < len(cols) {
				return copyError(pgerr.New(pgerr.BadCopyFileFormat, "missing data for column %q", t.Columns[cols[len(fields)]].Name), t.Name, lineNo)
			}
			return copyError(pgerr.New(pgerr.BadCopyFileFormat, "extra data after last expected column"), t.Name, lineNo)
		}
		vals := make([]types.Datum, len(cols))
		for i, o := range cols {
			c := t.Columns[o]
			if fields[i] == nil {
				vals[i] = types.Null
				continue
			}
			d, err := types.ParseDatum(c.Type, *fields[i])
			if err != nil {
				return copyError(err, t.Name, lineNo)
			}
			vals[i] = d
		}
		return addRow(vals)
	}
	var pending []byte
	var failed error
	done := false
	for !done {
		msg, err := s.be.Receive()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if failed != nil {
				continue
			}
			pending = append(pending, m.Data...)
			if f.binary {
				var rest []byte
				rest, failed = s.copyBinaryRows(pending, &binState, t, cols, addRow)
				pending = append(pending[:0], rest...)
				continue
			}
			for failed == nil {
				i := bytes.IndexByte(pending, '\n')
				if f.csv {
					i = csvRecordEnd(pending, f)
				}
				if i < 0 {
					break
				}
				line := string(pending[:i])
				pending = pending[i+1:]
				line = strings.TrimSuffix(line, "\r")
				if line == `\.` {
					continue
				}
				if err := addLine(line); err != nil {
					failed = err
				}
			}
		case *pgproto3.CopyDone:
			if f.binary {
				// (The trailer is optional in practice: pgx does not send it.)
				if failed == nil && len(pending) > 0 {
					failed = pgerr.New(pgerr.BadCopyFileFormat, "unexpected end of binary COPY data")
				}
				done = true
				continue
			}
			if failed == nil && len(pending) > 0 && string(pending) != `\.` {
				failed = addLine(strings.TrimSuffix(string(pending), "\r"))
			}
			done = true
		case *pgproto3.CopyFail:
			if failed == nil {
				failed = pgerr.New(pgerr.QueryCanceled, "COPY from stdin failed: %s", m.Message)
			}
			done = true
		case *pgproto3.Flush, *pgproto3.Sync:
			// ignored during COPY, as PostgreSQL does
		default:
			failed = pgerr.New(pgerr.ProtocolViolation, "unexpected message type %T during COPY from stdin", msg)
			done = true
		}
	}
	if failed == nil {
		failed = flush()
	}
	if failed != nil {
		if own {
			tx.Rollback()
		}
		return s.describeError(failed)
	}
	if own {
		if err := tx.Commit(ctx); err != nil {
			return s.describeError(err)
		}
	}
	s.complete(fmt.Sprintf("COPY %d", n))
	return nil
}

// drainCopy reads the client's COPY data up to its end after an error
// that came before any row was read, and returns err.
func (s *session) drainCopy(err error) error {
	for {
		msg, rerr := s.be.Receive()
		if rerr != nil {
			return rerr
		}
		switch msg.(type) {
		case *pgproto3.CopyDone, *pgproto3.CopyFail:
			return err
		}
	}
}

func copyError(err error, table string, line int) error {
	pe := pgerr.From(err)
	out := *pe
	if out.Code == pgerr.Internal {
		out.Code = pgerr.BadCopyFileFormat
	}
	out.Detail = strings.TrimSpace(out.Detail + fmt.Sprintf(" COPY %s, line %d", table, line))
	return &out
}

// splitCopyLine splits one line of COPY data into fields; a nil field is
// NULL.
func splitCopyLine(line string, f *copyFormat) ([]*string, error) {
	if f.csv {
		return splitCSV(line, f)
	}
	var fields []*string
	var b strings.Builder
	raw := strings.Builder{}
	flushField := func() {
		if raw.String() == f.null {
			fields = append(fields, nil)
		} else {
			v := b.String()
			fields = append(fields, &v)
		}
		b.Reset()
		raw.Reset()
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == f.delimiter {
			flushField()
			continue
		}
		raw.WriteByte(c)
		if c != '\\' || i+1 == len(line) {
			b.WriteByte(c)
			continue
		}
		i++
		e := line[i]
		raw.WriteByte(e)
		switch e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		default:
			if e >= '0' && e <= '7' { // octal, up to three digits
				v := int(e - '0')
				for k := 0; k < 2 && i+1 < len(line) && line[i+1] >= '0' && line[i+1] <= '7'; k++ {
					i++
					raw.WriteByte(line[i])
					v = v*8 + int(line[i]-'0')
				}
				b.WriteByte(byte(v))
			} else {
				b.WriteByte(e)
			}
		}
	}
	flushField()
	return fields, nil
}

// splitCSV splits a CSV line: quoted fields may hold the delimiter and
// doubled quotes; an unquoted field equal to the NULL string is NULL.
func splitCSV(line string, f *copyFormat) ([]*string, error) {
	var fields []*string
	i := 0
	for {
		var b strings.Builder
		quoted := false
		if i < len(line) && line[i] == f.quote {
			quoted = true
			i++
			for {
				if i >= len(line) {
					return nil, pgerr.New(pgerr.BadCopyFileFormat, "unterminated CSV quoted field")
				}
				c := line[i]
				if c == f.escape && i+1 < len(line) && line[i+1] == f.quote {
					b.WriteByte(f.quote) // an escaped (doubled) quote
					i += 2
					continue
				}
				if c == f.quote {
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
		}
		for i < len(line) && line[i] != f.delimiter {
			b.WriteByte(line[i])
			i++
		}
		v := b.String()
		if !quoted && v == f.null {
			fields = append(fields, nil)
		} else {
			fields = append(fields, &v)
		}
		if i >= len(line) {
			return fields, nil
		}
		i++ // the delimiter
	}
}

// copyTo sends a table's rows or a query's result as COPY data.
func (s *session) copyTo(ctx context.Context, cs *pg.CopyStmt, f *copyFormat, cat sessionCatalog) error {
	var stmt *pg.Node
	if cs.Query != nil {
		stmt = cs.Query
	} else {
		t, err := cat.Table(cs.Relation.Relname)
		if err != nil {
			return err
		}
		cols, err := copyColumns(t, cs.Attlist)
		if err != nil {
			return err
		}
		names := make([]string, len(cols))
		for i, o := range cols {
			names[i] = pgQuoteIdent(t.Columns[o].Name)
		}
		tree, err := pg.Parse("SELECT " + strings.Join(names, ", ") + " FROM " + pgQuoteIdent(t.Name))
		if err != nil {
			return parseError(err)
		}
		stmt = tree.Stmts[0].Stmt
	}
	p, err := planner.Build(stmt, cat)
	if err != nil {
		return err
	}
	sel, ok := p.(*planner.Select)
	if !ok {
		return pgerr.New(pgerr.FeatureNotSupported, "COPY (query) TO supports SELECT only")
	}
	cols := exec.Columns(sel)
	s.be.Send(&pgproto3.CopyOutResponse{OverallFormat: 0, ColumnFormatCodes: make([]uint16, len(cols))})
	if f.header {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		s.be.Send(&pgproto3.CopyData{Data: []byte(joinCopyFields(names, nil, f) + "\n")})
	}
	var t *txn.Txn
	if s.tx != nil {
		t = s.tx.t
	} else if t, err = s.srv.client.Begin(ctx); err != nil {
		return err
	} else {
		defer t.Rollback()
	}
	var n int64
	_, err = exec.Run(ctx, sel, t, s.execIDs(), func(row []types.Datum) error {
		vals := make([]string, len(row))
		nulls := make([]bool, len(row))
		for i, d := range row {
			if d.IsNull() {
				nulls[i] = true
			} else {
				vals[i] = d.Text()
			}
		}
		s.be.Send(&pgproto3.CopyData{Data: []byte(joinCopyFields(vals, nulls, f) + "\n")})
		n++
		return nil
	})
	if err != nil {
		return err
	}
	s.be.Send(&pgproto3.CopyDone{})
	s.complete(fmt.Sprintf("COPY %d", n))
	return nil
}

// joinCopyFields renders one line of COPY TO output.
func joinCopyFields(vals []string, nulls []bool, f *copyFormat) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if nulls != nil && nulls[i] {
			out[i] = f.null
			continue
		}
		if f.csv {
			if v == "" || strings.ContainsAny(v, string([]byte{f.delimiter, f.quote, '\n', '\r'})) || v == f.null {
				v = string(f.quote) + strings.ReplaceAll(v, string(f.quote), string([]byte{f.escape, f.quote})) + string(f.quote)
			}
			out[i] = v
			continue
		}
		var b strings.Builder
		for j := 0; j < len(v); j++ {
			switch c := v[j]; c {
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if c == f.delimiter {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
		}
		out[i] = b.String()
	}
	return strings.Join(out, string(f.delimiter))
}

// pgQuoteIdent quotes an identifier for SQL text.
func pgQuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// copyBinaryState tracks a binary COPY stream between CopyData messages.
type copyBinaryState struct {
	header  bool // the signature and header were read
	trailer bool // the -1 field count was read
	rows    int
}

var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

// copyBinaryRows parses the complete rows at the start of b (PostgreSQL's
// binary COPY format) and returns the bytes of an incomplete one.
func (s *session) copyBinaryRows(b []byte, st *copyBinaryState, t *planner.Table, cols []int, add func([]types.Datum) error) ([]byte, error) {
	if !st.header {
		if len(b) < len(copySignature)+8 {
			return b, nil
		}
		if !bytes.Equal(b[:len(copySignature)], copySignature) {
			return nil, pgerr.New(pgerr.BadCopyFileFormat, "COPY file signature not recognized")
		}
		ext := int(binary.BigEndian.Uint32(b[len(copySignature)+4:]))
		if len(b) < len(copySignature)+8+ext {
			return b, nil
		}
		b = b[len(copySignature)+8+ext:]
		st.header = true
	}
	for len(b) >= 2 && !st.trailer {
		nf := int(int16(binary.BigEndian.Uint16(b)))
		if nf == -1 {
			st.trailer = true
			return b[2:], nil
		}
		if nf != len(cols) {
			return nil, pgerr.New(pgerr.BadCopyFileFormat, "row field count is %d, expected %d", nf, len(cols))
		}
		// Is the whole row here?
		p := 2
		for i := 0; i < nf; i++ {
			if len(b) < p+4 {
				return b, nil
			}
			l := int(int32(binary.BigEndian.Uint32(b[p:])))
			p += 4
			if l > 0 {
				p += l
			}
		}
		if len(b) < p {
			return b, nil
		}
		st.rows++
		vals := make([]types.Datum, nf)
		q := 2
		for i := 0; i < nf; i++ {
			l := int(int32(binary.BigEndian.Uint32(b[q:])))
			q += 4
			if l < 0 {
				vals[i] = types.Null
				continue
			}
			d, err := decodeBinary(t.Columns[cols[i]].Type, b[q:q+l])
			if err != nil {
				return nil, copyError(err, t.Name, st.rows)
			}
			vals[i] = d
			q += l
		}
		if err := add(vals); err != nil {
			return nil, err
		}
		b = b[p:]
	}
	return b, nil
}

// csvRecordEnd returns the index of the newline that ends the first CSV
// record in b (a newline inside a quoted field does not), or -1.
func csvRecordEnd(b []byte, f *copyFormat) int {
	inQuote := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inQuote && c == f.escape && f.escape != f.quote && i+1 < len(b) && b[i+1] == f.quote:
			i++ // an escaped quote inside quotes
		case c == f.quote:
			inQuote = !inQuote // a doubled quote toggles twice
		case c == '\n' && !inQuote:
			return i
		}
	}
	return -1
}
