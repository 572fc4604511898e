"""Query intent router: which of the five search strategies an agent's question is asking for.

``classify(query)`` returns a :class:`RouteDecision` with one of

* ``find_definition``     "where is X defined", "go to X", a bare identifier (``parseConfig``, ``Vec::push``)
* ``find_usage``          "who calls X", "references to X", "where is X used", "X usage example"
* ``find_implementation`` descriptions: "function that retries failed requests", "how do we validate JWTs"
* ``find_similar``        pasted code ("find code similar to: ...", or a raw multi-line snippet)
* ``find_change``         "what must change to add Y", "where should I add a --verbose flag"

The classifier is a multinomial logistic regression over sparse features: hand-designed cues (phrasing
rules for each intent, code-likeness, identifier shape, length) plus word uni/bi-grams and in-word
character n-grams, where identifiers are collapsed to a shape token so that names do not leak into
the model. The weights are learned by ``python -m evals.intent_eval --train`` from the labelled
queries in ``evals/intents/queries.jsonl`` and shipped as ``router_weights.json`` next to this file.
Inference is pure Python (no numpy): a few dict look-ups per feature, well under a millisecond.

For definition and usage questions the decision also carries ``symbol``, the identifier the question
is about ("where is parse_config defined?" -> ``parse_config``, "who calls `Foo::bar`" -> ``Foo::bar``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

RouteIntent = Literal["find_definition", "find_usage", "find_implementation", "find_similar", "find_change"]
INTENTS: tuple[str, ...] = ("find_definition", "find_usage", "find_implementation", "find_similar", "find_change")
SYMBOL_INTENTS = frozenset({"find_definition", "find_usage"})
WEIGHTS_PATH = Path(__file__).with_name("router_weights.json")

# Long pastes are classified from their head: the cues are all near the start, and this bounds latency.
MAX_CHARS = 2000
MAX_TOKENS = 80
MAX_CHAR_NGRAM_WORDS = 40


@dataclass(frozen=True)
class RouteDecision:
    intent: RouteIntent
    confidence: float
    """Softmax probability of ``intent`` (0..1)."""
    symbol: str | None = None
    """The identifier a definition/usage question is about; None for the other intents."""
    scores: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    """Probability of every intent."""


# ---------------------------------------------------------------------------------------------
# Tokens and identifier shapes

_IDENT_CORE = r"\$?[A-Za-z_][\w$]*[!?]?(?:(?:::|\.|#|->)[A-Za-z_~$][\w$]*[!?]?)*(?:/\d+)?"
_KEBAB = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+"
_TOKEN = re.compile(rf"(?:{_KEBAB})(?![\w-])|{_IDENT_CORE}(?:\(\))?|\d+(?:\.\d+)*|[^\sA-Za-z0-9_]")
_IDENT_FULL = re.compile(rf"(?:{_IDENT_CORE}|{_KEBAB})")
_WORD = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]")

_CODE_KW = re.compile(
    r"\b(?:return|def|fn|func|function|const|let|var|val|elif|except|lambda|await|async|yield|impl|pub|"
    r"struct|typedef|null|None|nil|true|false|self|void|foreach|catch|throw|fi|esac|SELECT|FROM|WHERE|"
    r"UPDATE|INSERT|CREATE|JOIN)\b|\$this|#include")
_CODE_START = re.compile(
    r"^\s*(?:[\w.$\[\]]+\s*(?:=|:=|\+=|\()|[{}<@#$]|(?:def|fn|func|for|if|while|class|public|private|"
    r"protected|let|const|var|val|pub|impl|type|typedef|async|export|import|from|return|try|with|guard|"
    r"using|local|module|SELECT|CREATE|UPDATE|INSERT|RUN|set)\b)")
_OPS = frozenset("=<>+-*/%&|!^~{}[]();:,.$@\\")

# Phrasing cues per intent ("rules as features"); their weights are learned with everything else.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx)) for name, rx in (
    ("cue:def", r"\b(?:defin(?:ed|es?|ition|itions)|declar\w*|go ?to|go-to-def|jump to|navigate to|peek|"
                r"locate|lives?|signature|source (?:of|for)|which (?:source )?file (?:has|defines|is|contains)|"
                r"exports?)\b"),
    ("cue:use", r"\b(?:call(?:s|ers?|ed|ing)?|call[- ]sites?|usages?|us(?:e|es|ed|ing)|referenc\w*|invok\w*|"
                r"invocations?|import(?:s|ed|ing|ers?)|instantiat\w*|depends? on|dependents|consum\w*|"
                r"reli(?:es|ed)|relying|constructs?|constructed|subclass\w*|overrid\w*|raises|caught|reads|"
                r"dead code|unused|anywhere|elsewhere|everywhere)\b"),
    ("cue:chg", r"\b(?:add(?:s|ed|ing)?|chang(?:e|es|ed|ing)|modif\w*|support\w*|migrat\w*|refactor\w*|"
                r"renam\w*|touch\w*|edit\w*|updat\w*|extend\w*|introduc\w*|wir(?:e|ing)|hook in|plug in|"
                r"deprecat\w*|upgrad\w*|bump\w*|drop\w*|switch\w*|replac\w*|enabl\w*|would it take|"
                r"involved|affect\w*|impact\w*|requir\w*|adjust\w*|alter\w*|tweak\w*|rework\w*|remov\w*|"
                r"delet\w*|rewrit\w*|plan\w*|moving|move to)\b"),
    ("cue:impl", r"\b(?:how (?:do|does|is|are|did|come)|logic|mechanism|responsible|handl\w*|algorithm|"
                 r"implementation of|code (?:that|for|path)|function (?:that|to|for)|explain|walk me through|"
                 r"approach|routine|flow|the (?:part|piece|thing) that|what happens)\b"),
    ("cue:sim", r"\b(?:similar|resembl\w*|clones?|duplicat\w*|near-duplicates?|same (?:logic|as|thing)|"
                r"equivalents?|copies of|looks? like|matches for|written this before|like this|like:|"
                r"something like|already have|shape|pattern)"),
    ("cue:how_used", r"\bhow (?:is|are) \S+ (?:used|called|invoked|referenced)\b"),
    # "where is X created/rendered/checked": an action on X (usage) vs "X defined/declared" (definition)
    ("cue:id_defverb", r"\bid (?:is |are |gets? |being )?(?:defined|declared|implemented|located|written|"
                       r"kept|stored|set|configured)\b"),
    ("cue:id_actverb", r"\bid (?:is |are |gets? |being |objects? |values? |instances? )?(?!defined|declared|"
                       r"implemented|located|written|kept|stored|set|configured|need|embed)[a-z]+ed\b"),
    ("cue:where_ident", r"^where(?:'s| is| are)\s+(?:the\s+)?\S+\s*\??$"),
    ("cue:where_should", r"\bwhere (?:should|would|could|to)\b|\bwhere (?:do|can) (?:i|we) (?:add|put|hook|plug|"
                         r"register|insert|make|wire|change|start)\b"),
    ("cue:modal", r"\b(?:must|should|would|could|need(?:s|ed)? to|has to|have to|needed|going to)\b"),
    ("cue:what_change", r"\bwhat (?:needs?|has|have|must|would|do i|do we|to) (?:to )?"
                        r"(?:change|modify|update|edit|touch)"),
    ("cue:to_support", r"\bto (?:support|add|let|enable|allow|introduce|drop|deprecate|make)\b"),
    ("cue:i_want", r"\b(?:i want|i need|i'd like|we want|we're|i'm adding|i am adding|i'm going to|need to)\b"),
))


def _shape(tok: str) -> str:
    """Coarse shape of an identifier-like token."""
    t = tok.rstrip("()").lstrip("$")
    if re.search(r"::|\.|#|->", t):
        return "qualified"
    if "-" in t:
        return "kebab"
    if "_" in t.strip("_"):
        return "screaming" if t.upper() == t else "snake"
    if t.startswith("_"):
        return "private"
    if _CAMEL.search(t):
        return "pascal" if t[:1].isupper() else "camel"
    if any(c.isdigit() for c in t):
        return "alnum"
    return "word"


def _is_plain_word(tok: str) -> bool:
    """An ordinary word (``defined``, ``Where``, ``JWT``) rather than a code identifier."""
    if not tok.isalpha():
        return False
    return tok.islower() or (tok[0].isupper() and tok[1:].islower()) or (tok.isupper() and len(tok) <= 5)


def _tokens(text: str) -> list[tuple[str, str]]:
    """``(normalized, raw)`` pairs: plain words lower-cased, identifiers -> ``<id:shape>``, numbers ->
    ``<num>``, kebab-case words split, punctuation kept."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        if len(out) >= MAX_TOKENS:
            break
        c = raw[0]
        if c.isdigit():
            out.append(("<num>", raw))
        elif c.isalpha() or c in "_$":
            if raw[-1] in "!?" and _is_plain_word(raw[:-1]):  # "defined?" is a word and a question mark
                out.append((raw[:-1].lower(), raw[:-1]))
                out.append((raw[-1], raw[-1]))
            elif _is_plain_word(raw):
                out.append((raw.lower(), raw))
            elif "-" in raw:  # kebab-case: usually words (read-only), sometimes a name (date-range-picker)
                for part in raw.split("-"):
                    out.append((part if part.isalpha() else "<id:word>", part))
            else:
                out.append((f"<id:{_shape(raw)}>", raw))
        else:
            out.append((raw, raw))
    return out


