package rpc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/protobuf/proto"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// A host may keep the answers of a plugin that depend only on the plugin's
// executable and the request, its schema and its validation of arguments,
// and reuse them without starting the plugin (package plugins does, under
// .zrun/cache). These functions encode them as the wire does.

// MarshalSchema encodes a plugin's schema as GetSchema answers it.
func MarshalSchema(s *schema.Plugin) ([]byte, error) {
	resp, err := encodeSchema(s)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(resp)
}

// UnmarshalSchema decodes what MarshalSchema encoded, and checks it as a
// schema received from a plugin is checked.
func UnmarshalSchema(b []byte) (*schema.Plugin, error) {
	var resp pb.GetSchema_Response
	if err := proto.Unmarshal(b, &resp); err != nil {
		return nil, err
	}
	return decodeSchema(&resp)
}

// MarshalDiagnostics encodes one validation's diagnostics.
func MarshalDiagnostics(d sdk.Diagnostics) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&pb.ValidateActions_Result{Diagnostics: encodeDiagnostics(d)})
}

// UnmarshalDiagnostics decodes what MarshalDiagnostics encoded.
func UnmarshalDiagnostics(b []byte) (sdk.Diagnostics, error) {
	var r pb.ValidateActions_Result
	if err := proto.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return decodeDiagnostics(r.GetDiagnostics()), nil
}

// ValidateKey is a digest of a validation call, the action and its
// arguments as the wire encodes them: equal calls give equal keys. ok is
// false when the arguments hold a known sensitive value: such a call must
// not be kept, not even as a digest, which would let a weak secret be
// guessed. A sensitive value not known yet (a secret at validation time)
// reveals nothing and does not count.
func ValidateKey(req *sdk.ValidateRequest) (key string, ok bool, err error) {
	args := req.Args
	if args != cty.NilVal {
		var pvms []cty.PathValueMarks
		args, pvms = args.UnmarkDeepWithPaths()
		for _, pvm := range pvms {
			if v, err := pvm.Path.Apply(args); err != nil || v.IsKnown() {
				return "", false, nil
			}
		}
	}
	dv, _, err := encodeValue(args)
	if err != nil {
		return "", false, fmt.Errorf("encoding the arguments of %s: %w", req.Action, err)
	}
	h := sha256.New()
	h.Write([]byte(req.Action))
	h.Write([]byte{0})
	h.Write(dv.GetMsgpack())
	return hex.EncodeToString(h.Sum(nil)), true, nil
}
