package funcs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// descriptions says in one line what each function of Functions does.
// TestDescriptions keeps it and the table in step; README's function table
// and zrun functions are made from it.
var descriptions = map[string]string{
	"abs":              "The absolute value of a number.",
	"abspath":          "The path made absolute, against zrun's working folder.",
	"alltrue":          "Whether every element of a list is true (or \"true\"); true for an empty list.",
	"anytrue":          "Whether any element of a list is true (or \"true\"); false for an empty list.",
	"base64decode":     "The string a base64 text encodes (it must be UTF-8).",
	"base64encode":     "The string's UTF-8 bytes in base64.",
	"base64gzip":       "The string compressed with gzip, in base64.",
	"base64sha256":     "The SHA-256 hash of the string, in base64 (not hexadecimal as sha256).",
	"base64sha512":     "The SHA-512 hash of the string, in base64 (not hexadecimal as sha512).",
	"basename":         "The last element of a path.",
	"bcrypt":           "The bcrypt hash of the string (cost 10 unless given), in Modular Crypt Format; a new salt each call.",
	"can":              "Whether the expression evaluates without an error.",
	"ceil":             "The smallest whole number greater than or equal to the number.",
	"chomp":            "The string without its trailing newlines.",
	"chunklist":        "The list split into lists of at most size elements.",
	"cidrcontains":     "Whether an IP address or prefix lies within the prefix (same address family).",
	"cidrhost":         "The address of host number hostnum in the prefix (negative counts from the end).",
	"cidrnetmask":      "The subnet mask of an IPv4 prefix, as an address.",
	"cidrsubnet":       "The netnum-th subnet of the prefix, newbits longer.",
	"cidrsubnets":      "Consecutive subnets of the prefix, each as many bits longer as given.",
	"coalesce":         "The first argument that is not null nor an empty string.",
	"coalescelist":     "The first list argument that is not empty.",
	"compact":          "The list of strings without its empty and null elements.",
	"concat":           "The lists joined into one.",
	"contains":         "Whether the list or set has the value as an element.",
	"csvdecode":        "The rows of a CSV text (first line: the header) as a list of objects.",
	"dirname":          "The path without its last element.",
	"distinct":         "The list without its duplicate elements, first ones kept.",
	"element":          "The element at the index, wrapping around the end of the list.",
	"endswith":         "Whether the string ends with the suffix.",
	"env":              "The value of a variable of zrun's process environment, or the default when it is unset (an error without one).",
	"file":             "The contents of a file of the project, as UTF-8 text.",
	"filebase64":       "The contents of a file of the project, in base64.",
	"filebase64sha256": "The SHA-256 hash of a file of the project, in base64.",
	"filebase64sha512": "The SHA-512 hash of a file of the project, in base64.",
	"fileexists":       "Whether a file exists at the path.",
	"filemd5":          "The MD5 hash of a file of the project, in hexadecimal.",
	"fileset":          "The names of the files under path that match a glob pattern.",
	"filesha1":         "The SHA-1 hash of a file of the project, in hexadecimal.",
	"filesha256":       "The SHA-256 hash of a file of the project, in hexadecimal.",
	"filesha512":       "The SHA-512 hash of a file of the project, in hexadecimal.",
	"flatten":          "The list with its nested lists replaced by their elements, at every depth.",
	"floor":            "The greatest whole number less than or equal to the number.",
	"format":           "The values formatted by a printf-like spec (%s, %d, %q, %#v...).",
	"formatdate":       "An RFC 3339 timestamp in another format (YYYY-MM-DD hh:mm...).",
	"formatlist":       "format applied to each element of the lists given, as a list.",
	"indent":           "The string with spaces added before every line but the first.",
	"index":            "The index of the first element equal to the value; an error when there is none.",
	"issensitive":      "Whether the value is sensitive.",
	"join":             "The strings of the lists joined with the separator.",
	"jsondecode":       "The value a JSON text encodes.",
	"jsonencode":       "The value as JSON text.",
	"keys":             "The keys of a map, or attribute names of an object, sorted.",
	"length":           "The number of elements of a collection, attributes of an object or characters of a string.",
	"log":              "The logarithm of the number in the base.",
	"lookup":           "The map's element at the key, or the default when there is none.",
	"lower":            "The string in lowercase.",
	"matchkeys":        "The elements of values whose counterparts in keys (same index) are in searchset.",
	"max":              "The greatest of the numbers.",
	"md5":              "The MD5 hash of the string, in hexadecimal.",
	"merge":            "The maps or objects merged, later keys winning.",
	"min":              "The smallest of the numbers.",
	"nonsensitive":     "The sensitive value shown: for what is safe though computed from a secret (a hash); an error on a value that is not sensitive.",
	"one":              "The only element of a list, set or tuple, null when it is empty; an error when it has more.",
	"parseint":         "The integer a string writes in the base (2 to 62).",
	"pathexpand":       "The path with a leading ~ replaced by the home folder.",
	"pow":              "The number raised to the power.",
	"range":            "The list of numbers from start (0) to limit (excluded), by step (1).",
	"regex":            "The match of a regular expression in the string (its groups when it has some); an error when none.",
	"regexall":         "Every match of a regular expression in the string.",
	"replace":          "The string with every substr replaced; a substr written /like this/ is a regular expression.",
	"reverse":          "The list in reverse order.",
	"rsadecrypt":       "The plaintext of a base64 RSA ciphertext, decrypted with a PEM private key.",
	"sensitive":        "The value marked sensitive: masked wherever zrun shows it, like a secret.",
	"setintersection":  "The elements all the sets have.",
	"setproduct":       "Every combination of one element of each set.",
	"setsubtract":      "The elements of the first set the second does not have.",
	"setunion":         "The elements of any of the sets.",
	"sha1":             "The SHA-1 hash of the string, in hexadecimal.",
	"sha256":           "The SHA-256 hash of the string, in hexadecimal.",
	"sha512":           "The SHA-512 hash of the string, in hexadecimal.",
	"signum":           "-1, 0 or 1 as the number is negative, zero or positive.",
	"slice":            "The elements of the list from start (included) to end (excluded).",
	"sort":             "The strings of the list in lexical order.",
	"split":            "The string cut at each separator, as a list.",
	"startswith":       "Whether the string starts with the prefix.",
	"strcontains":      "Whether the string contains the substr.",
	"strlen":           "The number of characters of the string.",
	"strrev":           "The string with its characters in reverse order.",
	"substr":           "length characters of the string from offset (negative: from the end; length -1: to the end).",
	"sum":              "The sum of a non-empty list, set or tuple of numbers.",
	"templatefile":     "A file of the project rendered as a string template with the given variables.",
	"templatestring":   "A string rendered as a string template with the given variables.",
	"textdecodebase64": "The string that base64 bytes in the given character encoding (UTF-16LE...) hold.",
	"textencodebase64": "The string in the given character encoding (UTF-16LE, ISO-8859-1...), in base64.",
	"timeadd":          "An RFC 3339 timestamp plus a duration (\"1h30m\", \"-10s\").",
	"timecmp":          "-1, 0 or 1 as the first RFC 3339 timestamp is before, at or after the second.",
	"timestamp":        "The current date and time in UTC, RFC 3339.",
	"title":            "The string with the first letter of each word in uppercase.",
	"tobool":           "The value converted to a bool.",
	"tolist":           "The value converted to a list.",
	"tomap":            "The value converted to a map.",
	"tonumber":         "The value converted to a number.",
	"toset":            "The value converted to a set.",
	"tostring":         "The value converted to a string.",
	"transpose":        "A map of lists of strings inside out: each string a key listing the keys it was under.",
	"trim":             "The string without the given characters at its start and end.",
	"trimprefix":       "The string without the prefix, when it starts with it.",
	"trimspace":        "The string without white space at its start and end.",
	"trimsuffix":       "The string without the suffix, when it ends with it.",
	"try":              "The first of the expressions that evaluates without an error.",
	"upper":            "The string in uppercase.",
	"urlencode":        "The string escaped for a URL query.",
	"uuid":             "A random UUID (version 4); a new one each call.",
	"uuidv5":           "The name-based UUID (version 5) of a name in a namespace (dns, url, oid, x500 or a UUID).",
	"values":           "The values of a map or object, in key order.",
	"yamldecode":       "The value a YAML text encodes (one document).",
	"yamlencode":       "The value as YAML text.",
	"zipmap":           "The map with the keys of one list and the values of another.",
}

