package rpc

import (
	"encoding/binary"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/msgpack"
)

// A DynamicValue is cty's msgpack encoding against cty.DynamicPseudoType:
// a two-element array of the value's type in cty's JSON form and the
// value encoded against that type. Encoding and decoding the type's JSON
// cost most of a step's arguments and outputs on each side, and a
// workflow's steps send few distinct types, so both sides remember the
// types they have seen. The bytes are what msgpack.Marshal(v,
// cty.DynamicPseudoType) produces, give or take the width of integers,
// and msgpack.Unmarshal reads them.

// marshalDynamic is msgpack.Marshal(v, cty.DynamicPseudoType).
func marshalDynamic(v cty.Value) ([]byte, error) {
	ty := v.Type()
	if ty == cty.DynamicPseudoType {
		return msgpack.Marshal(v, cty.DynamicPseudoType)
	}
	typeJSON, err := types.json(ty)
	if err != nil {
		return nil, err
	}
	body, err := msgpack.Marshal(v, ty)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 6+len(typeJSON)+len(body))
	out = append(out, 0x92) // fixarray of 2
	switch n := len(typeJSON); {
	case n <= 0xff:
		out = append(out, 0xc4, byte(n)) // bin 8
	case n <= 0xffff:
		out = binary.BigEndian.AppendUint16(append(out, 0xc5), uint16(n))
	default:
		out = binary.BigEndian.AppendUint32(append(out, 0xc6), uint32(n))
	}
	out = append(out, typeJSON...)
	return append(out, body...), nil
}

// unmarshalDynamic is msgpack.Unmarshal(b, cty.DynamicPseudoType).
func unmarshalDynamic(b []byte) (cty.Value, error) {
	typeJSON, body, ok := splitDynamic(b)
	if !ok { // null, unknown, or a form this does not take apart
		return msgpack.Unmarshal(b, cty.DynamicPseudoType)
	}
	ty, err := types.parse(typeJSON)
	if err != nil {
		return cty.DynamicVal, err
	}
	return msgpack.Unmarshal(body, ty)
}

// splitDynamic takes a dynamic value's array apart into the type's JSON
// and the value's bytes.
func splitDynamic(b []byte) (typeJSON, body []byte, ok bool) {
	if len(b) < 2 || b[0] != 0x92 {
		return nil, nil, false
	}
	var n, at int
	switch c := b[1]; {
	case c == 0xc4 || c == 0xd9: // bin 8, str 8
		if len(b) < 3 {
			return nil, nil, false
		}
		n, at = int(b[2]), 3
	case c == 0xc5 || c == 0xda: // bin 16, str 16
		if len(b) < 4 {
			return nil, nil, false
		}
		n, at = int(binary.BigEndian.Uint16(b[2:])), 4
	case c == 0xc6 || c == 0xdb: // bin 32, str 32
		if len(b) < 6 {
			return nil, nil, false
		}
		n, at = int(binary.BigEndian.Uint32(b[2:])), 6
	case c&0xe0 == 0xa0: // fixstr
		n, at = int(c&0x1f), 2
	default:
		return nil, nil, false
	}
	if n > len(b)-at {
		return nil, nil, false
	}
	return b[at : at+n], b[at+n:], true
}

// types remembers type encodings in both directions.
var types typeCache

// typeCacheSize bounds each direction of the cache; a workflow with more
// distinct types than this still works, paying for the JSON again.
const typeCacheSize = 64

type typeCache struct {
	mu sync.Mutex
	// encoded holds recent types and their JSON, the most recent first:
	// cty.Type cannot be a map key, and Equals on a handful is cheap.
	encoded []typeJSON
	parsed  map[string]cty.Type
}

type typeJSON struct {
	ty   cty.Type
	json []byte
}

func (c *typeCache) json(ty cty.Type) ([]byte, error) {
	c.mu.Lock()
	for i, e := range c.encoded {
		if e.ty.Equals(ty) {
			copy(c.encoded[1:i+1], c.encoded[:i])
			c.encoded[0] = e
			c.mu.Unlock()
			return e.json, nil
		}
	}
	c.mu.Unlock()
	b, err := ty.MarshalJSON()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.encoded) < typeCacheSize {
		c.encoded = append(c.encoded, typeJSON{})
	}
	copy(c.encoded[1:], c.encoded)
	c.encoded[0] = typeJSON{ty: ty, json: b}
	return b, nil
}

func (c *typeCache) parse(b []byte) (cty.Type, error) {
	c.mu.Lock()
	ty, ok := c.parsed[string(b)]
	c.mu.Unlock()
	if ok {
		return ty, nil
	}
	if err := ty.UnmarshalJSON(b); err != nil {
		return cty.NilType, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parsed == nil || len(c.parsed) >= typeCacheSize {
		c.parsed = map[string]cty.Type{}
	}
	c.parsed[string(b)] = ty
	return ty, nil
}
