package jirafake

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestJQLSelectsWhatJiraWould(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddProject("SHOP", "Shop")
	s.AddProject("OPS", "Operations")
	alice := User{AccountID: "557058:alice", DisplayName: "Alice"}
	a := s.CreateIssue("SHOP", NewIssue{Summary: "a", Labels: []string{"agent-smith", "bug"}})
	b := s.CreateIssue("SHOP", NewIssue{Summary: "b", Labels: []string{"ai-fix", "agent-smith:done"}, Status: "In Progress"})
	c := s.CreateIssue("SHOP", NewIssue{Summary: "c", Status: "Done", Assignee: &alice})
	d := s.CreateIssue("OPS", NewIssue{Summary: "d", Labels: []string{"agent-smith"}})
	cases := []struct {
		jql  string
		want []string
	}{
		{`project = SHOP`, []string{a, b, c}},
		{`project = "shop" AND labels = "Agent-Smith"`, []string{a}},
		{`labels in ("agent-smith", "ai-fix")`, []string{a, b, d}},
		{`project in (SHOP, OPS) AND labels not in ("agent-smith:done")`, []string{a, d}},
		{`labels != bug`, []string{b, d}},
		{`labels is EMPTY`, []string{c}},
		{`labels is not empty AND NOT project = OPS`, []string{a, b}},
		{`status in ("To Do", "in progress") ORDER BY created DESC`, []string{d, b, a}},
		{`status = Done OR (project = OPS AND labels = agent-smith)`, []string{c, d}},
		{`assignee = "557058:alice"`, []string{c}},
		{`assignee is EMPTY AND project = SHOP`, []string{a, b}},
		{`assignee != "557058:alice"`, nil},
		{`key = shop-2 OR issuekey in (OPS-1)`, []string{b, d}},
		{`project = SHOP order by key desc`, []string{c, b, a}},
	}
	for _, tc := range cases {
		t.Run(tc.jql, func(t *testing.T) {
			g := NewWithT(t)
			q, err := s.parseJQL(tc.jql)
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			var hits []*issue
			for _, is := range s.issues {
				if q.where.match(matcher{}, is) {
					hits = append(hits, is)
				}
			}
			sortIssues(hits, q.order)
			for _, is := range hits {
				got = append(got, is.key)
			}
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestJQLRefusesWhatJiraRefuses(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddProject("SHOP", "Shop")
	cases := []struct {
		jql  string
		want []string
	}{
		{`labels = agent+smith`, []string{`Error in the JQL Query: The character '+' is a reserved JQL character. You must enclose it in a string or use the escape '\u002b' instead. (line 1, character 15)`}},
		{`labels = "agent-smith`, []string{`Error in the JQL Query: The quoted string 'agent-smith' has not been completed. (line 1, character 10)`}},
		{`status in ("To Do", "Open", "Backlog")`, []string{
			"The value 'Open' does not exist for the field 'status'.", "The value 'Backlog' does not exist for the field 'status'."}},
		{`project = NOPE`, []string{"The value 'NOPE' does not exist for the field 'project'."}},
		{`sprint = 4`, []string{"Field 'sprint' does not exist or you do not have permission to view it."}},
		{`labels ~ bug`, []string{"The operator '~' is not supported by the 'labels' field."}},
		{`project = SHOP AND`, []string{"Error in the JQL Query: Expecting a field name but got the end of the query."}},
		{`project = SHOP labels = bug`, []string{"Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'labels'. (line 1, character 16)"}},
		{`project = SHOP ORDER BY priority`, []string{"Not able to sort using field 'priority'."}},
		{`assignee = whoami()`, []string{"Unable to find JQL function 'whoami()'."}},
		{`project`, []string{"Error in the JQL Query: Expecting an operator but got the end of the query."}},
		{`labels in ("a" "b")`, []string{`Error in the JQL Query: Expecting ',' or ')' but got 'b'. (line 1, character 16)`}},
	}
	for _, tc := range cases {
		t.Run(tc.jql, func(t *testing.T) {
			g := NewWithT(t)
			_, err := s.parseJQL(tc.jql)
			g.Expect(err).To(BeAssignableToTypeOf(jqlError{}))
			g.Expect([]string(err.(jqlError))).To(Equal(tc.want))
		})
	}
}

// FuzzJQL: the parser never panics, and a query it accepts evaluates.
func FuzzJQL(f *testing.F) {
	for _, q := range []string{
		`project = "SHOP" AND status in ("To Do") AND labels in ("agent-smith") AND labels not in ("agent-smith:done") ORDER BY created ASC`,
		`NOT (labels is EMPTY OR assignee = currentUser()) order by key desc, created`,
		`key = SHOP-1`, `"status" != 'Done'`, `labels in (a, "b\"c")`,
	} {
		f.Add(q)
	}
	s := New()
	defer s.Close()
	s.AddProject("SHOP", "Shop")
	is := s.issues[s.CreateIssue("SHOP", NewIssue{Summary: "x", Labels: []string{"a"}})]
	f.Fuzz(func(t *testing.T, jql string) {
		q, err := s.parseJQL(jql)
		if err != nil {
			if _, ok := err.(jqlError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if q.where != nil {
			q.where.match(matcher{}, is)
		}
		sortIssues([]*issue{is, is}, q.order)
	})
}
