package postgres

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// sqlError describes a server error about the SQL text sql, which came
// from where (an argument's name or a file's path): the server's message,
// its detail and hint, and where in the text it points, as where:line:col.
// Other errors are returned as they are.
func sqlError(err error, sql, where string) error {
	pe, ok := pgError(err)
	if !ok {
		return err
	}
	var b strings.Builder
	if pe.Position > 0 {
		line, col := lineCol(sql, int(pe.Position))
		fmt.Fprintf(&b, "%s:%d:%d: ", where, line, col)
	} else {
		fmt.Fprintf(&b, "%s: ", where)
	}
	fmt.Fprintf(&b, "%s: %s (SQLSTATE %s)", pe.Severity, pe.Message, pe.Code)
	if pe.Detail != "" {
		fmt.Fprintf(&b, "\nDetail: %s", pe.Detail)
	}
	if pe.Hint != "" {
		fmt.Fprintf(&b, "\nHint: %s", pe.Hint)
	}
	if pe.Where != "" {
		fmt.Fprintf(&b, "\nWhere: %s", pe.Where)
	}
	return &redactedError{msg: b.String(), err: err}
}

// lineCol turns the server's error position (a 1-based count of
// characters into the text) into a 1-based line and column (columns
// count characters too).
func lineCol(sql string, pos int) (line, col int) {
	line, col = 1, 1
	for i := 0; i < len(sql) && pos > 1; pos-- {
		r, size := utf8.DecodeRuneInString(sql[i:])
		i += size
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// splitStatements cuts SQL text into its statements at the semicolons
// that end them, skipping those inside quotes, dollar quotes and
// comments. Statements that hold nothing but space and comments are left
// out; each keeps its offset (in characters) into sql.
func splitStatements(sql string) []statement {
	var out []statement
	start, chars := 0, 0 // byte and character offsets of the current statement
	startChars := 0
	flush := func(end int) {
		text := sql[start:end]
		if hasCode(text) {
			out = append(out, statement{text: text, offset: startChars})
		}
	}
	for i := 0; i < len(sql); {
		skip := lexSkip(sql[i:])
		if skip > 0 {
			chars += utf8.RuneCountInString(sql[i : i+skip])
			i += skip
			continue
		}
		_, size := utf8.DecodeRuneInString(sql[i:])
		if sql[i] == ';' {
			flush(i + 1)
			start, startChars = i+1, chars+1
		}
		i += size
		chars++
	}
	flush(len(sql))
	return out
}

// statement is one statement of a text and where it starts.
type statement struct {
	text   string
	offset int // characters before it in the whole text
}

// lexSkip is the length of the quoted string, quoted identifier, dollar
// quote or comment that s starts with, or 0. An unterminated one runs to
// the end (the server reports it).
func lexSkip(s string) int {
	switch {
	case strings.HasPrefix(s, "--"):
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			return i + 1
		}
		return len(s)
	case strings.HasPrefix(s, "/*"):
		depth := 0
		for i := 0; i < len(s)-1; i++ {
			switch s[i : i+2] {
			case "/*":
				depth++
				i++
			case "*/":
				depth--
				i++
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(s)
	case s[0] == '\'' || s[0] == '"':
		return quoted(s, s[0], false)
	case (s[0] == 'E' || s[0] == 'e') && len(s) > 1 && s[1] == '\'':
		return 1 + quoted(s[1:], '\'', true)
	case s[0] == '$':
		tag := dollarTag(s)
		if tag == "" {
			return 0
		}
		if end := strings.Index(s[len(tag):], tag); end >= 0 {
			return len(tag) + end + len(tag)
		}
		return len(s)
	}
	return 0
}

// quoted is the length of the string quoted by q that s starts with; a
// doubled quote stands for one, and with backslashes so does \q.
func quoted(s string, q byte, backslashes bool) int {
	for i := 1; i < len(s); i++ {
		switch {
		case backslashes && s[i] == '\\':
			i++
		case s[i] == q && i+1 < len(s) && s[i+1] == q:
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return len(s)
}

// dollarTag is the $tag$ that s starts with, or "" ($1 is a parameter).
func dollarTag(s string) string {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			return s[:i+1]
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || i > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// hasCode reports whether SQL text holds more than space, semicolons and
// comments.
func hasCode(s string) bool {
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "--") || strings.HasPrefix(s[i:], "/*") {
			i += lexSkip(s[i:])
			continue
		}
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\f', ';':
			i++
			continue
		}
		return true
	}
	return false
}
