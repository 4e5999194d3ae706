package dsl

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Group is a `group "NAME"` block in an environment: a set of its hosts a
// step may target, one instance per host. A group's members are the hosts
// its block lists and the hosts whose groups argument names it; a group
// needs no block when its hosts name it.
type Group struct {
	Name string
	// Hosts are the hosts the block lists, each written at the same index
	// of HostRanges.
	Hosts      []string
	HostRanges []hcl.Range
	DeclRange  hcl.Range
	NameRange  hcl.Range
}

// decodeGroup decodes a `group "NAME"` block whose header is valid.
func (d *decoder) decodeGroup(b *hclsyntax.Block) *Group {
	g := &Group{Name: b.Labels[0], DeclRange: b.DefRange(), NameRange: b.LabelRanges[0]}
	if g.Name == LocalTarget {
		d.errorf(g.NameRange, "Reserved group name", `target = "local" is the machine zrun runs on; give the group another name.`)
	}
	for _, attr := range syntaxAttributes(b.Body) {
		switch attr.Name {
		case "hosts":
			g.Hosts, g.HostRanges = d.decodeNameList(attr, "hosts", `hosts = ["web1", "web2"]`)
		default:
			d.errorf(attr.NameRange, "Unsupported argument", "A group block takes no argument %q. %s",
				attr.Name, Suggest(attr.Name, []string{"hosts"}, "arguments"))
		}
	}
	for _, nb := range b.Body.Blocks {
		d.errorf(nb.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in a group.", nb.Type)
	}
	return g
}

// ownGroups returns the group blocks of the environment, as Group gives
// them, sorted by name.
func (e *Environment) ownGroups() []*Group {
	blocks := map[string]*Group{}
	for _, c := range e.chain() {
		inherit(blocks, c.own.groups)
	}
	out := make([]*Group, 0, len(blocks))
	for _, name := range sortedKeys(blocks) {
		out = append(out, blocks[name])
	}
	return out
}

// Group returns the group block name: the environment's own, or the
// nearest one of the chain it extends. A group only its hosts name has
// no block: GroupHosts gives the members of either.
func (e *Environment) Group(name string) (*Group, bool) {
	for c := e; c != nil; c = c.Parent {
		if g, ok := c.own.groups[name]; ok {
			return g, true
		}
	}
	return nil, false
}

// Groups returns every group of the environment and its members, sorted:
// the hosts of its block (the nearest of the chain) and the hosts whose
// groups argument names it. A member its block lists but no environment
// of the chain declares is left out (a load error).
func (e *Environment) Groups() map[string][]string {
	hosts := e.Hosts()
	out := map[string][]string{}
	for _, g := range e.ownGroups() {
		out[g.Name] = []string{}
		for _, m := range g.Hosts {
			if _, ok := hosts[m]; ok {
				out[g.Name] = append(out[g.Name], m)
			}
		}
	}
	for name, h := range hosts {
		for _, g := range h.Groups {
			out[g] = append(out[g], name)
		}
	}
	for g, members := range out {
		slices.Sort(members)
		out[g] = slices.Compact(members)
	}
	return out
}

// GroupHosts returns the members of group name, sorted, and whether the
// environment has such a group.
func (e *Environment) GroupHosts(name string) ([]string, bool) {
	members, ok := e.Groups()[name]
	return members, ok
}

// TargetNames returns the names a step's target may take in the
// environment: its hosts and its groups, sorted, for suggestions.
func (e *Environment) TargetNames() []string {
	names := append(sortedKeys(e.Hosts()), sortedKeys(e.Groups())...)
	slices.Sort(names)
	return slices.Compact(names)
}
