package rpc

import (
	"fmt"
	"math/big"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// Values received over the wire are marked sdk.Sensitive at every path the
// sender reported as marked. Every mark a sender's value carries, whatever
// it is, is sent as sensitive: losing a secret's mask is worse than masking
// a value that was not secret.

// encodeValue encodes v with its type and returns the paths of its marks.
// cty.NilVal encodes as nil.
func encodeValue(v cty.Value) (*pb.DynamicValue, []*pb.AttributePath, error) {
	if v == cty.NilVal {
		return nil, nil, nil
	}
	unmarked, pvms := v.UnmarkDeepWithPaths()
	b, err := marshalDynamic(unmarked)
	if err != nil {
		return nil, nil, err
	}
	paths := make([]*pb.AttributePath, 0, len(pvms))
	for _, pvm := range pvms {
		paths = append(paths, encodePath(pvm.Path))
	}
	return &pb.DynamicValue{Msgpack: b}, paths, nil
}

// decodeValue is the inverse of encodeValue: nil decodes as cty.NilVal.
func decodeValue(dv *pb.DynamicValue, sensitive []*pb.AttributePath) (cty.Value, error) {
	if dv == nil {
		return cty.NilVal, nil
	}
	v, err := unmarshalDynamic(dv.GetMsgpack())
	if err != nil {
		return cty.NilVal, err
	}
	if len(sensitive) == 0 {
		return v, nil
	}
	pvms := make([]cty.PathValueMarks, 0, len(sensitive))
	for _, p := range sensitive {
		pvms = append(pvms, cty.PathValueMarks{Path: decodePath(p), Marks: cty.NewValueMarks(sdk.Sensitive)})
	}
	return v.MarkWithPaths(pvms), nil
}

// encodePath converts a cty.Path. A step the wire cannot express (an index
// by a fractional number, an unknown or a set element) ends the path
// there, so it points at the enclosing value.
func encodePath(p cty.Path) *pb.AttributePath {
	out := &pb.AttributePath{}
	for _, step := range p {
		s := encodeStep(step)
		if s == nil {
			break
		}
		out.Steps = append(out.Steps, s)
	}
	return out
}

func encodeStep(step cty.PathStep) *pb.AttributePath_Step {
	switch step := step.(type) {
	case cty.GetAttrStep:
		return &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_AttributeName{AttributeName: step.Name}}
	case cty.IndexStep:
		key, _ := step.Key.Unmark()
		if !key.IsKnown() || key.IsNull() {
			return nil
		}
		switch key.Type() {
		case cty.String:
			return &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyString{ElementKeyString: key.AsString()}}
		case cty.Number:
			i, acc := key.AsBigFloat().Int64()
			if acc != big.Exact {
				return nil
			}
			return &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyInt{ElementKeyInt: i}}
		}
	}
	return nil
}

func decodePath(p *pb.AttributePath) cty.Path {
	var out cty.Path
	for _, s := range p.GetSteps() {
		switch sel := s.GetSelector().(type) {
		case *pb.AttributePath_Step_AttributeName:
			out = out.GetAttr(sel.AttributeName)
		case *pb.AttributePath_Step_ElementKeyString:
			out = out.Index(cty.StringVal(sel.ElementKeyString))
		case *pb.AttributePath_Step_ElementKeyInt:
			out = out.Index(cty.NumberIntVal(sel.ElementKeyInt))
		default:
			// A step from a newer protocol revision: point at what we know.
			return out
		}
	}
	return out
}

func encodeDiagnostics(diags sdk.Diagnostics) []*pb.Diagnostic {
	if len(diags) == 0 {
		return nil
	}
	out := make([]*pb.Diagnostic, 0, len(diags))
	for _, d := range diags {
		sev := pb.Diagnostic_SEVERITY_ERROR
		if d.Severity == sdk.Warning {
			sev = pb.Diagnostic_SEVERITY_WARNING
		}
		pd := &pb.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Code: string(d.Code)}
		if len(d.Path) > 0 {
			pd.Path = encodePath(d.Path)
		}
		out = append(out, pd)
	}
	return out
}

