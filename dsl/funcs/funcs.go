package funcs

import (
	"maps"

	"github.com/hashicorp/go-cty-funcs/cidr"
	"github.com/hashicorp/go-cty-funcs/collection"
	"github.com/hashicorp/go-cty-funcs/crypto"
	"github.com/hashicorp/go-cty-funcs/encoding"
	"github.com/hashicorp/go-cty-funcs/filesystem"
	"github.com/hashicorp/go-cty-funcs/uuid"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions returns every function of the language by name. Relative paths
// given to file, fileexists, fileset and templatefile resolve against
// baseDir, the project folder.
func Functions(baseDir string) map[string]function.Function {
	fns := map[string]function.Function{
		// Strings.
		"chomp":       stdlib.ChompFunc,
		"endswith":    EndsWithFunc,
		"format":      stdlib.FormatFunc,
		"formatlist":  stdlib.FormatListFunc,
		"indent":      stdlib.IndentFunc,
		"join":        stdlib.JoinFunc,
		"lower":       stdlib.LowerFunc,
		"regex":       stdlib.RegexFunc,
		"regexall":    stdlib.RegexAllFunc,
		"replace":     ReplaceFunc,
		"split":       stdlib.SplitFunc,
		"startswith":  StartsWithFunc,
		"strcontains": StrContainsFunc,
		"strlen":      stdlib.StrlenFunc,
		"strrev":      stdlib.ReverseFunc,
		"substr":      stdlib.SubstrFunc,
		"title":       stdlib.TitleFunc,
		"trim":        stdlib.TrimFunc,
		"trimprefix":  stdlib.TrimPrefixFunc,
		"trimspace":   stdlib.TrimSpaceFunc,
		"trimsuffix":  stdlib.TrimSuffixFunc,
		"upper":       stdlib.UpperFunc,

		// Collections.
		"alltrue":         AllTrueFunc,
		"anytrue":         AnyTrueFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        collection.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"index":           IndexFunc,
		"keys":            stdlib.KeysFunc,
		"length":          LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"matchkeys":       MatchkeysFunc,
		"merge":           stdlib.MergeFunc,
		"one":             OneFunc,
		"range":           stdlib.RangeFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"sum":             SumFunc,
		"transpose":       TransposeFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,

		// Numbers.
		"abs":      stdlib.AbsoluteFunc,
		"ceil":     stdlib.CeilFunc,
		"floor":    stdlib.FloorFunc,
		"log":      stdlib.LogFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc,
		"pow":      stdlib.PowFunc,
		"signum":   stdlib.SignumFunc,

		// Errors, conversions and sensitive values.
		"can":          tryfunc.CanFunc,
		"issensitive":  IsSensitiveFunc,
		"nonsensitive": NonsensitiveFunc,
		"sensitive":    SensitiveFunc,
		"try":          tryfunc.TryFunc,
		"tobool":       stdlib.MakeToFunc(cty.Bool),
		"tolist":       stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":        stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":     stdlib.MakeToFunc(cty.Number),
		"toset":        stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":     stdlib.MakeToFunc(cty.String),

		// Encodings.
		"base64decode":     encoding.Base64DecodeFunc,
		"base64encode":     encoding.Base64EncodeFunc,
		"base64gzip":       Base64GzipFunc,
		"csvdecode":        stdlib.CSVDecodeFunc,
		"jsondecode":       stdlib.JSONDecodeFunc,
		"jsonencode":       stdlib.JSONEncodeFunc,
		"textdecodebase64": TextDecodeBase64Func,
		"textencodebase64": TextEncodeBase64Func,
		"urlencode":        encoding.URLEncodeFunc,
		"yamldecode":       ctyyaml.YAMLDecodeFunc,
		"yamlencode":       ctyyaml.YAMLEncodeFunc,

		// Hashes and identifiers.
		"base64sha256": Base64Sha256Func,
		"base64sha512": Base64Sha512Func,
		"bcrypt":       crypto.BcryptFunc,
		"md5":          crypto.Md5Func,
		"rsadecrypt":   crypto.RsaDecryptFunc,
		"sha1":         crypto.Sha1Func,
		"sha256":       crypto.Sha256Func,
		"sha512":       crypto.Sha512Func,
		"uuid":         uuid.V4Func,
		"uuidv5":       uuid.V5Func,

		// IP networks.
		"cidrcontains": CidrContainsFunc,
		"cidrhost":     cidr.HostFunc,
		"cidrnetmask":  CidrNetmaskFunc,
		"cidrsubnet":   cidr.SubnetFunc,
		"cidrsubnets":  cidr.SubnetsFunc,

		// Files.
		"abspath":    filesystem.AbsPathFunc,
		"basename":   filesystem.BasenameFunc,
		"dirname":    filesystem.DirnameFunc,
		"file":       makeFileFunc(baseDir, false),
		"filebase64": makeFileFunc(baseDir, true),
		"fileexists": filesystem.MakeFileExistsFunc(baseDir),
		"fileset":    filesystem.MakeFileSetFunc(baseDir),
		"pathexpand": filesystem.PathExpandFunc,

		// Time.
		"formatdate": stdlib.FormatDateFunc,
		"timeadd":    stdlib.TimeAddFunc,
		"timecmp":    TimeCmpFunc,
		"timestamp":  TimestampFunc,

		// Process environment.
		"env": EnvFunc,
	}
	maps.Copy(fns, fileHashFuncs(baseDir))
	// templatefile and templatestring see every other function, but not
	// themselves nor each other: a template that renders templates could
	// recurse without end.
	inner := func() map[string]function.Function {
		inner := make(map[string]function.Function, len(fns))
		for name, fn := range fns {
			if name != "templatefile" && name != "templatestring" {
				inner[name] = fn
			}
		}
		return inner
	}
	fns["templatefile"] = MakeTemplateFileFunc(baseDir, inner)
	fns["templatestring"] = MakeTemplateStringFunc(inner)
	return fns
}