# ---------------------------------------------------------------------------------------------
# Features


def _clip(x: float, hi: float = 1.0) -> float:
    return hi if x > hi else x


def _strip_query(text: str) -> str:
    return text.strip().strip("`'\"").rstrip("?.!:;, ").strip("`'\"").strip()


def features(query: str) -> dict[str, float]:
    """The sparse feature vector of a query (name -> value). Shared by training and inference."""
    text = query[:MAX_CHARS]
    stripped = text.strip()
    feats: dict[str, float] = {"bias:1": 1.0}
    if not stripped:
        feats["f:empty"] = 1.0
        return feats

    # -- code-likeness
    n = len(stripped)
    lines = [ln for ln in stripped.split("\n") if ln.strip()]
    nl = len(lines) - 1
    if nl > 0:
        feats["f:multiline"] = 1.0
        feats["f:lines"] = _clip(nl / 8, 1.5)
        ends = sum(1 for ln in lines if ln.rstrip()[-1:] in ";{}:)],")
        feats["f:code_line_ends"] = ends / len(lines)
        if re.search(r"\n[ \t]+\S", stripped):
            feats["f:indent"] = 1.0
    ops = sum(1 for ch in stripped if ch in _OPS)
    feats["f:op_density"] = _clip(4 * ops / n, 1.5)
    alpha = sum(1 for ch in stripped if ch.isalpha() or ch == " ")
    feats["f:alpha_ratio"] = alpha / n
    braces = stripped.count("{") + stripped.count("}")
    if braces:
        feats["f:braces"] = _clip(braces / 4, 1.5)
    semis = stripped.count(";")
    if semis:
        feats["f:semicolons"] = _clip(semis / 3, 1.5)
    kw = len(_CODE_KW.findall(stripped))
    if kw:
        feats["f:code_kw"] = _clip(kw / 3, 1.5)
    if re.search(r"(?<![=!<>+\-*/:])=(?![=>])", stripped):
        feats["f:assign"] = 1.0
    if "=>" in stripped or re.search(r"\)\s*->", stripped):
        feats["f:arrow"] = 1.0
    if re.search(r"[\w\])]\((?!\))[^()\n]*\)", stripped):
        feats["f:call_args"] = 1.0
    if re.search(r"\w\(\)", stripped):
        feats["f:call_empty"] = 1.0
    if "```" in stripped:
        feats["f:code_fence"] = 1.0
    if "`" in stripped.replace("```", ""):
        feats["f:backtick"] = 1.0
        for m in re.finditer(r"`([^`\n]+)`", stripped):
            inner = _clean_symbol(m.group(1))
            feats["f:backtick_ident" if _IDENT_FULL.fullmatch(inner) else "f:backtick_code"] = 1.0
    if _CODE_START.match(stripped):
        feats["f:code_start"] = 1.0
    head, sep, _ = stripped.partition("\n")
    if sep and (head.rstrip().endswith(":") or head.rstrip().endswith("?")) and len(head) < 120:
        feats["f:prose_then_code"] = 1.0
    if re.search(r":\s*\S.*[(){};=]", head) and not _CODE_START.match(head):
        feats["f:colon_code"] = 1.0

    # -- identifier shape of the whole query
    bare = _strip_query(stripped)
    if bare.endswith("()"):
        bare = bare[:-2]
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1]
    if bare and " " not in bare and _IDENT_FULL.fullmatch(bare):
        feats["f:single_ident"] = 1.0
        feats["f:single_shape:" + _shape(bare)] = 1.0

    # -- tokens: words, identifiers, punctuation
    toks = _tokens(stripped)
    norm = [t for t, _ in toks]
    words = [t for t in norm if t.isalpha()]
    idents = [t for t in norm if t.startswith("<id:")]
    nw = len(words)
    bucket = "0" if nw == 0 else "1" if nw == 1 else "2" if nw == 2 else "3-4" if nw <= 4 else \
        "5-8" if nw <= 8 else "9-15" if nw <= 15 else "16+"
    feats["f:nwords:" + bucket] = 1.0
    if idents:
        feats["f:has_ident"] = 1.0
        feats["f:n_ident"] = _clip(len(idents) / 4, 1.5)
        feats["f:ident_ratio"] = len(idents) / max(1, len(idents) + nw)
    if norm:
        punct = sum(1 for t in norm if len(t) == 1 and not t.isalnum())
        feats["f:punct_ratio"] = punct / len(norm)
    if stripped.endswith("?"):
        feats["f:qmark"] = 1.0

    # -- phrasing cues, on the first line with identifiers masked (so `AuthMiddleware#call` is no "call")
    prose = _mask_identifiers(stripped.split("\n", 1)[0][:400]).lower()
    for name, rx in _CUES:
        if rx.search(prose):
            feats[name] = 1.0

    # -- sparse n-grams, each group scaled to unit length
    grams: list[str] = []
    seq = ["<s>"] + norm[:MAX_TOKENS] + ["</s>"]
    grams.extend("w:" + t for t in norm[:MAX_TOKENS])
    grams.extend("b:" + a + "_" + b for a, b in zip(seq, seq[1:]))
    if words:
        grams.append("first:" + (norm[0] if norm else ""))
    wl = [t for t in norm if not (len(t) == 1 and not t.isalnum())]
    if wl:
        grams.append("last:" + wl[-1])
    _add_group(feats, grams)
    chars: list[str] = []
    for w in words[:MAX_CHAR_NGRAM_WORDS]:
        if len(w) < 4:
            continue
        s = "<" + w + ">"
        for k in (3, 4):
            chars.extend("c:" + s[i:i + k] for i in range(len(s) - k + 1))
    _add_group(feats, chars)
    return feats


