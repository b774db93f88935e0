"""Ingest's CPU spent where the work needs it: story keys without datasketch's per-gram
overhead (and unchanged, since they are stored), storing that never waits for indexing,
and progress that moves with every article of a big file."""

from __future__ import annotations

import hashlib
import json
import random
import string

from datasketch import MinHash

from archive.stories import (
    _SCHEME,
    _SEED,
    _WORD,
    BANDS,
    MIN_SHINGLES,
    ROWS,
    SHINGLE,
    shingles,
    signature,
    similarity,
    story_keys,
)
from tests.conftest import EXAMPLES


def _datasketch_keys(body: str) -> tuple[int, ...]:
    """Story keys as every archive so far stored them: datasketch's MinHash over the
    4-grams joined as text."""
    words = _WORD.findall(body.lower())
    grams = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    if len(grams) < MIN_SHINGLES:
        return ()
    minhash = MinHash(num_perm=BANDS * ROWS, seed=_SEED, scheme=_SCHEME)
    minhash.update_batch([gram.encode("utf-8") for gram in grams])
    values = minhash.hashvalues
    return tuple(int.from_bytes(hashlib.blake2b(values[band * ROWS:(band + 1) * ROWS].tobytes()
                                                + bytes([band]), digest_size=8).digest(),
                                "big", signed=True) for band in range(BANDS))


def _bodies() -> list[str]:
    rng = random.Random(15)
    vocabularies = [
        string.ascii_letters,
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",  # two bytes a letter
        "的一是不了人我在有他这中大为上个国",  # three bytes, no spaces between words
        "aäöüßéèçñ",  # mixed one and two bytes
        "αβγδεζηθ" + "\u0301",  # a combining accent inside words
    ]
    bodies = []
    for number in range(400):
        letters = vocabularies[number % len(vocabularies)]
        words = ["".join(rng.choices(letters, k=rng.randint(1, 12)))
                 for _ in range(rng.choice([3, 10, 22, 23, 60, 300]))]
        separators = [rng.choice([" ", "  ", ", ", ".\n\n", " - ", "\t", "'"]) for _ in words]
        body = "".join(word + sep for word, sep in zip(words, separators, strict=True))
        if number % 7 == 0:
            body = (body + " ") * 3  # repeated text: the same grams more than once
        bodies.append(body.upper() if number % 11 == 0 else body)
    for path in EXAMPLES.iterdir():
        bodies.append(path.read_text(encoding="utf-8", errors="replace"))
    with open(EXAMPLES / "wire-feed.jsonl", encoding="utf-8") as feed:
        bodies.extend(str(json.loads(line)) for line in feed if line.strip())
    return bodies


def test_story_keys_are_the_ones_datasketch_made_for_every_kind_of_text():
    bodies = _bodies()
    compared = [(story_keys(body), _datasketch_keys(body)) for body in bodies]
    assert all(ours == theirs for ours, theirs in compared)
    assert sum(bool(keys) for keys, _ in compared) > 200  # most were long enough to have keys


def test_the_signature_is_datasketchs_bit_for_bit():
    grams = shingles("The port authority said on Monday that the strike would end soon " * 4
                     + "and the ships would sail again from the northern harbour tomorrow")
    minhash = MinHash(num_perm=BANDS * ROWS, seed=_SEED, scheme=_SCHEME)
    minhash.update_batch(list(grams))
    assert signature(grams).tobytes() == minhash.hashvalues.tobytes()


def test_shingles_are_the_utf8_of_four_words_joined_by_a_space():
    assert shingles("Один два, три  четыре! пять") == {
        "один два три четыре".encode(), "два три четыре пять".encode()}
    assert shingles("too short here") == set()
    first, second = shingles("a b c d e f"), shingles("a b c d e g")
    assert similarity(first, second) == 2 / 4