func decodeDiagnostics(pds []*pb.Diagnostic) sdk.Diagnostics {
	if len(pds) == 0 {
		return nil
	}
	out := make(sdk.Diagnostics, 0, len(pds))
	for _, pd := range pds {
		// Unspecified (and any severity from the future) counts as an
		// error: a step must not pass because a diagnostic was unreadable.
		sev := sdk.Error
		if pd.GetSeverity() == pb.Diagnostic_SEVERITY_WARNING {
			sev = sdk.Warning
		}
		d := sdk.Diagnostic{Severity: sev, Summary: pd.GetSummary(), Detail: pd.GetDetail(), Code: sdk.Code(pd.GetCode())}
		if pd.GetPath() != nil {
			d.Path = decodePath(pd.GetPath())
		}
		out = append(out, d)
	}
	return out
}

func encodeSchema(s *schema.Plugin) (*pb.GetSchema_Response, error) {
	resp := &pb.GetSchema_Response{Name: s.Name, Version: s.Version, Description: s.Description}
	for _, name := range s.ActionNames() {
		a := s.Actions[name]
		pa := &pb.ActionSchema{Name: a.Name, Description: a.Description}
		var err error
		if pa.Args, err = encodeAttributes(a.Args); err != nil {
			return nil, fmt.Errorf("action %q: %w", name, err)
		}
		if pa.Outputs, err = encodeAttributes(a.Outputs); err != nil {
			return nil, fmt.Errorf("action %q: %w", name, err)
		}
		resp.Actions = append(resp.Actions, pa)
	}
	return resp, nil
}

func encodeAttributes(attrs []*schema.Attribute) ([]*pb.Attribute, error) {
	out := make([]*pb.Attribute, 0, len(attrs))
	for _, a := range attrs {
		ty, err := ctyjson.MarshalType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
		}
		out = append(out, &pb.Attribute{Name: a.Name, Type: ty, Description: a.Description, Required: a.Required, Sensitive: a.Sensitive, Stream: a.Stream})
	}
	return out, nil
}

func decodeSchema(resp *pb.GetSchema_Response) (*schema.Plugin, error) {
	s := &schema.Plugin{Name: resp.GetName(), Version: resp.GetVersion(), Description: resp.GetDescription(), Actions: map[string]*schema.Action{}}
	for _, pa := range resp.GetActions() {
		a := &schema.Action{Name: pa.GetName(), Description: pa.GetDescription()}
		var err error
		if a.Args, err = decodeAttributes(pa.GetArgs()); err != nil {
			return nil, fmt.Errorf("action %q: %w", a.Name, err)
		}
		if a.Outputs, err = decodeAttributes(pa.GetOutputs()); err != nil {
			return nil, fmt.Errorf("action %q: %w", a.Name, err)
		}
		s.Actions[a.Name] = a
	}
	// A plugin is another program: check what it sent as the SDK checks
	// what an author wrote.
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("invalid schema: %w", err)
	}
	return s, nil
}

func decodeAttributes(pas []*pb.Attribute) ([]*schema.Attribute, error) {
	var out []*schema.Attribute
	for _, pa := range pas {
		ty, err := ctyjson.UnmarshalType(pa.GetType())
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", pa.GetName(), err)
		}
		out = append(out, &schema.Attribute{Name: pa.GetName(), Type: ty, Description: pa.GetDescription(), Required: pa.GetRequired(), Sensitive: pa.GetSensitive(), Stream: pa.GetStream()})
	}
	return out, nil
}

func encodeInfo(i sdk.RunInfo) *pb.RunInfo {
	return &pb.RunInfo{RunId: i.RunID, Workflow: i.Workflow, Env: i.Env, Step: i.Step}
}

func decodeInfo(i *pb.RunInfo) sdk.RunInfo {
	return sdk.RunInfo{RunID: i.GetRunId(), Workflow: i.GetWorkflow(), Env: i.GetEnv(), Step: i.GetStep()}
}
