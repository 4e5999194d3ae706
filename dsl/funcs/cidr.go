package funcs

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/go-cty-funcs/cidr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// CidrContainsFunc is cidrcontains(containing_prefix, contained): whether
// an address or a prefix lies within a prefix of the same family, as
// OpenTofu's.
var CidrContainsFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "containing_prefix", Type: cty.String},
		{Name: "contained_ip_or_prefix", Type: cty.String},
	},
	Type:         function.StaticReturnType(cty.Bool),
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		outer, err := netip.ParsePrefix(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.Bool), function.NewArgErrorf(0, "invalid CIDR expression: %s", err)
		}
		outer = outer.Masked()
		s := args[1].AsString()
		var inner netip.Prefix
		if strings.Contains(s, "/") {
			inner, err = netip.ParsePrefix(s)
		} else {
			var addr netip.Addr
			if addr, err = netip.ParseAddr(s); err == nil {
				inner = netip.PrefixFrom(addr, addr.BitLen())
			}
		}
		if err != nil {
			return cty.UnknownVal(cty.Bool), function.NewArgErrorf(1, "invalid IP address or CIDR expression: %s", err)
		}
		if outer.Addr().Is4() != inner.Addr().Is4() {
			return cty.UnknownVal(cty.Bool), fmt.Errorf("address family mismatch: %s and %s are not both IPv4 or both IPv6", args[0].AsString(), s)
		}
		return cty.BoolVal(inner.Bits() >= outer.Bits() && outer.Contains(inner.Addr())), nil
	},
})

// CidrNetmaskFunc is cidrnetmask(prefix), go-cty-funcs' with Terraform's
// rule that only an IPv4 prefix has a netmask.
var CidrNetmaskFunc = function.New(&function.Spec{
	Params: cidr.NetmaskFunc.Params(),
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if p, err := netip.ParsePrefix(args[0].AsString()); err == nil && !p.Addr().Unmap().Is4() {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "IPv6 addresses cannot have a netmask: %s", args[0].AsString())
		}
		return cidr.NetmaskFunc.Call(args)
	},
})
