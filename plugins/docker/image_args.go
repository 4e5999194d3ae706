package docker

import (
	"fmt"
	"math"
	"strings"

	"github.com/distribution/reference"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// parseImageTag parses a tag to give an image (`zakupai/app:1.4.2`; no tag
// means `:latest`, as Docker has it). A digest is refused: an engine
// cannot give a local image a digest, only a registry can.
func parseImageTag(s string) (reference.NamedTagged, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image tag (NAME[:TAG], e.g. \"zakupai/app:1.4.2\"): %v", s, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return nil, fmt.Errorf("%q names a digest: a tag is NAME[:TAG], e.g. \"zakupai/app:1.4.2\"", s)
	}
	return reference.TagNameOnly(named).(reference.NamedTagged), nil
}

// validateImageTags checks every element of the list argument arg as an
// image tag.
func validateImageTags(arg string, tags []string, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has(arg) {
		return nil
	}
	for i, tag := range tags {
		if _, err := parseImageTag(tag); err != nil {
			diags = diags.Errorf(cty.GetAttrPath(arg).IndexInt(i), "Invalid image tag", upperFirst(err.Error())+".")
		}
	}
	return diags
}

// checkImageRef checks that ref names an image: a reference
// (NAME[:TAG][@DIGEST]) or an ID.
func checkImageRef(ref string) error {
	if _, err := reference.ParseAnyReference(ref); err != nil || ref == "" {
		return fmt.Errorf("%q is neither an image reference (NAME[:TAG], e.g. \"zakupai/app:1.4.2\") nor an image ID (sha256:...)", ref)
	}
	return nil
}

// shortImageID is an image ID as `docker images` shows it, for messages:
// sha256: and the first 12 hex digits.
func shortImageID(id string) string {
	hex, ok := strings.CutPrefix(id, "sha256:")
	if ok && len(hex) > 12 {
		return "sha256:" + hex[:12]
	}
	return id
}

// planTarget is the target's name for plans and messages.
func planTarget(t sdk.Target) string {
	if t == nil {
		return "the target"
	}
	return t.Name()
}

// wholeNumber reports whether f is a whole number from lo to hi. Numeric
// arguments are float64 fields, checked by this, so that 1.5 is a
// diagnostic at its argument rather than a failure to decode them all.
func wholeNumber(f, lo, hi float64) bool { return f == math.Trunc(f) && f >= lo && f <= hi }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// hclList renders strings as an HCL list for plans: ["a", "b"].
func hclList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
