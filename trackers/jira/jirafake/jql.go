package jirafake

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The JQL the fake understands: clauses on project, status, labels,
// assignee and key (issuekey) with =, !=, IN, NOT IN, IS [NOT] EMPTY|NULL;
// AND, OR, NOT and parentheses; ORDER BY created, updated or key, ASC or
// DESC. Like Jira it refuses unquoted reserved characters, unknown fields,
// unsupported operators, and status or project values the site does not
// have, with Jira's messages.

// jqlError is a query Jira would refuse; each message is one of Jira's
// errorMessages.
type jqlError []string

func (e jqlError) Error() string { return strings.Join(e, "; ") }

type query struct {
	where expr // nil: every issue
	order []orderKey
}

type orderKey struct {
	field string
	desc  bool
}

type expr interface {
	match(m matcher, is *issue) bool
}

// matcher is what clauses need besides the issue.
type matcher struct{ currentUser string }

type andExpr struct{ l, r expr }
type orExpr struct{ l, r expr }
type notExpr struct{ e expr }

func (e andExpr) match(m matcher, is *issue) bool { return e.l.match(m, is) && e.r.match(m, is) }
func (e orExpr) match(m matcher, is *issue) bool  { return e.l.match(m, is) || e.r.match(m, is) }
func (e notExpr) match(m matcher, is *issue) bool { return !e.e.match(m, is) }

// clause is field op values; values of IS / IS NOT are empty.
type clause struct {
	field  string
	op     string // "=", "!=", "in", "not in", "is", "is not"
	values []value
}

type value struct {
	text     string
	function bool // currentUser()
}

func (c clause) match(m matcher, is *issue) bool {
	have := fieldValues(is, c.field)
	matches := func(v value) bool {
		want := v.text
		if v.function {
			want = m.currentUser
		}
		return slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, want) })
	}
	switch c.op {
	case "=", "in":
		return slices.ContainsFunc(c.values, matches)
	case "!=", "not in":
		// As in Jira, a negation never matches an empty field.
		return len(have) > 0 && !slices.ContainsFunc(c.values, matches)
	case "is":
		return len(have) == 0
	case "is not":
		return len(have) > 0
	}
	return false
}

// fieldValues are the values a field has on an issue; a value may be
// matched under any of its names (key or id, name or id).
func fieldValues(is *issue, field string) []string {
	switch field {
	case "project":
		return []string{is.project.key, is.project.name, is.project.id}
	case "status":
		return []string{is.status}
	case "labels":
		return is.labels
	case "assignee":
		if is.assignee == nil {
			return nil
		}
		return []string{is.assignee.AccountID}
	case "key":
		return []string{is.key, is.id}
	}
	return nil
}

// fieldAliases maps JQL field names to the fake's.
var fieldAliases = map[string]string{
	"project": "project", "status": "status", "labels": "labels", "label": "labels",
	"assignee": "assignee", "key": "key", "issuekey": "key", "id": "key",
}

var orderFields = []string{"created", "updated", "key"}

// parseJQL parses and checks a query against the site's statuses and
// projects.
func (s *Server) parseJQL(jql string) (query, error) {
	toks, err := lex(jql)
	if err != nil {
		return query{}, err
	}
	p := &parser{toks: toks}
	q, err := p.query()
	if err != nil {
		return query{}, err
	}
	if bad := s.checkValues(q.where); len(bad) > 0 {
		return query{}, bad
	}
	return q, nil
}

// checkValues reports status and project values the site does not have,
// as Jira does (one message each).
func (s *Server) checkValues(e expr) jqlError {
	var bad jqlError
	var walk func(expr)
	walk = func(e expr) {
		switch e := e.(type) {
		case andExpr:
			walk(e.l)
			walk(e.r)
		case orExpr:
			walk(e.l)
			walk(e.r)
		case notExpr:
			walk(e.e)
		case clause:
			for _, v := range e.values {
				ok := true
				switch e.field {
				case "status":
					_, ok = s.status(v.text)
				case "project":
					ok = slices.ContainsFunc(slicesOf(s.projects), func(p *project) bool {
						return strings.EqualFold(p.key, v.text) || strings.EqualFold(p.name, v.text) || p.id == v.text
					})
				}
				if !ok {
					bad = append(bad, fmt.Sprintf("The value '%s' does not exist for the field '%s'.", v.text, e.field))
				}
			}
		}
	}
	if e != nil {
		walk(e)
	}
	return bad
}

