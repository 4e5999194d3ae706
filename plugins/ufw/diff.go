package ufw

import (
	"fmt"
	"strconv"
)

// change is one command of an apply: a rule added or deleted, a default
// policy, the logging level, or ufw enabled or disabled.
type change struct {
	// Line is what plans and logs show: "+ allow 443/tcp from any".
	Line string
	// Args is the command after "ufw".
	Args []string
	// Rule is the rule added or deleted, nil for the others; Old is the
	// rule an update replaces in place.
	Rule, Old *rule
	Added     bool
}

// diff computes the changes that turn cur into w, in the order they are
// applied (docs/ufw-plugin.md, "The order of an apply"):
//
//  1. in the rule set's order: rules to add, each inserted before the
//     rule that follows it in the set (or appended); rules in place whose
//     action or comment changes, updated in place (one ufw command: ufw
//     swaps the verdict at once); and a rule that is there out of place,
//     deleted just before it is inserted where it belongs (the only gap);
//  2. default policies that close more (allow to deny or reject);
//  3. the rules the set no longer has, deleted;
//  4. default policies that open more (deny or reject to allow), the
//     logging level, and enabling (or disabling) ufw.
//
// Every rule of the new set is in place before anything the old set
// allowed is closed by a policy or a deletion, and anything opened by a
// policy comes last, once the new set's denies are in.
func diff(cur *state, w *want) []change {
	var out []change
	kept := lcs(cur.Rules, w.Rules)
	wanted := map[string]bool{}
	for _, r := range w.Rules {
		wanted[r.key()] = true
	}
	live := append([]rule(nil), cur.Rules...)
	indexOf := func(key string) int {
		for i := range live {
			if live[i].key() == key {
				return i
			}
		}
		return -1
	}
	for i := range w.Rules {
		r := w.Rules[i]
		if kept[r.key()] {
			old := live[indexOf(r.key())]
			if old.Action != r.Action || old.Comment != r.Comment {
				rc := r
				out = append(out, change{Line: "~ " + old.String() + " -> " + r.String(), Args: r.args(true), Rule: &rc, Old: &old, Added: true})
			}
			continue
		}
		if j := indexOf(r.key()); j >= 0 {
			old := live[j]
			out = append(out, deleteChange(old))
			live = append(live[:j], live[j+1:]...)
		}
		// Insert before the next rule of the set that is in place already
		// and that ufw numbers (an IPv4 one: IPv6-only rules come last).
		pos, at := 0, len(live)
		for _, next := range w.Rules[i+1:] {
			if j := indexOf(next.key()); j >= 0 && live[j].v4 && r.v4 {
				pos, at = number(live, j), j
				break
			}
		}
		args := r.args(true)
		if pos > 0 {
			args = append([]string{"insert", strconv.Itoa(pos)}, args...)
		}
		rc := r
		out = append(out, change{Line: "+ " + r.String(), Args: args, Rule: &rc, Added: true})
		live = append(live[:at], append([]rule{r}, live[at:]...)...)
	}
	var opening []change
	for _, name := range policyNames {
		to, ok := w.Defaults[name]
		from := cur.Defaults[name]
		if !ok || to == from {
			continue
		}
		c := change{Line: fmt.Sprintf("~ default %s: %s -> %s", name, from, to), Args: []string{"default", to, name}}
		if to == "allow" {
			opening = append(opening, c)
		} else {
			out = append(out, c)
		}
	}
	for _, r := range cur.Rules {
		if !wanted[r.key()] {
			out = append(out, deleteChange(r))
		}
	}
	out = append(out, opening...)
	if w.Logging != "" && w.Logging != cur.Logging {
		out = append(out, change{Line: fmt.Sprintf("~ logging: %s -> %s", cur.Logging, w.Logging), Args: []string{"logging", w.Logging}})
	}
	switch {
	case w.Enable && !cur.Enabled:
		out = append(out, change{Line: "+ enable ufw (it is inactive)", Args: []string{"--force", "enable"}})
	case !w.Enable && cur.Enabled:
		out = append(out, change{Line: "- disable ufw (enable = false)", Args: []string{"disable"}})
	}
	return out
}

func deleteChange(r rule) change {
	return change{Line: "- " + r.String(), Args: append([]string{"delete"}, r.args(false)...), Rule: &r}
}

// number is ufw's number of live[j] in `ufw status numbered` (IPv4 rules
// are numbered first).
func number(live []rule, j int) int {
	n := 0
	for i := 0; i <= j; i++ {
		if live[i].v4 {
			n++
		}
	}
	return n
}

// lcs returns the keys of the longest common subsequence of a and b: the
// rules an apply keeps where they are.
func lcs(a, b []rule) map[string]bool {
	id := func(r rule) string { return r.key() }
	n, m := len(a), len(b)
	t := make([][]int, n+1)
	for i := range t {
		t[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if id(a[i]) == id(b[j]) {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	kept := map[string]bool{}
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case id(a[i]) == id(b[j]):
			kept[id(a[i])] = true
			i, j = i+1, j+1
		case t[i+1][j] >= t[i][j+1]:
			i++
		default:
			j++
		}
	}
	return kept
}
