"""Weighted prompts: ``{text:w}`` syntax -> spans -> per-token weighted embeddings.

The paper (Sec. 2, Table 1) weights prompt spans with ``{dust lane:1.3}``; the
authors' tool multiplies the span's token embeddings by the weight and then
rescales the whole prompt embedding so its mean equals the unweighted mean (the
A1111 / HCP convention). This module implements both halves:

* :func:`parse_weighted` turns text into ``[(span, weight), ...]``. ``{text:w}``
  and A1111's ``(text:w)`` set a weight, ``{text}`` / ``(text)`` alone mean 1.1,
  nesting multiplies, ``\\{`` ``\\}`` ``\\(`` ``\\)`` are literal brackets.
* :func:`encode_weighted` tokenizes each span, runs the text encoder once and
  applies the weights ("a1111": scale then rescale to the unweighted mean;
  "compel": interpolate each token from the empty prompt's embedding).

Prompts longer than the encoder's window (77 tokens with BOS/EOS) are refused
with :class:`PromptTooLongError` rather than chunked: every prompt the paper uses
is under 30 tokens, and chunking changes what the model sees in ways a user
would not expect.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from galaxysd_core.errors import GalaxySDError

if TYPE_CHECKING:
    import torch

DEFAULT_EMPHASIS = 1.1
MAX_WEIGHT = 5.0
#: Longest prompt read at all: far beyond the encoder's 75 tokens, short enough
#: that parsing it is instant (checked before anything else).
MAX_PROMPT_CHARS = 2000
_OPEN = {"{": "}", "(": ")"}
_CLOSE = {"}": "{", ")": "("}
_WEIGHT_RE = re.compile(r":([^:]*)$")
#: ``AND`` between whitespace joins the terms of a composed prompt (the A1111
#: spelling of composable diffusion); a term may end in ``:w``.
_AND_RE = re.compile(r"\s+AND\s+")
_TERM_WEIGHT_RE = re.compile(r"^(?P<text>.*?)\s*:\s*(?P<weight>[-+]?(?:\d+\.?\d*|\.\d+))\s*$", re.S)

Mode = Literal["a1111", "compel"]


class PromptError(GalaxySDError, ValueError):
    """A prompt is malformed, too long, or weights a span outside [0, 5]."""


class PromptTooLongError(PromptError):
    """A prompt has more characters, or more tokens, than the text encoder can take."""


@dataclass
class _Group:
    """One open bracket group while parsing; its children are spans or groups."""

    opener: str
    start: int
    children: list[_Group | tuple[str, int]] = field(default_factory=list)
    weight: float = 1.0
    end: int = -1
    has_text: bool = False  # some non-blank text inside it, at any depth


def parse_weighted(text: str) -> list[tuple[str, float]]:
    """Split a weighted prompt into its plain-text spans and their weights.

    Linear in the length of ``text`` (one pass builds the group tree, one walk
    multiplies the weights), and refused outright beyond
    :data:`MAX_PROMPT_CHARS`, so any input returns or raises at once.

    Parameters
    ----------
    text : str
        A prompt such as ``"sdss, {dust lane:1.3}"``. ``{x:w}`` or ``(x:w)``
        weights ``x`` by ``w`` (0 <= w <= 5), ``{x}`` or ``(x)`` by 1.1, nested
        groups multiply (the product must stay in [0, 5] too); a backslash
        makes the next bracket literal.

    Returns
    -------
    list of (str, float)
        The spans in order; text outside any group has weight 1.0. Empty text
        gives an empty list.

    Raises
    ------
    PromptTooLongError
        For more than :data:`MAX_PROMPT_CHARS` characters (checked first).
    PromptError
        For unbalanced or mismatched brackets, an empty group, a non-numeric,
        negative or > 5 weight, or nested groups whose combined weight leaves
        [0, 5]; the message names the character position or span. Both are
        ``ValueError`` and ``GalaxySDError``.

    Examples
    --------
    >>> parse_weighted("sdss, {dust lane:1.3}")
    [('sdss, ', 1.0), ('dust lane', 1.3)]
    """
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, got {type(text).__name__}")
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptTooLongError(
            f"prompt has {len(text)} characters; at most {MAX_PROMPT_CHARS} are read "
            f"(the text encoder sees 75 tokens): {text[:40]!r}..."
        )
    root = _Group("", -1)
    stack = [root]
    buffer: list[str] = []
    buffer_start = 0
    i = 0

    def flush() -> None:
        if buffer:
            span = "".join(buffer)
            stack[-1].children.append((span, buffer_start))
            stack[-1].has_text = stack[-1].has_text or bool(span.strip())
            buffer.clear()

    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "{}()":
            if not buffer:
                buffer_start = i
            buffer.append(text[i + 1])
            i += 2
            continue
        if char in _OPEN:
            flush()
            group = _Group(char, i)
            stack[-1].children.append(group)
            stack.append(group)
        elif char in _CLOSE:
            flush()
            group = stack[-1]
            if len(stack) == 1:
                raise PromptError(f"unbalanced {char!r} at position {i}: no group is open")
            if group.opener != _CLOSE[char]:
                raise PromptError(
                    f"mismatched {char!r} at position {i}: group opened with {group.opener!r} "
                    f"at position {group.start}"
                )
            stack.pop()
            _close_group(group, i)
            stack[-1].has_text = stack[-1].has_text or group.has_text
        else:
            if not buffer:
                buffer_start = i
            buffer.append(char)
        i += 1
    flush()
    if len(stack) > 1:
        group = stack[-1]
        raise PromptError(
            f"unbalanced {group.opener!r} at position {group.start}: group is never closed"
        )
    return _flatten(root, text)


def _close_group(group: _Group, end: int) -> None:
    """Read a closed group's weight (``:w`` suffix or the default 1.1) off its last span."""
    group.end = end
    group.weight = DEFAULT_EMPHASIS
    last = group.children[-1] if group.children else None
    if isinstance(last, tuple) and ":" in last[0]:
        span, pos = last
        match = _WEIGHT_RE.search(span)
        assert match is not None  # ":" is in span, so the regex matches
        raw = match.group(1).strip()
        where = pos + match.start(1)
        try:
            group.weight = float(raw)
        except ValueError:
            raise PromptError(f"non-numeric weight {raw!r} at position {where}") from None
        if not math.isfinite(group.weight) or group.weight < 0 or group.weight > MAX_WEIGHT:
            raise PromptError(f"weight {raw!r} at position {where} is outside [0, {MAX_WEIGHT:g}]")
        head = span[: match.start()]
        group.children[-1:] = [(head, pos)] if head else []
        group.has_text = any(
            (isinstance(c, _Group) and c.has_text) or (isinstance(c, tuple) and bool(c[0].strip()))
            for c in group.children
        )
    if not group.has_text:
        raise PromptError(f"empty group at position {group.start}-{end}: nothing to weight")


