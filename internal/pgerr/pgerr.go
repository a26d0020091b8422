// Package pgerr carries PostgreSQL SQLSTATE codes with errors, so any layer can
// fail with the code a PostgreSQL client expects. It imports only the
// standard library.
package pgerr

import (
	"errors"
	"fmt"
)

// SQLSTATE codes used across ShardSQL.
const (
	SuccessfulCompletion        = "00000"
	FeatureNotSupported         = "0A000"
	ProtocolViolation           = "08P01"
	ConnectionFailure           = "08006"
	InvalidTextRep              = "22P02"
	NumericOutOfRange           = "22003"
	StringDataRightTrunc        = "22001"
	DivisionByZero              = "22012"
	DatetimeFieldOverflow       = "22008"
	InvalidParameterValue       = "22023"
	DataException               = "22000"
	NotNullViolation            = "23502"
	UniqueViolation             = "23505"
	CheckViolation              = "23514"
	SerializationFailure        = "40001"
	DeadlockDetected            = "40P01"
	SyntaxError                 = "42601"
	UndefinedTable              = "42P01"
	UndefinedColumn             = "42703"
	UndefinedFunction           = "42883"
	DuplicateTable              = "42P07"
	DuplicateColumn             = "42701"
	AmbiguousColumn             = "42702"
	DatatypeMismatch            = "42804"
	InvalidColumnRef            = "42P10"
	GroupingError               = "42803"
	InvalidTableDef             = "42P16"
	UndefinedObject             = "42704"
	WrongObjectType             = "42809"
	QueryCanceled               = "57014"
	AdminShutdown               = "57P01"
	SystemError                 = "58000"
	Internal                    = "XX000"
	LockNotAvailable            = "55P03"
	CardinalityViolation        = "21000"
	SnapshotTooOld              = "72000"
	SubstringError              = "22011"
	ProgramLimitExceeded        = "54000"
	OutOfMemory                 = "53200"
	UndefinedParameter          = "42P02"
	InvalidBinaryRepresentation = "22P03"
	DuplicatePreparedStatement  = "42P05"
	InvalidSQLStatementName     = "26000"
	InvalidCursorName           = "34000"
	InsufficientPrivilege       = "42501"
	BadCopyFileFormat           = "22P04"
	ActiveSQLTransaction        = "25001"
	NullValueNotAllowed         = "22004"
	IdleInTransactionTimeout    = "25P03"
)

// Error is an error with a SQLSTATE, shown to the client as an ErrorResponse.
type Error struct {
	Code    string
	Message string
	Detail  string
	Hint    string
	// Position is the 1-based character offset into the query, 0 if unknown.
	Position int
	// Err is the underlying cause, if any.
	Err error
}

// New returns an Error with code and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with code whose message is msg followed by err's text.
func Wrap(err error, code, msg string) *Error {
	m := msg
	if err != nil {
		m = msg + ": " + err.Error()
	}
	return &Error{Code: code, Message: m, Err: err}
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// WithDetail returns e with its Detail set.
func (e *Error) WithDetail(format string, args ...any) *Error {
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// WithHint returns e with its Hint set.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// Code returns the SQLSTATE carried by err, or XX000 when it carries none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// From returns err as an *Error, wrapping it as an internal error if it
// carries no SQLSTATE.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: err.Error(), Err: err}
}
