package devserver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// The `search` list parameter is a TSL expression (Tree Search Language, which Maestro
// parses with yaacov/tree-search-language): comparisons of column names with literals,
// combined with and/or/not and parentheses, e.g. `name = 'c1' or name in ('c2','c3')`.
// It is translated into a parameterised SQL condition. Column names are only checked for
// their spelling; an unknown column fails in PostgreSQL, as it does for Maestro.

var errSearchSyntax = errors.New("search syntax")

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokOperator
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokenKind
	text string // identifiers and keywords as written; strings without quotes
}

func tokenize(input string) ([]token, error) {
	var tokens []token
	for i := 0; i < len(input); {
		c := input[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			tokens, i = append(tokens, token{tokLParen, "("}), i+1
		case c == ')':
			tokens, i = append(tokens, token{tokRParen, ")"}), i+1
		case c == ',':
			tokens, i = append(tokens, token{tokComma, ","}), i+1
		case c == '\'' || c == '"':
			end := strings.IndexByte(input[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated string", errSearchSyntax)
			}
			tokens = append(tokens, token{tokString, input[i+1 : i+1+end]})
			i += end + 2
		case strings.ContainsRune("=!<>", rune(c)):
			op := operatorAt(input[i:])
			if op == "" {
				return nil, fmt.Errorf("%w: bad operator at %d", errSearchSyntax, i)
			}
			tokens, i = append(tokens, token{tokOperator, op}), i+len(op)
		case c == '-' || c >= '0' && c <= '9':
			end := i + 1
			for end < len(input) && (input[end] >= '0' && input[end] <= '9' || input[end] == '.') {
				end++
			}
			if _, err := strconv.ParseFloat(input[i:end], 64); err != nil {
				// "->" and "->>" land here: JSONB expressions are not supported.
				return nil, fmt.Errorf("%w: bad number %q", errSearchSyntax, input[i:end])
			}
			tokens, i = append(tokens, token{tokNumber, input[i:end]}), end
		case c == '_' || unicode.IsLetter(rune(c)):
			end := i + 1
			for end < len(input) && (input[end] == '_' || input[end] == '.' || unicode.IsLetter(rune(input[end])) || unicode.IsDigit(rune(input[end]))) {
				end++
			}
			tokens, i = append(tokens, token{tokIdent, input[i:end]}), end
		default:
			return nil, fmt.Errorf("%w: unexpected %q", errSearchSyntax, c)
		}
	}
	return append(tokens, token{kind: tokEOF}), nil
}

func operatorAt(s string) string {
	for _, op := range []string{"!=", "<>", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

// searchParser is a recursive descent parser writing SQL as it goes.
type searchParser struct {
	table  string
	tokens []token
	pos    int
	args   []any
}

// translateSearch returns the SQL condition for search over table's columns, with
// placeholders $1.. for the returned args.
func translateSearch(table, search string) (string, []any, error) {
	tokens, err := tokenize(search)
	if err != nil {
		return "", nil, err
	}
	p := &searchParser{table: table, tokens: tokens}
	sql, err := p.parseOr()
	if err != nil {
		return "", nil, err
	}
	if p.peek().kind != tokEOF {
		return "", nil, fmt.Errorf("%w: unexpected %q", errSearchSyntax, p.peek().text)
	}
	return sql, p.args, nil
}

func (p *searchParser) peek() token { return p.tokens[p.pos] }

func (p *searchParser) next() token {
	t := p.tokens[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// keyword consumes the next token if it is the (case-insensitive) keyword word.
func (p *searchParser) keyword(word string) bool {
	t := p.peek()
	if t.kind == tokIdent && strings.EqualFold(t.text, word) {
		p.pos++
		return true
	}
	return false
}

func (p *searchParser) expect(kind tokenKind, what string) error {
	if p.next().kind != kind {
		return fmt.Errorf("%w: expected %s", errSearchSyntax, what)
	}
	return nil
}

func (p *searchParser) parseOr() (string, error) {
	return p.parseChain("or", p.parseAnd)
}

func (p *searchParser) parseAnd() (string, error) {
	return p.parseChain("and", p.parseNot)
}

func (p *searchParser) parseChain(word string, operand func() (string, error)) (string, error) {
	sql, err := operand()
	if err != nil {
		return "", err
	}
	for p.keyword(word) {
		right, err := operand()
		if err != nil {
			return "", err
		}
		sql = "(" + sql + " " + strings.ToUpper(word) + " " + right + ")"
	}
	return sql, nil
}

func (p *searchParser) parseNot() (string, error) {
	if p.keyword("not") {
		inner, err := p.parseNot()
		if err != nil {
			return "", err
		}
		return "(NOT " + inner + ")", nil
	}
	if p.peek().kind == tokLParen {
		p.next()
		inner, err := p.parseOr()
		if err != nil {
			return "", err
		}
		return inner, p.expect(tokRParen, ")")
	}
	return p.parseComparison()
}

func (p *searchParser) parseComparison() (string, error) {
	column, err := p.column()
	if err != nil {
		return "", err
	}
	if t := p.peek(); t.kind == tokOperator {
		p.next()
		op := t.text
		if op == "!=" {
			op = "<>"
		}
		value, err := p.value()
		if err != nil {
			return "", err
		}
		return column + " " + op + " " + value, nil
	}
	if p.keyword("is") {
		not := p.keyword("not")
		if !p.keyword("null") {
			return "", fmt.Errorf("%w: expected null", errSearchSyntax)
		}
		return column + " IS " + ifThen(not, "NOT ") + "NULL", nil
	}
	not := p.keyword("not")
	switch {
	case p.keyword("like"):
		return p.binary(column, ifThen(not, "NOT ")+"LIKE")
	case p.keyword("ilike"):
		return p.binary(column, ifThen(not, "NOT ")+"ILIKE")
	case p.keyword("in"):
		return p.in(column, not)
	case p.keyword("between"):
		return p.between(column, not)
	}
	return "", fmt.Errorf("%w: expected an operator after %s", errSearchSyntax, column)
}

func (p *searchParser) binary(column, op string) (string, error) {
	value, err := p.value()
	if err != nil {
		return "", err
	}
	return column + " " + op + " " + value, nil
}

func (p *searchParser) in(column string, not bool) (string, error) {
	if err := p.expect(tokLParen, "("); err != nil {
		return "", err
	}
	var values []string
	for {
		value, err := p.value()
		if err != nil {
			return "", err
		}
		values = append(values, value)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	if err := p.expect(tokRParen, ")"); err != nil {
		return "", err
	}
	return column + " " + ifThen(not, "NOT ") + "IN (" + strings.Join(values, ", ") + ")", nil
}

func (p *searchParser) between(column string, not bool) (string, error) {
	low, err := p.value()
	if err != nil {
		return "", err
	}
	if !p.keyword("and") {
		return "", fmt.Errorf("%w: expected and", errSearchSyntax)
	}
	high, err := p.value()
	if err != nil {
		return "", err
	}
	return column + " " + ifThen(not, "NOT ") + "BETWEEN " + low + " AND " + high, nil
}

// column returns the quoted, table-qualified column the next identifier names.
func (p *searchParser) column() (string, error) {
	t := p.next()
	if t.kind != tokIdent {
		return "", fmt.Errorf("%w: expected a column name", errSearchSyntax)
	}
	parts := strings.Split(t.text, ".")
	switch {
	case len(parts) == 1:
		parts = []string{p.table, parts[0]}
	case len(parts) > 2:
		return "", fmt.Errorf("%w: %s is not a valid field name", errSearchSyntax, t.text)
	}
	for _, part := range parts {
		if !isPlainIdentifier(part) {
			return "", fmt.Errorf("%w: %s is not a valid field name", errSearchSyntax, t.text)
		}
	}
	return pgx.Identifier(parts).Sanitize(), nil
}

// value adds the next literal as a query argument and returns its placeholder.
func (p *searchParser) value() (string, error) {
	t := p.next()
	var arg any
	switch t.kind {
	case tokString:
		arg = t.text
	case tokNumber:
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			arg = n
		} else {
			f, _ := strconv.ParseFloat(t.text, 64)
			arg = f
		}
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true":
			arg = true
		case "false":
			arg = false
		default:
			return "", fmt.Errorf("%w: expected a value, got %s", errSearchSyntax, t.text)
		}
	default:
		return "", fmt.Errorf("%w: expected a value", errSearchSyntax)
	}
	p.args = append(p.args, arg)
	return "$" + strconv.Itoa(len(p.args)), nil
}

func isPlainIdentifier(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range s {
		if c != '_' && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func ifThen(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}
