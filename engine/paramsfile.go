package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/dsl"
)

// loadParamsFiles reads the params files at paths (--params-file), in
// order, reporting every problem of every file.
func loadParamsFiles(paths []string) ([]*dsl.ParamsFile, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	files := make([]*dsl.ParamsFile, 0, len(paths))
	for _, p := range paths {
		pf, moreDiags := dsl.LoadParamsFile(p)
		diags = append(diags, moreDiags...)
		files = append(files, pf)
	}
	return files, diags
}

// fileParams converts the values of params files to the types of wf's
// params, a later file's value replacing an earlier one's. Problems point
// at the file's line: an unknown name (with the closest one), a value not
// of the param's type (never quoted for a sensitive param). invalid holds
// the names whose value was wrong, which are not missing too; incomplete
// says a file could not be read whole, so no param is missing for sure.
func fileParams(wf *dsl.Workflow, files []*dsl.ParamsFile) (out map[string]cty.Value, invalid map[string]bool, incomplete bool, diags hcl.Diagnostics) {
	out, invalid = map[string]cty.Value{}, map[string]bool{}
	for _, pf := range files {
		incomplete = incomplete || pf.Incomplete
		for _, pv := range pf.Values {
			p, ok := wf.Params[pv.Name]
			if !ok {
				d := unknownParam(wf, pv.Name)
				d.Subject = pv.NameRange.Ptr()
				diags = append(diags, d)
				continue
			}
			if pv.Value == cty.NilVal { // unreadable, reported by dsl
				invalid[pv.Name] = true
				continue
			}
			v, err := convert.Convert(pv.Value, p.Type)
			if err == nil {
				err = checkNumbers(v)
			}
			if err != nil {
				d := invalidParam(wf, p, err, p.Sensitive, "value from "+pf.Name)
				d.Subject = pv.ValueRange.Ptr()
				diags = append(diags, d)
				invalid[pv.Name] = true
				continue
			}
			out[pv.Name] = v
			delete(invalid, pv.Name)
		}
	}
	return out, invalid, incomplete, diags
}

// fileParamNames returns the names the params files set.
func fileParamNames(files []*dsl.ParamsFile) map[string]bool {
	names := map[string]bool{}
	for _, pf := range files {
		for _, pv := range pf.Values {
			names[pv.Name] = true
		}
	}
	return names
}