def _flatten(root: _Group, text: str) -> list[tuple[str, float]]:
    """Walk the group tree once (no recursion: nesting may be deep), multiplying weights."""
    spans: list[tuple[str, float]] = []
    todo: list[tuple[_Group | tuple[str, int], float]] = [(root, 1.0)]
    while todo:
        node, outer = todo.pop()
        if isinstance(node, tuple):
            spans.append((node[0], outer))
            continue
        weight = outer * node.weight
        if weight > MAX_WEIGHT:
            where = text[node.start : node.end + 1]
            shown = where if len(where) <= 40 else where[:37] + "..."
            raise PromptError(
                f"nested groups weigh the group at positions {node.start}-{node.end} "
                f"({shown!r}) by {weight:.4g}, outside [0, {MAX_WEIGHT:g}]"
            )
        todo.extend((child, weight) for child in reversed(node.children))
    return spans


def format_weighted(spans: Sequence[tuple[str, float]]) -> str:
    """Write spans back as prompt text that :func:`parse_weighted` reads back exactly.

    Parameters
    ----------
    spans : sequence of (str, float)
        As returned by :func:`parse_weighted`: non-empty text, weights in
        [0, 5]. Weights are rounded to 3 decimals.

    Returns
    -------
    str
        ``{span:w}`` for a weight other than 1, the bare (escaped) text for
        weight 1. A weight-1 span is written ``{span:1}`` where bare text would
        run into the previous bare span or escape the next ``{`` with a trailing
        backslash, so ``parse_weighted`` returns the same spans and weights.

    Raises
    ------
    ValueError
        For a span that is not a non-empty string, a weight that is not a
        finite number in [0, 5] (a nested group's product above 5 cannot be
        written), a weight other than 1 on a whitespace-only span, or two
        whitespace-only spans of weight 1 in a row (the parser refuses an
        empty group, so neither can be told apart); the message names the
        span's index.

    Examples
    --------
    >>> format_weighted([("sdss, ", 1.0), ("dust lane", 1.3)])
    'sdss, {dust lane:1.3}'
    """
    items = [_checked_span(i, span, weight) for i, (span, weight) in enumerate(spans)]
    parts: list[str] = []
    bare_before = False
    for i, (span, weight) in enumerate(items):
        nxt = items[i + 1] if i + 1 < len(items) else None
        bare = (
            weight == 1.0
            and not bare_before
            # A blank neighbour of weight 1 cannot be grouped, so it takes the bare slot.
            and not (nxt is not None and nxt[1] == 1.0 and not nxt[0].strip())
            # Bare text is followed by a group; a trailing backslash would escape its "{".
            and not (nxt is not None and span.endswith("\\"))
        )
        if not bare and not span.strip():
            # Blank and not bare: weighted, or the first of two blank weight-1 spans.
            what = f"it and span {i + 1} are both blank" if weight == 1.0 else "it is blank"
            raise PromptError(
                f"span {i} ({span!r}) with weight {weight:g} cannot be written: {what}, "
                "and the parser refuses an empty group"
            )
        escaped = re.sub(r"([{}()])", r"\\\1", span)
        parts.append(escaped if bare else f"{{{escaped}:{weight:g}}}")
        bare_before = bare
    return "".join(parts)


