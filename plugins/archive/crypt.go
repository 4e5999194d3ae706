package archive

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// scryptWorkFactor is the scrypt cost (log2 N) of a passphrase: age's
// own default, which takes about a second and 256 MiB (128 * r * N
// bytes, r = 8) once, before any byte is packed. unpack refuses a file
// that asks for more, which could otherwise take gigabytes.
const scryptWorkFactor = 18

// parseRecipients reads age X25519 public keys, with a diagnostic at
// each element that is not one. It never quotes an element: a secret key
// pasted into the list must not be printed.
func parseRecipients(list []string) ([]age.Recipient, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	var rs []age.Recipient
	for i, s := range list {
		s = strings.TrimSpace(s)
		path := cty.GetAttrPath("recipients").IndexInt(i)
		if strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-") {
			diags = diags.Errorf(path, "Secret key in recipients",
				fmt.Sprintf("recipients[%d] is an age secret key (AGE-SECRET-KEY-1...), which must not be in a workflow: give its public key instead (age-keygen -y prints it, \"age1...\"), and keep the secret key for unpack's identity, through secret.", i))
			continue
		}
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			diags = diags.Errorf(path, "Invalid age recipient",
				fmt.Sprintf("recipients[%d] is not an age public key: one is \"age1\" and 58 more characters, as age-keygen prints it (\"Public key: age1...\").", i))
			continue
		}
		rs = append(rs, r)
	}
	return rs, diags
}

// scryptRecipient is the age recipient of a passphrase.
func scryptRecipient(passphrase string) (age.Recipient, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, errors.New("the passphrase is empty")
	}
	r.SetWorkFactor(scryptWorkFactor)
	return r, nil
}

// parseIdentities reads one age secret key a line (blank lines and #
// comments skipped, as age's identity files have them). Its errors name
// the line, never its content.
func parseIdentities(s string) ([]age.Identity, error) {
	var ids []age.Identity
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := age.ParseIdentities(strings.NewReader(line))
		if err != nil || len(id) != 1 {
			return nil, fmt.Errorf(`line %d of the identity is not an age secret key ("AGE-SECRET-KEY-1..." as age-keygen writes it)`, n+1)
		}
		ids = append(ids, id[0])
	}
	if len(ids) == 0 {
		return nil, errors.New(`the identity holds no age secret key: give one ("AGE-SECRET-KEY-1..."), or several, one a line`)
	}
	return ids, nil
}

// scryptIdentity is the age identity of a passphrase.
func scryptIdentity(passphrase string) (age.Identity, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, errors.New("the passphrase is empty")
	}
	id.SetMaxWorkFactor(scryptWorkFactor)
	return id, nil
}

// errNotDecrypted is a payload whose age authentication failed.
var errNotDecrypted = errors.New("the encrypted input does not authenticate: it was altered or cut short")

// decrypt opens an age file with ids. Its errors say what went wrong in
// words of its own: none quotes an identity or a passphrase.
func decrypt(r io.Reader, ids []age.Identity, passphrase bool) (io.Reader, error) {
	dr, err := age.Decrypt(r, ids...)
	var noMatch *age.NoIdentityMatchError
	switch {
	case err == nil:
		return authReader{dr}, nil
	case errors.As(err, &noMatch) && passphrase:
		if len(noMatch.StanzaTypes) == 1 && noMatch.StanzaTypes[0] == "scrypt" {
			return nil, errors.New("the passphrase is wrong (the input is encrypted with a passphrase, and this one does not open it)")
		}
		return nil, fmt.Errorf("the input is encrypted to age keys (%s), not with a passphrase: give unpack the identity instead", strings.Join(noMatch.StanzaTypes, ", "))
	case errors.As(err, &noMatch):
		return nil, fmt.Errorf("none of the %d identities given opens the input: it is encrypted to other keys (recipient types: %s)", len(ids), strings.Join(noMatch.StanzaTypes, ", "))
	}
	if passphrase && strings.Contains(err.Error(), "work factor") {
		return nil, fmt.Errorf("the input's passphrase asks for an scrypt work factor above %d, more memory than unpack allows", scryptWorkFactor)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, errors.New("the encrypted input is cut short: it ends inside its age header")
	}
	return nil, errors.New("the input's age header is invalid or was altered")
}

// authReader reports the payload's failures without age's own words.
type authReader struct{ r io.Reader }

func (a authReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w (%v)", errNotDecrypted, err)
	}
	return n, err
}
