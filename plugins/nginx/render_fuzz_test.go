package nginx

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzQuote: any value the decoder accepts renders as exactly one nginx
// token that reads back as the value, so that no value can end the
// directive or open a block.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"localhost", "$host", `say "hi"`, `\.(png|jpg)$`, "a b", "", `\`, `"`, "#x", "'q'", "a\\\"b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := &decoder{}
		d.checkValue(s, cty.GetAttrPath("v"))
		if d.diags.HasErrors() {
			return
		}
		w := &writer{}
		w.line("server_name", s)
		got, rest, ok := readToken(strings.TrimPrefix(w.b.String(), "server_name "))
		if !ok || got != s || rest != ";\n" {
			t.Fatalf("%q rendered as %q: read back %q, then %q", s, w.b.String(), got, rest)
		}
	})
}

// readToken reads one token as nginx's configuration parser does
// (ngx_conf_read_token): a double-quoted string with \" \\ escapes (other
// backslashes kept), or a bare word up to white space, ";" or "{".
func readToken(s string) (tok, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == '\''):
				b.WriteByte(s[i+1])
				i++
			case c == '\\' && i+1 < len(s) && (s[i+1] == 'n' || s[i+1] == 't' || s[i+1] == 'r'):
				return "", "", false // nginx would turn it into a control character
			case c == '"':
				return b.String(), s[i+1:], true
			default:
				b.WriteByte(c)
			}
		}
		return "", "", false
	}
	i := strings.IndexAny(s, " \t\n;{}\"'#")
	if i <= 0 || s[i] != ';' {
		return "", "", false
	}
	return s[:i], s[i:], true
}