def _checked_span(index: int, span: object, weight: object) -> tuple[str, float]:
    """A span of :func:`format_weighted` with its weight rounded, or ValueError naming it."""
    if not isinstance(span, str) or not span:
        raise PromptError(f"span {index} must be a non-empty string, got {span!r}")
    try:
        value = round(float(weight), 3)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PromptError(
            f"weight of span {index} ({span!r}) is not a number: {weight!r}"
        ) from None
    if not math.isfinite(value) or value < 0 or value > MAX_WEIGHT:
        raise PromptError(
            f"weight {weight!r} of span {index} ({span!r}) is outside [0, {MAX_WEIGHT:g}]"
        )
    return span, value + 0.0  # + 0.0 turns a rounded -0.0 into 0.0


def split_composed(text: str) -> list[tuple[str, float]]:
    """Split a composed prompt ``"A AND B :0.6"`` into its terms and guidance weights.

    Composable diffusion (Liu et al. 2022) guides one image by several
    prompts at once; each term pushes the sample by its own weight times the
    guidance scale (:mod:`galaxysd_core.diffusion.composable`). Each term is an
    ordinary weighted prompt (see :func:`parse_weighted`).

    Parameters
    ----------
    text : str
        Terms joined by ``AND`` (upper case, spaces around it); a term may end
        in ``:w``, ``-5 <= w <= 5`` (negative pushes away from the term,
        default 1). A prompt without ``AND`` is one term of weight 1, its text
        untouched (a trailing ``:w`` is read as text there, as before).

    Returns
    -------
    list of (str, float)
        The terms in order.

    Raises
    ------
    PromptError
        For an empty term, a weight outside [-5, 5], or a malformed term; the
        message names the term.

    Examples
    --------
    >>> split_composed("sdss, completely round galaxy AND sdss, dust lane :0.6")
    [('sdss, completely round galaxy', 1.0), ('sdss, dust lane', 0.6)]
    """
    parse_weighted(text)  # type and overall length first
    parts = _AND_RE.split(text)
    if len(parts) == 1:
        return [(text, 1.0)]
    terms = []
    for index, part in enumerate(parts):
        match = _TERM_WEIGHT_RE.match(part)
        term, weight = (match["text"], float(match["weight"])) if match else (part, 1.0)
        if not term.strip():
            raise PromptError(f"term {index} of the composed prompt {text[:60]!r} is empty")
        if not -MAX_WEIGHT <= weight <= MAX_WEIGHT:
            raise PromptError(
                f"weight {weight:g} of term {index} ({term!r}) is outside "
                f"[{-MAX_WEIGHT:g}, {MAX_WEIGHT:g}]"
            )
        parse_weighted(term)
        terms.append((term.strip(), weight + 0.0))
    return terms


