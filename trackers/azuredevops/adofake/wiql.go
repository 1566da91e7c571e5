package adofake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The WIQL the fake understands: SELECT of fields FROM WorkItems, a WHERE
// of predicates joined by AND, OR and parentheses, and ORDER BY
// [System.Id] ASC|DESC. Predicates compare a field with =, <>, <, <=, >,
// >=, IN (…), NOT IN (…), CONTAINS, NOT CONTAINS, UNDER and NOT UNDER; values
// are 'strings' ('' escapes a quote), numbers and @project. Strings compare
// without regard to case. On System.Tags CONTAINS matches a whole tag. A
// query outside this is refused, so a client cannot pass by sending WIQL
// the fake only half understands.

type wiqlQuery struct {
	where expr
	desc  bool
}

type expr interface {
	eval(w WorkItem, project string) (bool, error)
}

type orExpr []expr
type andExpr []expr

func (o orExpr) eval(w WorkItem, p string) (bool, error) {
	for _, e := range o {
		if ok, err := e.eval(w, p); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (a andExpr) eval(w WorkItem, p string) (bool, error) {
	for _, e := range a {
		if ok, err := e.eval(w, p); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// always is the WHERE of a query without one.
type always struct{}

func (always) eval(WorkItem, string) (bool, error) { return true, nil }

type value struct {
	str     string
	num     int
	isNum   bool
	project bool
}

func (v value) text(project string) string {
	switch {
	case v.project:
		return project
	case v.isNum:
		return strconv.Itoa(v.num)
	}
	return v.str
}

type predicate struct {
	field string
	// op is =, <, <=, >, >=, in, contains or under; <> is a negated =.
	op     string
	not    bool
	values []value
}

func (p predicate) eval(w WorkItem, project string) (bool, error) {
	ok, err := p.test(w, project)
	if p.not {
		ok = !ok
	}
	return ok, err
}

func (p predicate) test(w WorkItem, project string) (bool, error) {
	if strings.EqualFold(p.field, "System.Id") {
		if p.op == "in" {
			for _, v := range p.values {
				if v.isNum && v.num == w.ID {
					return true, nil
				}
			}
			return false, nil
		}
		if !p.values[0].isNum {
			return false, fmt.Errorf("TF51005: [System.Id] compares with numbers")
		}
		return compare(w.ID, p.values[0].num, p.op)
	}
	got, tags, err := fieldText(w, p.field)
	if err != nil {
		return false, err
	}
	switch p.op {
	case "=":
		return strings.EqualFold(got, p.values[0].text(project)), nil
	case "in":
		for _, v := range p.values {
			if strings.EqualFold(got, v.text(project)) {
				return true, nil
			}
		}
		return false, nil
	case "contains":
		want := p.values[0].text(project)
		if tags != nil {
			return containsFold(tags, want), nil
		}
		return strings.Contains(strings.ToLower(got), strings.ToLower(want)), nil
	case "under":
		area := strings.ToLower(p.values[0].text(project))
		g := strings.ToLower(got)
		return g == area || strings.HasPrefix(g, area+`\`), nil
	}
	return false, fmt.Errorf("TF51006: operator %s is not supported on [%s]", p.op, p.field)
}

func compare(a, b int, op string) (bool, error) {
	switch op {
	case "=":
		return a == b, nil
	case "<":
		return a < b, nil
	case "<=":
		return a <= b, nil
	case ">":
		return a > b, nil
	case ">=":
		return a >= b, nil
	}
	return false, fmt.Errorf("TF51006: operator %s is not supported on [System.Id]", op)
}

// fieldText is a field's value for comparison; tags also as a list.
func fieldText(w WorkItem, field string) (string, []string, error) {
	switch strings.ToLower(field) {
	case "system.teamproject":
		return w.Project, nil, nil
	case "system.state":
		return w.State, nil, nil
	case "system.tags":
		return strings.Join(w.Tags, "; "), append([]string{}, w.Tags...), nil
	case "system.areapath":
		return w.AreaPath, nil, nil
	case "system.workitemtype":
		return w.Type, nil, nil
	case "system.title":
		return w.Title, nil, nil
	}
	return "", nil, fmt.Errorf("TF51005: The query references a field that does not exist. The error is caused by «[%s]»", field)
}

// parseWIQL parses a query of the supported form.
func parseWIQL(q string) (*wiqlQuery, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if !p.keyword("select") {
		return nil, errors.New("expected SELECT")
	}
	for {
		if _, err := p.field(); err != nil {
			return nil, err
		}
		if !p.punct(",") {
			break
		}
	}
	if !p.keyword("from") || !p.keyword("workitems") {
		return nil, errors.New("expected FROM WorkItems")
	}
	out := &wiqlQuery{where: always{}}
	if p.keyword("where") {
		if out.where, err = p.or(); err != nil {
			return nil, err
		}
	}
	if p.keyword("order") {
		if !p.keyword("by") {
			return nil, errors.New("expected BY after ORDER")
		}
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(f, "System.Id") {
			return nil, fmt.Errorf("ORDER BY [%s] is not supported, only [System.Id]", f)
		}
		if p.keyword("desc") {
			out.desc = true
		} else {
			p.keyword("asc")
		}
	}
	if !p.done() {
		return nil, fmt.Errorf("unexpected %q", p.peek().text)
	}
	return out, nil
}

type tokKind int

const (
	tokWord tokKind = iota
	tokField
	tokString
	tokNumber
	tokMacro
	tokPunct
)

type token struct {
	kind tokKind
	text string
}

func lex(q string) ([]token, error) {
	var out []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '[':
			j := i + 1
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				return nil, errors.New("unclosed [")
			}
			out = append(out, token{tokField, string(rs[i+1 : j])})
			i = j + 1
		case r == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						b.WriteRune('\'')
						j++
						continue
					}
					break
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, errors.New("unclosed string")
			}
			out = append(out, token{tokString, b.String()})
			i = j + 1
		case unicode.IsDigit(r):
			j := i
			for j < len(rs) && unicode.IsDigit(rs[j]) {
				j++
			}
			out = append(out, token{tokNumber, string(rs[i:j])})
			i = j
		case r == '@' || unicode.IsLetter(r):
			j := i + 1
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_') {
				j++
			}
			kind := tokWord
			if r == '@' {
				kind = tokMacro
			}
			out = append(out, token{kind, string(rs[i:j])})
			i = j
		case strings.ContainsRune("(),", r):
			out = append(out, token{tokPunct, string(r)})
			i++
		case strings.ContainsRune("=<>", r):
			j := i + 1
			if j < len(rs) && (rs[j] == '=' || (r == '<' && rs[j] == '>')) {
				j++
			}
			out = append(out, token{tokPunct, string(rs[i:j])})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", r)
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) done() bool { return p.pos >= len(p.toks) }

func (p *parser) peek() token {
	if p.done() {
		return token{kind: -1}
	}
	return p.toks[p.pos]
}

func (p *parser) keyword(w string) bool {
	if t := p.peek(); t.kind == tokWord && strings.EqualFold(t.text, w) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == tokPunct && t.text == s {
		p.pos++
		return true
	}
	return false
}

func (p *parser) field() (string, error) {
	t := p.peek()
	if t.kind != tokField {
		return "", fmt.Errorf("expected a [field], got %q", t.text)
	}
	p.pos++
	return t.text, nil
}

func (p *parser) or() (expr, error) {
	var terms orExpr
	for {
		t, err := p.and()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if !p.keyword("or") {
			return terms, nil
		}
	}
}

func (p *parser) and() (expr, error) {
	var terms andExpr
	for {
		t, err := p.unary()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if !p.keyword("and") {
			return terms, nil
		}
	}
}

var comparisons = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

func (p *parser) unary() (expr, error) {
	if p.punct("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, errors.New("expected )")
		}
		return e, nil
	}
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	pr := predicate{field: f}
	if p.keyword("not") {
		pr.not = true
	}
	switch t := p.peek(); {
	case t.kind == tokPunct && comparisons[t.text]:
		if pr.not {
			return nil, errors.New("NOT before a comparison")
		}
		p.pos++
		pr.op = t.text
		if t.text == "<>" {
			pr.op, pr.not = "=", true
		}
	case p.keyword("in"):
		pr.op = "in"
	case p.keyword("contains"):
		pr.op = "contains"
	case p.keyword("under"):
		pr.op = "under"
	default:
		return nil, fmt.Errorf("expected an operator after [%s]", f)
	}
	if pr.op == "in" {
		if !p.punct("(") {
			return nil, errors.New("expected ( after IN")
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			pr.values = append(pr.values, v)
			if p.punct(")") {
				break
			}
			if !p.punct(",") {
				return nil, errors.New("expected , or ) in IN list")
			}
		}
		return pr, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	pr.values = []value{v}
	return pr, nil
}

func (p *parser) value() (value, error) {
	t := p.peek()
	p.pos++
	switch t.kind {
	case tokString:
		return value{str: t.text}, nil
	case tokNumber:
		n, err := strconv.Atoi(t.text)
		return value{num: n, isNum: true}, err
	case tokMacro:
		if strings.EqualFold(t.text, "@project") {
			return value{project: true}, nil
		}
		return value{}, fmt.Errorf("macro %s is not supported", t.text)
	}
	return value{}, fmt.Errorf("expected a value, got %q", t.text)
}
