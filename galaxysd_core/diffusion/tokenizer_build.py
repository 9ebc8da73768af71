"""Rebuild SD-1.5's CLIP BPE tokenizer files offline (how ``assets/tokenizer`` was made).

Stable Diffusion 1.5 uses OpenAI CLIP's byte-level BPE tokenizer: 49,408 ids =
256 byte symbols + the same 256 with the end-of-word marker ``</w>`` + 48,894
merges + ``<|startoftext|>`` (49406) + ``<|endoftext|>`` (49407). Its merges
ship as ``bpe_simple_vocab_16e6.txt.gz`` in OpenAI's CLIP repository and in the
``open_clip_torch`` package (MIT); the vocabulary follows from the merges. This
script writes the four files ``CLIPTokenizer.from_pretrained(folder)`` reads.

Usage::

    python -m galaxysd_core.diffusion.tokenizer_build \\
        path/to/bpe_simple_vocab_16e6.txt.gz assets/tokenizer

Check: ``"sdss, spiral galaxy, dust lane"`` -> 49406, 3080, 632, 267, 19873,
6545, 267, 8349, 3980, 49407 (as SD-1.5's hub tokenizer). Load with
``from_pretrained(folder)``: with transformers 5, ``CLIPTokenizer(vocab_file=...,
merges_file=...)`` builds a broken tokenizer silently.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

from galaxysd_core.atomic import atomic_write_text

#: Merges used by CLIP: the file's lines 1 .. 49152 - 256 - 2 (line 0 is a header).
N_MERGES = 49152 - 256 - 2
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def byte_symbols() -> list[str]:
    """GPT-2/CLIP's reversible map of the 256 bytes to printable unicode characters, in id order."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def build_tokenizer(merges_gz: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write ``vocab.json``, ``merges.txt`` and the two configs into ``out``.

    Parameters
    ----------
    merges_gz : path-like
        ``bpe_simple_vocab_16e6.txt.gz``.
    out : path-like
        Destination folder (created; files replaced atomically).

    Returns
    -------
    Path
        ``out``.
    """
    with gzip.open(merges_gz, "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : N_MERGES + 1]]
    base = byte_symbols()
    vocab = base + [s + "</w>" for s in base] + ["".join(m) for m in merges] + [BOS, EOS]
    out = Path(out)
    specials = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    atomic_write_text(
        out / "vocab.json", json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False)
    )
    atomic_write_text(
        out / "merges.txt", "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    )
    atomic_write_text(out / "special_tokens_map.json", json.dumps(specials))
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        **specials,
        "do_lower_case": True,
        "clean_up_tokenization_spaces": True,
    }
    atomic_write_text(out / "tokenizer_config.json", json.dumps(config, indent=2))
    return out


if __name__ == "__main__":  # pragma: no cover - a one-off maintenance command
    if len(sys.argv) != 3:
        sys.exit("usage: python -m galaxysd_core.diffusion.tokenizer_build MERGES_GZ OUT_DIR")
    build_tokenizer(sys.argv[1], sys.argv[2])
