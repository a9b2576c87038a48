"""The formula grammar (lark, LALR) and the tree it builds.

The tree is built bottom-up while parsing (lark's inline transformer), so its size and depth
are known, and refused, before anything recursive ever walks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from attnkb.errors import FormulaError
from attnkb.formulas.lexer import Tok, tokenize

MAX_NODES = 400
MAX_DEPTH = 32
OPENING = {"LPAR": 1, "CALLPAR": 1, "LBRACE": 1, "LBRACK": 1, "LNORM": 1}
OPENING |= {"RPAR": -1, "RBRACE": -1, "RBRACK": -1, "RNORM": -1}

GRAMMAR = r"""
start: relation
relation: expr
    | relation REL expr
?expr: term
    | expr PLUS term -> add
    | expr MINUS term -> sub
?term: signed
    | term MULOP signed -> mul
    | term DIV signed -> div
    | term jfactor -> jux
?signed: factor
    | MINUS signed -> neg
    | PLUS signed -> pos
?factor: postfix
    | bigop
?jfactor: jpostfix
    | bigop
?bigop: SUM term -> sumop
    | SUM scripts term -> sumop
    | SQRT postfix -> sqrt
    | FRAC LBRACE expr RBRACE LBRACE expr RBRACE -> frac
?postfix: primary
    | postfix script_item -> post
    | postfix CALLPAR args RPAR -> call
?jpostfix: jprimary
    | jpostfix script_item -> post
    | jpostfix CALLPAR args RPAR -> call
scripts: script_item
    | scripts script_item
script_item: SUB script -> s_sub
    | SUP script -> s_sup
    | TRANSPOSE -> s_tr
    | PRIME -> s_prime
script: LBRACE sbody RBRACE -> group
    | SYM -> one
    | NUM -> one
    | WORD -> one
    | INF -> one
    | MINUS NUM -> negnum
    | LPAR expr RPAR -> paren
?sbody: items
    | SYM COLON relation -> where
items: relation
    | items COMMA relation
?primary: jprimary
    | BAR expr BAR -> absval
?jprimary: NUM -> num
    | LNORM expr RNORM -> norm
    | SYM -> sym
    | WORD -> word
    | INF -> inf
    | DOTS -> dots
    | LPAR expr RPAR -> inner
    | LBRACE expr RBRACE -> inner
    | LBRACK args RBRACK -> vector
    | LBRACK stacked RBRACK -> stack
    | BEGINCASES rows ENDCASES -> cases
    | BEGINCASES rows ROWSEP ENDCASES -> cases
args: expr
    | args COMMA expr
stacked: expr SEMI expr
    | stacked SEMI expr
rows: row
    | rows ROWSEP row
row: expr AMP
    | expr AMP cond
    | expr COMMA AMP
    | expr COMMA AMP cond
cond: condpart
    | cond condpart
?condpart: TEXT | COMMA | relation

%declare NUM SYM WORD TEXT INF DOTS CALLPAR LPAR RPAR LBRACK RBRACK LBRACE RBRACE COMMA SEMI COLON
%declare SUB SUP TRANSPOSE PRIME PLUS MINUS MULOP DIV REL SQRT FRAC SUM BAR LNORM RNORM AMP
%declare BEGINCASES ENDCASES ROWSEP
"""


@dataclass(eq=False)
class Node:
    kind: str
    kids: tuple[Node, ...] = ()
    value: Any = None
    size: int = field(default=1, init=False)
    depth: int = field(default=1, init=False)

    def __post_init__(self) -> None:
        if self.kids:
            self.size = 1 + sum(k.size for k in self.kids)
            self.depth = 1 + max(k.depth for k in self.kids)
        if self.size > MAX_NODES:
            raise FormulaError(f"over {MAX_NODES} tree nodes")
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"nested deeper than {MAX_DEPTH}")

    def walk(self):
        """Every node, parents first (iterative: depth is bounded, but be frugal)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.kids))

    def replace(self, **changes) -> Node:
        kids = changes.get("kids", self.kids)
        return Node(changes.get("kind", self.kind), tuple(kids), changes.get("value", self.value))


