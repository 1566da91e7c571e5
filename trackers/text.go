package trackers

import "strings"

// AppendReference ends a pull request body with ref (a closing reference
// or a ticket link) unless the body already has it, in any letter case.
func AppendReference(body, ref string) string {
	if strings.Contains(strings.ToLower(body), strings.ToLower(ref)) {
		return body
	}
	if body == "" {
		return ref
	}
	return body + "\n\n" + ref
}
