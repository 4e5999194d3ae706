package funcs

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
)

// hashFunc returns a function of one string, the hash of its bytes
// encoded by enc (base64sha256, base64sha512).
func hashFunc(h func() hash.Hash, enc func([]byte) string) function.Function {
	return function.New(&function.Spec{
		Params:       []function.Parameter{{Name: "str", Type: cty.String}},
		Type:         function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(digest(h, enc, []byte(args[0].AsString()))), nil
		},
	})
}

// fileHashFunc returns a function of one path, the hash of the file's
// bytes encoded by enc (filesha256, filemd5...). The file is read with the
// rules of file: relative to baseDir, a bounded regular file.
func fileHashFunc(baseDir string, h func() hash.Hash, enc func([]byte) string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			data, err := readFile(baseDir, args[0].AsString(), MaxFileSize)
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgError(0, err)
			}
			return cty.StringVal(digest(h, enc, data)), nil
		},
	})
}

func digest(h func() hash.Hash, enc func([]byte) string, data []byte) string {
	d := h()
	d.Write(data)
	return enc(d.Sum(nil))
}

var b64 = base64.StdEncoding.EncodeToString

// Base64Sha256Func is base64sha256(str): the SHA-256 of str in base64,
// not in hexadecimal as sha256 gives it.
var Base64Sha256Func = hashFunc(sha256.New, b64)

// Base64Sha512Func is base64sha512(str).
var Base64Sha512Func = hashFunc(sha512.New, b64)

// fileHashFuncs returns filemd5, filesha1, filesha256, filesha512,
// filebase64sha256 and filebase64sha512 for baseDir.
func fileHashFuncs(baseDir string) map[string]function.Function {
	return map[string]function.Function{
		"filemd5":          fileHashFunc(baseDir, md5.New, hex.EncodeToString),
		"filesha1":         fileHashFunc(baseDir, sha1.New, hex.EncodeToString),
		"filesha256":       fileHashFunc(baseDir, sha256.New, hex.EncodeToString),
		"filesha512":       fileHashFunc(baseDir, sha512.New, hex.EncodeToString),
		"filebase64sha256": fileHashFunc(baseDir, sha256.New, b64),
		"filebase64sha512": fileHashFunc(baseDir, sha512.New, b64),
	}
}

// Base64GzipFunc is base64gzip(str): str compressed with gzip, in base64.
var Base64GzipFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		if _, err := w.Write([]byte(args[0].AsString())); err != nil {
			return cty.UnknownVal(cty.String), err
		}
		if err := w.Close(); err != nil {
			return cty.UnknownVal(cty.String), err
		}
		return cty.StringVal(b64(buf.Bytes())), nil
	},
})

// textBase64Func returns textencodebase64 or textdecodebase64: conv
// turns the first argument into the result in the character encoding
// the second names as IANA does (UTF-16LE, ISO-8859-1...).
func textBase64Func(first string, conv func(s string, enc encoding.Encoding, name string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: first, Type: cty.String},
			{Name: "encoding_name", Type: cty.String},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[1].AsString()
			enc, err := ianaindex.IANA.Encoding(name)
			if err != nil || enc == nil {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "%q is not a supported IANA encoding name or alias", name)
			}
			out, err := conv(args[0].AsString(), enc, name)
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgError(0, err)
			}
			return cty.StringVal(out), nil
		},
	})
}

// TextEncodeBase64Func is textencodebase64(string, encoding_name): the
// string in that character encoding, in base64.
var TextEncodeBase64Func = textBase64Func("string", func(s string, enc encoding.Encoding, name string) (string, error) {
	out, err := enc.NewEncoder().String(s)
	if err != nil {
		return "", fmt.Errorf("the given string contains characters that cannot be represented in %s", name)
	}
	return b64([]byte(out)), nil
})

// TextDecodeBase64Func is textdecodebase64(source, encoding_name), the
// inverse of textencodebase64.
var TextDecodeBase64Func = textBase64Func("source", func(s string, enc encoding.Encoding, name string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("the given value is not valid base64: %w", err)
	}
	out, err := enc.NewDecoder().Bytes(raw)
	if err != nil || !utf8.Valid(out) {
		return "", fmt.Errorf("the given value is not valid %s text", name)
	}
	return string(out), nil
})