func slicesOf(m map[string]*project) []*project {
	out := make([]*project, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	return out
}

// sortIssues orders issues by the query's ORDER BY (created ascending when
// it has none), ties broken by key.
func sortIssues(issues []*issue, order []orderKey) {
	if len(order) == 0 {
		order = []orderKey{{field: "created"}}
	}
	slices.SortStableFunc(issues, func(a, b *issue) int {
		for _, o := range order {
			c := 0
			switch o.field {
			case "created":
				c = a.created.Compare(b.created)
			case "updated":
				c = a.updated.Compare(b.updated)
			case "key":
				c = compareKeys(a, b)
			}
			if o.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return compareKeys(a, b)
	})
}

func compareKeys(a, b *issue) int {
	if c := cmp.Compare(a.project.key, b.project.key); c != 0 {
		return c
	}
	_, na, _ := strings.Cut(a.key, "-")
	_, nb, _ := strings.Cut(b.key, "-")
	ia, _ := strconv.Atoi(na)
	ib, _ := strconv.Atoi(nb)
	return cmp.Compare(ia, ib)
}

type tokKind int

const (
	tWord tokKind = iota
	tString
	tOp
	tLParen
	tRParen
	tComma
	tEOF
)

type token struct {
	kind tokKind
	text string
	pos  int // 1-based character position, for messages
}

// lex splits a query into tokens. Outside quotes only letters, digits,
// underscores and (inside a word, as in SHOP-7) hyphens make words; every
// other character but space, parentheses, commas and operators is
// reserved, as in Jira.
func lex(q string) ([]token, error) {
	rs := []rune(q)
	var out []token
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			out = append(out, token{tLParen, "(", i + 1})
			i++
		case r == ')':
			out = append(out, token{tRParen, ")", i + 1})
			i++
		case r == ',':
			out = append(out, token{tComma, ",", i + 1})
			i++
		case r == '"' || r == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, jqlError{fmt.Sprintf("Error in the JQL Query: The quoted string '%s' has not been completed. (line 1, character %d)", string(rs[i+1:]), i+1)}
			}
			out = append(out, token{tString, b.String(), i + 1})
			i = j + 1
		case r == '=' || r == '~' || r == '<' || r == '>' || r == '!':
			j := i + 1
			if j < len(rs) && (rs[j] == '=' || rs[j] == '~') && r != '=' && r != '~' {
				j++
			}
			op := string(rs[i:j])
			if op == "!" {
				return nil, reserved(r, i)
			}
			out = append(out, token{tOp, op, i + 1})
			i = j
		case wordRune(r):
			j := i
			for j < len(rs) && (wordRune(rs[j]) || rs[j] == '-') {
				j++
			}
			out = append(out, token{tWord, string(rs[i:j]), i + 1})
			i = j
		default:
			return nil, reserved(r, i)
		}
	}
	return append(out, token{tEOF, "", len(rs) + 1}), nil
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

func reserved(r rune, i int) error {
	return jqlError{fmt.Sprintf("Error in the JQL Query: The character '%c' is a reserved JQL character. You must enclose it in a string or use the escape '\\u%04x' instead. (line 1, character %d)", r, r, i+1)}
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tWord && strings.EqualFold(t.text, w)
}

func (p *parser) expected(what string) error {
	t := p.peek()
	if t.kind == tEOF {
		return jqlError{fmt.Sprintf("Error in the JQL Query: Expecting %s but got the end of the query.", what)}
	}
	return jqlError{fmt.Sprintf("Error in the JQL Query: Expecting %s but got '%s'. (line 1, character %d)", what, t.text, t.pos)}
}

