"""Which language a post is in, so that no post is admitted on an embedding that cannot read it.

all-MiniLM-L6-v2 was trained on English: on an everyday French or Danish post its embedding is noise
that a head can read as "machine learning" with 0.97 confidence. The rule: a post is embedded only when
its language is one the encoder reads (the heads file names them, `readable_languages`); any other post
is scored from what reads every language (the lexicon of AI and GitHub terms, links, n-grams).

py3langid (a small naive-Bayes model shipped inside its wheel, nothing downloaded) names the language;
it runs only on the posts the first stage lets through, a few percent of the stream.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNDETERMINED = "und"
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|@[\w.-]+|#\w+", re.UNICODE)
MIN_LETTERS = 3


@lru_cache(maxsize=1)
def _identifier():  # noqa: ANN202 - py3langid's LanguageIdentifier
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language; 'und' when there are too few letters to tell.

    Links, handles and hashtags are left out: "github.com/..." says nothing about the language.
    """
    words = _NOISE.sub(" ", text)
    if len(_LETTERS.findall(words)) < MIN_LETTERS:
        return UNDETERMINED
    return str(_identifier().classify(words)[0])