// Doc describes a function for a person: its name, its signature
// ("cidrsubnet(prefix string, newbits number, netnum number) string") and
// one line saying what it returns.
type Doc struct {
	Name, Signature, Description string
}

// Docs describes every function of the language, by name.
func Docs() []Doc {
	fns := Functions(".")
	docs := make([]Doc, 0, len(fns))
	for name, fn := range fns {
		docs = append(docs, Doc{Name: name, Signature: Signature(name, fn), Description: descriptions[name]})
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Name < docs[j].Name })
	return docs
}

// Signature writes fn's parameters and result type as a call of name
// would: "join(separator string, ...lists list of string) string". A
// result type that depends on the arguments is any.
func Signature(name string, fn function.Function) string {
	var params []string
	var types []cty.Type
	for _, p := range fn.Params() {
		params = append(params, p.Name+" "+typeName(p.Type))
		types = append(types, p.Type)
	}
	if vp := fn.VarParam(); vp != nil {
		params = append(params, "..."+vp.Name+" "+typeName(vp.Type))
	}
	ret := cty.DynamicPseudoType
	if ty, err := fn.ReturnType(types); err == nil {
		ret = ty
	}
	return fmt.Sprintf("%s(%s) %s", name, strings.Join(params, ", "), typeName(ret))
}

func typeName(ty cty.Type) string {
	if ty.IsCapsuleType() {
		return "expression"
	}
	name := ty.FriendlyNameForConstraint()
	name = strings.ReplaceAll(name, " of any single type", "")
	return strings.ReplaceAll(name, "any type", "any")
}

// MarkdownTable is Docs as a Markdown table, as README shows it.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| function | signature | returns |\n|---|---|---|\n")
	for _, d := range Docs() {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", d.Name, d.Signature, strings.ReplaceAll(d.Description, "|", `\|`))
	}
	return b.String()
}