func (p *parser) query() (query, error) {
	var q query
	if !p.isWord("order") && p.peek().kind != tEOF {
		e, err := p.or()
		if err != nil {
			return q, err
		}
		q.where = e
	}
	if p.isWord("order") {
		p.next()
		if !p.isWord("by") {
			return q, p.expected("'by'")
		}
		p.next()
		for {
			if k := p.peek().kind; k != tWord && k != tString {
				return q, p.expected("a field name")
			}
			t := p.next()
			f := strings.ToLower(t.text)
			if f == "issuekey" {
				f = "key"
			}
			if !slices.Contains(orderFields, f) {
				return q, jqlError{fmt.Sprintf("Not able to sort using field '%s'.", t.text)}
			}
			k := orderKey{field: f}
			switch {
			case p.isWord("asc"):
				p.next()
			case p.isWord("desc"):
				p.next()
				k.desc = true
			}
			q.order = append(q.order, k)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if p.peek().kind != tEOF {
		return q, p.expected("either 'OR' or 'AND'")
	}
	return q, nil
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.isWord("or") {
		p.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (p *parser) and() (expr, error) {
	l, err := p.not()
	for err == nil && p.isWord("and") {
		p.next()
		var r expr
		if r, err = p.not(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (p *parser) not() (expr, error) {
	switch {
	case p.isWord("not"):
		p.next()
		e, err := p.not()
		return notExpr{e}, err
	case p.peek().kind == tLParen:
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.expected("')'")
		}
		p.next()
		return e, nil
	}
	return p.clause()
}

func (p *parser) clause() (expr, error) {
	if k := p.peek().kind; k != tWord && k != tString {
		return nil, p.expected("a field name")
	}
	t := p.next()
	field, ok := fieldAliases[strings.ToLower(t.text)]
	if !ok {
		return nil, jqlError{fmt.Sprintf("Field '%s' does not exist or you do not have permission to view it.", t.text)}
	}
	c := clause{field: field}
	switch op := p.next(); {
	case op.kind == tOp && (op.text == "=" || op.text == "!="):
		c.op = op.text
		if p.isWord("empty") || p.isWord("null") {
			p.next()
			c.op = map[string]string{"=": "is", "!=": "is not"}[op.text]
			return c, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		c.values = []value{v}
	case op.kind == tOp:
		return nil, jqlError{fmt.Sprintf("The operator '%s' is not supported by the '%s' field.", op.text, t.text)}
	case op.kind == tWord && strings.EqualFold(op.text, "in"):
		c.op = "in"
	case op.kind == tWord && strings.EqualFold(op.text, "not") && p.isWord("in"):
		p.next()
		c.op = "not in"
	case op.kind == tWord && strings.EqualFold(op.text, "is"):
		c.op = "is"
		if p.isWord("not") {
			p.next()
			c.op = "is not"
		}
		if !p.isWord("empty") && !p.isWord("null") {
			return nil, p.expected("EMPTY or NULL")
		}
		p.next()
		return c, nil
	default:
		if op.kind != tEOF {
			p.i--
		}
		return nil, p.expected("an operator")
	}
	if c.op == "in" || c.op == "not in" {
		if p.peek().kind != tLParen {
			return nil, p.expected("'('")
		}
		p.next()
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			c.values = append(c.values, v)
			if p.peek().kind == tRParen {
				p.next()
				break
			}
			if p.peek().kind != tComma {
				return nil, p.expected("',' or ')'")
			}
			p.next()
		}
	}
	return c, nil
}

func (p *parser) value() (value, error) {
	if k := p.peek().kind; k != tWord && k != tString {
		return value{}, p.expected("either a value, list or function")
	}
	t := p.next()
	if t.kind == tWord && p.peek().kind == tLParen {
		if !strings.EqualFold(t.text, "currentUser") {
			return value{}, jqlError{fmt.Sprintf("Unable to find JQL function '%s()'.", t.text)}
		}
		p.next()
		if p.peek().kind != tRParen {
			return value{}, p.expected("')'")
		}
		p.next()
		return value{function: true}, nil
	}
	return value{text: t.text}, nil
}
