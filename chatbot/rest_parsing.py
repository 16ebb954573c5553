"""How the REST API reads JSON bodies: DRF's parser, with errors a person can act on."""

from __future__ import annotations

from typing import IO

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonBodyParser(JSONParser):
    """DRF's JSON parser, with a clear parse error for text that is not UTF-8 or JSON nested too deeply."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> object:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as error:
            if isinstance(error.__context__, UnicodeDecodeError):
                raise ParseError("The body is not UTF-8 text: send JSON encoded as UTF-8.") from error
            raise
        except RecursionError:
            raise ParseError("The JSON is nested too deeply to read.") from None
