package limits

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxSourceSize bounds every HCL source zrun lexes: a project file, a
// template, a lock file. Lexing costs about a hundred bytes per token, so
// the bound is what keeps parsing a file within memory.
const MaxSourceSize = 1 << 20

// MaxDepth bounds how deeply brackets, braces, parentheses, blocks, quoted
// templates and template directives nest.
const MaxDepth = 128

// MaxChain bounds how many operators, conditionals and index brackets one
// expression chains, counted along its deepest path: hcl builds such a
// chain as a tree as deep as it is long, and evaluates it recursively.
const MaxChain = 1024

// CheckConfig checks the nesting of a configuration file before it is
// parsed (hclsyntax.ParseConfig, hclwrite.ParseConfig): the parser and
// evaluator recurse once per level, and a deep enough input is a fatal
// stack overflow rather than an error.
func CheckConfig(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// CheckExpr is CheckConfig for a lone expression (hclsyntax.ParseExpression),
// such as a value given on the command line.
func CheckExpr(src []byte, filename string, start hcl.Pos) hcl.Diagnostics {
	toks, _ := hclsyntax.LexExpression(src, filename, start)
	return checkTokens(toks)
}

// CheckTemplate is CheckConfig for a template file (hclsyntax.ParseTemplate).
func CheckTemplate(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexTemplate(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// level is one open bracket (or the top level) and the length of the
// chain written at it since its last separator. A %{ level whose keyword
// is if or for opens a directive level when it closes; one whose keyword
// is endif or endfor closes the directive level under it.
type level struct {
	open      hclsyntax.TokenType
	chain     int
	opensDir  bool
	closesDir bool
}

// directive stands for an open %{if} or %{for}: its body nests until the
// matching %{endif} or %{endfor}.
const directive hclsyntax.TokenType = 'D'

// checkTokens reports the first token that nests deeper than MaxDepth or
// makes a chain longer than MaxChain. Unbalanced brackets are left for the
// parser to report.
func checkTokens(toks hclsyntax.Tokens) hcl.Diagnostics {
	stack := []level{{open: hclsyntax.TokenNil}}
	chain := 0 // sum of the stack's chains: the deepest path's length
	push := func(t hclsyntax.TokenType) bool {
		if top := &stack[len(stack)-1]; !inTemplate(top.open) {
			top.chain++ // an index or a call on what came before nests it
			chain++
		}
		stack = append(stack, level{open: t})
		return len(stack)-1 <= MaxDepth
	}
	pop := func() {
		if len(stack) > 1 {
			chain -= stack[len(stack)-1].chain
			stack = stack[:len(stack)-1]
		}
	}
	for i, tok := range toks {
		top := &stack[len(stack)-1]
		switch {
		case opens(tok.Type):
			if !push(tok.Type) {
				return tooDeep(tok)
			}
		case closes(tok.Type):
			opensDir, closesDir := top.opensDir, top.closesDir
			pop()
			if closesDir && stack[len(stack)-1].open == directive {
				pop()
			}
			if opensDir && !push(directive) {
				return tooDeep(tok)
			}
		case tok.Type == hclsyntax.TokenIdent && top.open == hclsyntax.TokenTemplateControl && toks[i-1].Type == hclsyntax.TokenTemplateControl:
			switch string(tok.Bytes) {
			case "if", "for":
				top.opensDir = true
			case "endif", "endfor":
				top.closesDir = true
			}
		case chains(tok.Type):
			top.chain++
			chain++
		case tok.Type == hclsyntax.TokenComma,
			tok.Type == hclsyntax.TokenNewline && (top.open == hclsyntax.TokenNil || top.open == hclsyntax.TokenOBrace):
			// A new element, argument or attribute starts a new chain.
			chain -= top.chain
			top.chain = 0
		}
		if chain > MaxChain {
			return tooLong(tok)
		}
	}
	return nil
}

func tooDeep(tok hclsyntax.Token) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Nesting too deep",
		Detail: fmt.Sprintf("Brackets, braces, parentheses, blocks and templates nest more than %d levels deep here, "+
			"which is beyond what zrun reads. Flatten the structure, or split it into several values.", MaxDepth),
		Subject: tok.Range.Ptr(),
	}}
}

func tooLong(tok hclsyntax.Token) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Expression too long",
		Detail: fmt.Sprintf("This expression chains more than %d operators, conditionals and brackets, "+
			"which is beyond what zrun reads. Split it into several values, or use a function over a list (sum, concat, alltrue).", MaxChain),
		Subject: tok.Range.Ptr(),
	}}
}

func opens(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
		hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
		hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
		return true
	}
	return false
}

func closes(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
		hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
		return true
	}
	return false
}

// chains reports whether t makes an expression one level deeper: a binary
// or unary operator, or a conditional.
func chains(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenStar, hclsyntax.TokenSlash, hclsyntax.TokenPlus, hclsyntax.TokenMinus,
		hclsyntax.TokenPercent, hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual,
		hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq, hclsyntax.TokenGreaterThan,
		hclsyntax.TokenGreaterThanEq, hclsyntax.TokenAnd, hclsyntax.TokenOr,
		hclsyntax.TokenBang, hclsyntax.TokenQuestion:
		return true
	}
	return false
}

// inTemplate reports whether the parts written directly at an open of type
// t are template parts, which hcl keeps in a flat list.
func inTemplate(t hclsyntax.TokenType) bool {
	return t == hclsyntax.TokenOQuote || t == hclsyntax.TokenOHeredoc || t == directive
}