def _mask_identifiers(line: str) -> str:
    line = re.sub(r"`[^`]*`", " ID ", line)

    def sub(m: re.Match[str]) -> str:
        raw = m.group(0)
        if not (raw[0].isalpha() or raw[0] in "_$") or _is_plain_word(raw.rstrip("!?")) or "-" in raw:
            return raw
        return "ID"

    return re.sub(r"\s+", " ", _TOKEN.sub(sub, line))


def _add_group(feats: dict[str, float], names: list[str]) -> None:
    uniq = set(names)
    if not uniq:
        return
    v = 1.0 / math.sqrt(len(uniq))
    for g in uniq:
        feats[g] = v


# ---------------------------------------------------------------------------------------------
# Symbol extraction

_KIND_WORDS = frozenset(
    "class function method struct enum trait interface type constant const macro hook component module "
    "record helper exception variable var func fn def impl object field property alias package namespace "
    "file protocol".split())
_STOP = frozenset(
    "a an the of to for in on at by from with and or is are was be been does do did where who what which how "
    "why when find show me list all every any anything something everything each go jump navigate open "
    "locate look up peek get give source file files defined define defines definition declaration declared "
    "declare declares lives live usages usage uses use used using calls call called calling callers caller "
    "sites site references reference referenced refer invoked invoke invokes invocations imports import "
    "instantiate instantiated instantiates depends depend relies consumers consume consumes please example "
    "examples it its this that there here else still can i we our my you dead code signature places place "
    "into being gets get come comes whose implemented implementation read reads reading raises caught "
    "constructed constructs overrides override subclasses subclass tests test need needs want".split())