def _build():
    from lark import Transformer

    class Build(Transformer):
        """Lark trees → Nodes. Scripts are kept as (kind, node) pairs on ``postfix``."""

        def start(self, k):
            return k[0]

        def relation(self, k):
            if len(k) == 1:
                return Node("rel", (k[0],), ())
            prev, op, expr = k
            return Node("rel", (*prev.kids, expr), (*prev.value, str(op)))

        def add(self, k):
            return Node("add", (k[0], k[2]))

        def sub(self, k):
            return Node("sub", (k[0], k[2]))

        def s_sub(self, k):
            return ("sub", k[1])

        def inner(self, k):
            return k[1]

        def mul(self, k):
            return Node("mul", (k[0], k[2]), str(k[1]))

        def div(self, k):
            return Node("div", (k[0], k[2]))

        def jux(self, k):
            return Node("mul", (k[0], k[1]), "jux")

        def neg(self, k):
            return Node("neg", (k[1],))

        def pos(self, k):
            return k[1]

        def sumop(self, k):
            scripts = k[1] if len(k) == 3 else []
            return Node("sum", (k[-1], *(n for _, n in scripts)), tuple(kind for kind, _ in scripts))

        def sqrt(self, k):
            return Node("sqrt", (k[1],))

        def frac(self, k):
            return Node("div", (k[2], k[5]))

        def post(self, k):
            base, (kind, node) = k
            if base.kind == "post":
                return Node("post", (*base.kids, node), (*base.value, kind))
            return Node("post", (base, node), (kind,))

        def scripts(self, k):
            return [*k[0], k[1]] if len(k) == 2 else [k[0]]

        def s_sup(self, k):
            return ("sup", k[1])

        def s_tr(self, k):
            return ("tr", Node("T"))

        def s_prime(self, k):
            return ("prime", Node("'"))

        def group(self, k):
            return k[1]

        def one(self, k):
            t = k[0]
            kind = {"SYM": "sym", "NUM": "num", "WORD": "word", "INF": "inf"}[t.type]
            return Node("items", (Node(kind, (), str(t)),))

        def negnum(self, k):
            return Node("items", (Node("neg", (Node("num", (), str(k[1])),)),))

        def paren(self, k):
            return Node("items", (k[1],))

        def items(self, k):
            item = k[-1]
            if item.kind == "rel" and len(item.kids) == 1:
                item = item.kids[0]
            return Node("items", (item,)) if len(k) == 1 else Node("items", (*k[0].kids, item))

        def where(self, k):
            return Node("where", (Node("sym", (), str(k[0])), k[2]))

        def num(self, k):
            return Node("num", (), str(k[0]))

        def sym(self, k):
            return Node("sym", (), str(k[0]))

        def word(self, k):
            return Node("word", (), str(k[0]))

        def inf(self, k):
            return Node("inf")

        def dots(self, k):
            return Node("dots")

        def call(self, k):
            head, args = k[0], k[2]
            base, scripts, kinds = head, (), ()
            if head.kind == "post":
                base, scripts, kinds = head.kids[0], head.kids[1:], head.value
            if base.kind not in ("word", "sym"):
                raise FormulaError("only a named function can be applied to (…)")
            return Node("call", (args, *scripts), (base.value, kinds))

        def args(self, k):
            return Node("args", (k[0],)) if len(k) == 1 else Node("args", (*k[0].kids, k[2]))

        def vector(self, k):
            return Node("vector", k[1].kids)

        def stack(self, k):
            return Node("stack", k[1])

        def stacked(self, k):
            return (k[0], k[2]) if isinstance(k[0], Node) else (*k[0], k[2])

        def absval(self, k):
            return Node("abs", (k[1],))

        def norm(self, k):
            return Node("norm", (k[1],))

        def cases(self, k):
            return Node("cases", tuple(k[1]))

        def rows(self, k):
            return [k[0]] if len(k) == 1 else [*k[0], k[2]]

        def row(self, k):  # "0 & j ≤ i" or, with a comma, "0, & j ≤ i"
            cond = k[-1] if isinstance(k[-1], Node) and k[-1].kind == "cond" else Node("cond")
            return Node("row", (k[0], cond))

        def cond(self, k):
            part = k[-1]
            parts = (part,) if isinstance(part, Node) else ()
            return Node("cond", (*k[0].kids, *parts) if len(k) == 2 else parts)

        def __default__(self, data, children, meta):  # a rule we did not name: refuse
            raise FormulaError(f"unexpected construct {data}")

    return Build


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark, Token
    from lark.lexer import Lexer

    class TokLexer(Lexer):
        def __init__(self, lexer_conf):
            pass

        # lark calls a custom lexer's lex(data), as its docs show; its stub types the built-in one
        def lex(self, data):  # type: ignore[override]
            for t in data:
                yield Token(t.type, t.value)

    return Lark(GRAMMAR, parser="lalr", lexer=TokLexer, transformer=_build()())


def parse_tokens(toks: list[Tok]) -> Node:
    from lark.exceptions import LarkError

    depth = 0
    for t in toks:  # bracket nesting is refused before lark sees it
        depth += OPENING.get(t.type, 0)
        if depth > MAX_DEPTH:
            raise FormulaError(f"nested deeper than {MAX_DEPTH}")
    try:
        return _parser().parse(toks)
    except FormulaError:
        raise
    except LarkError as exc:
        raise FormulaError(_why(exc)) from None
    except RecursionError:
        raise FormulaError(f"nested deeper than {MAX_DEPTH}") from None


def _why(exc) -> str:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        return "the formula ends too early"
    if token is not None:
        return f"cannot read the formula at {str(token)!r}"
    return "cannot read the formula"


def parse(text: str, latex: bool = True) -> Node:
    return parse_tokens(tokenize(text, latex))
