#!/usr/bin/env python3
"""Record transformers' CLIP token ids for tests/data/tokenizer_prompts.txt.

tests/test_clip_tokenizer.cpp compares attnscope's C++ tokenizer with the ids written here, for SD v1
(padding with <|endoftext|>) and SD v2 (padding with "!", id 0, as diffusers' SD v2 folders declare it).

Run it on a machine with transformers installed (4.x gives the Python tokenizer, 5.x the Rust-backed one;
the file records which); nothing is downloaded:

    python3 tools/make_tokenizer_fixtures.py assets/clip-tokenizer

The folder holds vocab.json and merges.txt (a diffusers model folder works too: its tokenizer/ is used).
It writes tests/data/tokenizer_reference.json; --prompts and --out choose other files.

attnscope reproduces the Rust-backed tokenizer (`tokenizers` pipeline: NFC, whitespace runs to one space,
per-character lower-casing, CLIP's split pattern, byte-level BPE), so make the reference with transformers
5.x; the C++ test refuses a file written by the Python tokenizer (rust_backed false). ftfy is hidden from
transformers by default even where it is installed (only the Python tokenizer would use it); --allow-ftfy
records the ftfy path instead (the C++ test then refuses the file). The transformers version, whether the
tokenizer was Rust-backed, whether ftfy was importable and whether it was used are written down with the
ids.
"""
import argparse
import importlib.util
import inspect
import json
import os
import platform
import sys
import unicodedata
from pathlib import Path

CONTEXT_LENGTH = 77
REPO = Path(__file__).resolve().parent.parent


def tokenizer_files(folder: Path):
    for d in (folder, folder / "tokenizer"):
        if (d / "vocab.json").is_file() and (d / "merges.txt").is_file():
            return d / "vocab.json", d / "merges.txt"
    sys.exit(f"error: no vocab.json + merges.txt in {folder} or {folder / 'tokenizer'}")


def read_prompts(path: Path):
    # Split on "\n" only: str.splitlines() would also split on U+2028, U+0085 and friends inside a prompt.
    text = path.read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line]


def fallback_description(tok):
    """How this transformers version prepares text without ftfy (it changed in 2023)."""
    nlp = getattr(tok, "nlp", None)
    if nlp is None:
        return None
    try:
        nfc = "NFC" in inspect.getsource(type(nlp).tokenize)
    except (OSError, TypeError):
        nfc = None
    return {
        "class": type(nlp).__name__,
        "strip_accents": getattr(nlp, "strip_accents", None),
        "do_split_on_punc": getattr(nlp, "do_split_on_punc", True),
        "nfc": nfc,
    }


def encode(tok, prompt):
    ids = tok(prompt, padding="max_length", max_length=CONTEXT_LENGTH, truncation=True)["input_ids"]
    if len(ids) != CONTEXT_LENGTH:
        sys.exit(f"error: {len(ids)} ids for {prompt!r}, expected {CONTEXT_LENGTH}")
    return [int(i) for i in ids]


def write_reference(path: Path, meta: dict, prompts, ids_v1, ids_v2):
    # One prompt or id list per line keeps the file reviewable in a diff.
    def block(name, rows, last=False):
        body = ",\n".join("  " + json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
        return f' "{name}": [\n{body}\n ]' + ("" if last else ",")

    lines = ["{"]
    lines += [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in meta.items()]
    lines += [block("prompts", prompts), block("ids_v1", ids_v1), block("ids_v2", ids_v2, last=True), "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path,
                    help="folder with vocab.json and merges.txt (or a diffusers model folder)")
    ap.add_argument("--prompts", type=Path, default=REPO / "tests" / "data" / "tokenizer_prompts.txt")
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "tokenizer_reference.json")
    ap.add_argument("--allow-ftfy", action="store_true", help="let transformers use ftfy when it is installed")
    args = ap.parse_args()

    # Offline by construction: the tokenizer is built from local files, and these make any hub access fail.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    ftfy_importable = importlib.util.find_spec("ftfy") is not None
    if not args.allow_ftfy:
        sys.modules["ftfy"] = None  # makes `import ftfy` raise ImportError inside transformers

    import transformers
    from transformers import CLIPTokenizer

    vocab, merges = tokenizer_files(args.folder)
    tok_v1 = CLIPTokenizer(str(vocab), str(merges))
    tok_v2 = CLIPTokenizer(str(vocab), str(merges), pad_token="!")
    if getattr(tok_v1, "is_fast", False):
        # transformers 5 has only the Rust-backed tokenizer: it is what diffusers users get today, so it is
        # recorded as the reference, marked as such.
        print(f"note: transformers {transformers.__version__} gives a Rust-backed CLIPTokenizer", file=sys.stderr)

    ftfy_used = getattr(tok_v1, "fix_text", None) is not None
    fallback = fallback_description(tok_v1)
    if not ftfy_used and fallback and (fallback["strip_accents"] is not False or fallback["do_split_on_punc"]):
        sys.exit(f"error: transformers {transformers.__version__} falls back to BERT's BasicTokenizer defaults "
                 "without ftfy (accents stripped, punctuation split); use a 4.x release from mid-2023 or later")
    if fallback and fallback["nfc"] is False:
        print("warning: this BasicTokenizer does not apply NFC; prompts with combining marks will differ",
              file=sys.stderr)

    prompts = read_prompts(args.prompts)
    ids_v1 = [encode(tok_v1, p) for p in prompts]
    ids_v2 = [encode(tok_v2, p) for p in prompts]

    try:
        import regex

        regex_version = regex.__version__
    except (ImportError, AttributeError):
        regex_version = None
    meta = {
        "transformers_version": transformers.__version__,
        "tokenizer_class": f"{type(tok_v1).__module__}.{type(tok_v1).__qualname__}",
        "rust_backed": bool(getattr(tok_v1, "is_fast", False)),
        "ftfy_importable": ftfy_importable,
        "ftfy_used": ftfy_used,
        "fallback": fallback,
        "python_version": platform.python_version(),
        "unicodedata_version": unicodedata.unidata_version,
        "regex_version": regex_version,
        "vocab": str(vocab),
        "max_length": CONTEXT_LENGTH,
        "pad_ids": {"v1": tok_v1.pad_token_id, "v2": tok_v2.pad_token_id},
    }
    write_reference(args.out, meta, prompts, ids_v1, ids_v2)
    full = sum(1 for ids in ids_v2 if ids[-1] == tok_v2.eos_token_id)
    print(f"wrote {args.out}: {len(prompts)} prompts ({full} fill all {CONTEXT_LENGTH} positions), "
          f"transformers {transformers.__version__}, ftfy {'used' if ftfy_used else 'not used'}")


if __name__ == "__main__":
    main()