def _clean_symbol(tok: str) -> str:
    t = tok.strip().strip("`'\",;:?!.").strip()
    if t.startswith("<") and t.endswith(">"):
        t = t[1:-1].strip("/ ")
    t = re.sub(r"(?<=\w)<[\w\s,:<>&'*]*>$", "", t)  # generics: RingBuffer<T>, HashMap<K, V>
    if t.endswith("()"):
        t = t[:-2]
    elif re.fullmatch(r"[\w.:#$>-]+\(.*\)", t):
        t = t[: t.index("(")]
    if t.endswith("'s"):
        t = t[:-2]
    return t


def _strength(tok: str, first: bool) -> float:
    """How much a token looks like a code identifier (0 = an ordinary word)."""
    if re.search(r"::|#|->|\$|\w\.\w|/\d+$|\w!$", tok):
        return 3.0
    if "_" in tok or _CAMEL.search(tok) or (re.search(r"\d", tok) and re.search(r"[A-Za-z]", tok)):
        return 3.0
    if "-" in tok:
        return 1.5
    if tok.isupper() and len(tok) > 1:
        return 1.0
    if tok[:1].isupper() and not first:
        return 1.5
    return 0.5


def extract_symbol(query: str) -> str | None:
    """The identifier a short question is about, or None (multi-line pastes, pure prose)."""
    text = query.strip()
    if not text or "\n" in text or len(text) > 300:
        return None
    for m in re.finditer(r"`([^`\n]+)`", text):
        cand = _clean_symbol(m.group(1))
        if cand and _IDENT_FULL.fullmatch(cand):
            return cand
    best, best_score = None, 0.0
    text = re.sub(r"(?<=\w)<[^<>\n]{0,60}>", "", text)  # drop generic arguments: HashMap<K, V> -> HashMap
    raw_tokens = re.findall(r"<[A-Za-z_][\w.:]*\s*/?>|[^\s]+", text)
    prev = ""
    for i, raw in enumerate(raw_tokens):
        tok = _clean_symbol(raw)
        low = tok.lower()
        if not tok or not _IDENT_FULL.fullmatch(tok) or low in _STOP or low in _KIND_WORDS:
            prev = low
            continue
        score = 3.5 if raw.rstrip("?,.;:").endswith(")") and "(" in raw else _strength(tok, first=(i == 0))
        if prev in {"of", "to", "calls", "uses", "for", "is", "invokes", "imports", "references", "def",
                    "fn", "func", "class", "struct", "trait", "enum", "interface", "type", "macro"}:
            score += 0.25
        if score > best_score:
            best, best_score = tok, score
        prev = low
    return best


