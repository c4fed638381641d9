"""Reading one JSON document whose top level is an array of records, keeping where each record starts.

Data sets ship as one indented JSON file rather than JSON Lines; an error must still point at the
record (its number) and the line it starts on, so the array is decoded one element at a time.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.errors import ImportRejected

_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class Record:
    number: int  # 1-based position in the array
    line: int  # the line of the document the record starts on
    value: Any

    def rejected(self, message: str) -> ImportRejected:
        return ImportRejected(f"record {self.number}: {message}", line=self.line)


def joined(lines: Iterable[str]) -> str:
    """The document from the lines a caller hands over: a file's lines keep their newline, the API's
    `splitlines()` drops it, and line numbers need it back."""
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def records(text: str, *, fmt: str) -> Iterator[Record]:
    """The array's elements in order; raises ImportRejected for anything but an array of JSON values."""
    decoder = json.JSONDecoder()
    position = _skip(text, 0)
    if position < len(text) and text[position] == "\ufeff":  # a byte-order mark some editors write
        position = _skip(text, position + 1)
    if position >= len(text) or text[position] != "[":
        raise ImportRejected(
            f"the {fmt} format is one JSON document holding an array of records; this file does not "
            "start with '['"
        )
    position = _skip(text, position + 1)
    line, counted = 1, 0
    number = 0
    if position < len(text) and text[position] == "]":
        position += 1
    else:
        while True:
            line += text.count("\n", counted, position)
            counted = position
            number += 1
            try:
                value, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                raise ImportRejected(
                    f"record {number}: not valid JSON ({exc.msg})", line=exc.lineno
                ) from None
            yield Record(number=number, line=line, value=value)
            position = _skip(text, position)
            if position < len(text) and text[position] == ",":
                position = _skip(text, position + 1)
                continue
            if position < len(text) and text[position] == "]":
                position += 1
                break
            end_line = text.count("\n", 0, position) + 1
            raise ImportRejected(f"after record {number}: expected ',' or ']'", line=end_line)
    if _skip(text, position) != len(text):
        raise ImportRejected(
            "there is more after the array's closing ']'", line=text.count("\n", 0, position) + 1
        )


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def dense_ranks(scores: list[float], *, higher_is_better: bool) -> list[int]:
    """1 for the best; equal scores share a rank and the next rank follows on (1, 2, 2, 3)."""
    distinct = sorted(set(scores), reverse=higher_is_better)
    place = {score: rank for rank, score in enumerate(distinct, start=1)}
    return [place[s] for s in scores]