def plain_text(text: str) -> str:
    """The prompt with its weights removed (what an unweighted encoder would read)."""
    return "".join(span for span, _ in parse_weighted(text))


def token_weights(tokenizer, text: str) -> tuple[list[int], list[float]]:
    """Token ids (BOS ... EOS, padded to the window) and one weight per token.

    Each span is tokenized on its own and the pieces concatenated, so a weight
    covers exactly the tokens of its span; BOS, EOS and padding weigh 1.

    Raises
    ------
    PromptTooLongError
        If the prompt needs more tokens than the window holds.
    """
    window = int(tokenizer.model_max_length)
    ids: list[int] = []
    weights: list[float] = []
    for span, weight in parse_weighted(text):
        piece = tokenizer(span, add_special_tokens=False)["input_ids"]
        ids.extend(piece)
        weights.extend([weight] * len(piece))
    if len(ids) > window - 2:
        raise PromptTooLongError(
            f"prompt has {len(ids)} tokens; at most {window - 2} fit the text encoder "
            f"(shorten it): {text[:60]!r}"
        )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rest = window - 2 - len(ids)
    ids = [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id] + [pad] * rest
    weights = [1.0, *weights, 1.0] + [1.0] * rest
    return ids, weights


def _rescale(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """``before / after`` per prompt, or 1 where that ratio is not a sane positive factor.

    A text encoder whose output mean is near zero (a final layer norm without
    bias, a span weighted to 0) makes the A1111 ratio explode or flip sign;
    such a prompt keeps its scaled embedding instead.
    """
    import torch

    ratio = before / torch.where(after == 0, torch.full_like(after, 1e-30), after)
    sane = torch.isfinite(ratio) & (ratio > 1 / MAX_WEIGHT) & (ratio < MAX_WEIGHT)
    return torch.where(sane, ratio, torch.ones_like(ratio))


def encode_weighted(
    tokenizer,
    text_encoder,
    prompts: str | Sequence[str],
    *,
    mode: Mode = "a1111",
) -> torch.Tensor:
    """Encode weighted prompts into text-encoder hidden states.

    Parameters
    ----------
    tokenizer : transformers.CLIPTokenizer
    text_encoder : transformers.CLIPTextModel
    prompts : str or sequence of str
        Weighted prompts (see :func:`parse_weighted`).
    mode : {"a1111", "compel"}, default "a1111"
        ``"a1111"``: multiply each token's embedding by its weight, then rescale
        the prompt so its mean equals the unweighted mean (the authors' tool);
        the rescale is skipped when the factor would be outside (1/5, 5) or
        negative (an encoder whose mean is ~0).
        ``"compel"``: ``e0 + w * (e - e0)`` per token, ``e0`` the empty
        prompt's embedding at the same position.

    Returns
    -------
    torch.Tensor
        ``(len(prompts), window, hidden)`` on the encoder's device and dtype.

    Raises
    ------
    ValueError
        For a malformed prompt or an unknown mode; :class:`PromptTooLongError`
        for a prompt over the window.
    """
    import torch

    if mode not in ("a1111", "compel"):
        raise PromptError(f"unknown weighting mode {mode!r}; use 'a1111' or 'compel'")
    if isinstance(prompts, str):
        prompts = [prompts]
    rows = [token_weights(tokenizer, p) for p in prompts]
    device = text_encoder.device
    ids = torch.tensor([r[0] for r in rows], device=device)
    weights = torch.tensor([r[1] for r in rows], device=device, dtype=torch.float32)
    with torch.no_grad():
        hidden = text_encoder(ids)[0].float()
        if bool((weights == 1.0).all()):
            return hidden.to(text_encoder.dtype)
        if mode == "a1111":
            before = hidden.mean(dim=(1, 2), keepdim=True)
            hidden = hidden * weights[:, :, None]
            after = hidden.mean(dim=(1, 2), keepdim=True)
            hidden = hidden * _rescale(before, after)
        else:
            empty_ids, _ = token_weights(tokenizer, "")
            empty = text_encoder(torch.tensor([empty_ids], device=device))[0].float()
            hidden = empty + weights[:, :, None] * (hidden - empty)
    return hidden.to(text_encoder.dtype)