# ---------------------------------------------------------------------------------------------
# Model


class Router:
    """The learned weights: ``bias[k]`` and ``weights[feature][k]`` for each intent ``k``."""

    def __init__(self, intents: list[str], bias: list[float], weights: dict[str, list[float]],
                 meta: dict | None = None) -> None:
        if tuple(intents) != INTENTS:
            raise ValueError(f"router weights are for intents {intents}, expected {list(INTENTS)}")
        self.intents = tuple(intents)
        self.bias = list(bias)
        self.weights = weights
        self.meta = meta or {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Router":
        with open(path or WEIGHTS_PATH, encoding="utf-8") as f:
            data = json.load(f)
        return cls(data["intents"], data["bias"], data["weights"], data.get("meta"))

    def scores(self, query: str) -> list[float]:
        """Softmax probabilities, in ``INTENTS`` order."""
        z = list(self.bias)
        w = self.weights
        for name, value in features(query).items():
            row = w.get(name)
            if row is not None:
                z[0] += value * row[0]
                z[1] += value * row[1]
                z[2] += value * row[2]
                z[3] += value * row[3]
                z[4] += value * row[4]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        s = sum(e)
        return [v / s for v in e]

    def classify(self, query: str) -> RouteDecision:
        probs = self.scores(query)
        k = max(range(len(probs)), key=probs.__getitem__)
        intent = self.intents[k]
        symbol = extract_symbol(query) if intent in SYMBOL_INTENTS else None
        return RouteDecision(intent=intent, confidence=probs[k], symbol=symbol,  # type: ignore[arg-type]
                             scores=dict(zip(self.intents, probs)))


_default: Router | None = None


def default_router() -> Router:
    """The shipped router, loaded once."""
    global _default
    if _default is None:
        _default = Router.load()
    return _default


def classify(query: str) -> RouteDecision:
    """Route one agent question to a search intent (see the module docstring)."""
    return default_router().classify(query)
