package state

// DefaultLimit is how many runs ListRuns returns when Filter.Limit is 0.
const DefaultLimit = 100

// Match reports whether r passes f's Workflow, Env and Status.
func (f Filter) Match(r *Run) bool {
	return (f.Workflow == "" || r.Workflow == f.Workflow) &&
		(f.Env == "" || r.Env == f.Env) &&
		(f.Status == "" || r.Status == f.Status)
}

// MaxRuns is f.Limit, or DefaultLimit when f.Limit is not positive.
func (f Filter) MaxRuns() int {
	if f.Limit <= 0 {
		return DefaultLimit
	}
	return f.Limit
}
