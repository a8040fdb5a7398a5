"""Read comment dumps into the comments table (one row per comment, in dump order).

The entry point is :func:`read_comments`. It accepts a comment section as people actually
have it — text pasted from a news site or a YouTube watch page, the JSON lines written by
youtube-comment-downloader, a table (CSV, TSV, JSON lines, Parquet) or one comment per line
— and returns a :class:`pandas.DataFrame` with the columns of :data:`COLUMNS`:

=============  ======================================================================
comment_id     unique str: the source's own id where it has one, else
               ``"c-" + sha1(key, position, text)[:12]`` (see *Ids* below)
text           the full comment text: all its lines, inner line breaks kept,
               surrounding whitespace trimmed, emoji and any script untouched
author         str or None
parent_id      the comment_id of the comment a reply answers, else None
likes          pandas nullable ``Int64`` ("1.2K" -> 1200, "3M" -> 3000000)
published      the time as the dump shows it ("3 days ago", "2024-05-01 12:00"), or None
position       0-based position in the dump
source         the path as given, or ``"<text>"`` for text passed directly
video_id       str or None
=============  ======================================================================

Columns a format has beyond these come after them (``number`` for ``numbered``;
``pinned``, ``edited``, ``reply_count`` for ``youtube-page``; ycd's ``channel``, ``heart``…;
a table's other columns). A table column whose name collides with a standard column
without being mapped to it (``source`` in ``youtube_war/*.jsonl``) is kept as
``orig_<name>``; ``df.attrs["renamed_columns"]`` records it. ``df.attrs`` also holds
``format``, ``source`` and, per format, ``title``, ``header_count``, ``found_count``.

Nothing is dropped: every comment in the dump is a row out. Doubts that do not lose a
comment (a header count that disagrees with what was found, numbering gaps) are reported
with a :class:`DumpWarning` subclass and in ``df.attrs``; input that cannot be read raises
:class:`DumpFormatError` naming the file and line.

Ids
    Formats without ids of their own get ``"c-" + sha1(key + position + text)[:12]``, where
    *key* is the file's *name* (not its folder, so the same file read from another working
    directory gets the same ids), the ``name=`` option, or ``"<text>"``.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "FORMATS",
    "TABLE_FORMATS",
    "DumpCountWarning",
    "DumpFormatError",
    "DumpNumberingWarning",
    "DumpWarning",
    "detect_format",
    "parse_likes",
    "read_comments",
]

#: Every format name :func:`read_comments` accepts (plus ``"auto"``).
FORMATS: tuple[str, ...] = (
    "numbered", "youtube-page", "ycd-jsonl", "csv", "tsv", "jsonl", "parquet", "lines",
)
#: Formats that are tables with a text column (``text_column=`` applies to them).
TABLE_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl", "parquet")
#: The columns every comments table has, in this order.
COLUMNS: tuple[str, ...] = (
    "comment_id", "text", "author", "parent_id", "likes", "published", "position", "source",
    "video_id",
)

# Other spellings people use for a format name.
_FORMAT_ALIASES = {
    "youtube": "youtube-page", "yt": "youtube-page", "ycd": "ycd-jsonl", "json": "jsonl",
    "ndjson": "jsonl", "txt": "lines", "news": "numbered",
}
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
                   ".pq": "parquet"}
_JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
# A one-line str ending like this is a file name, so a missing file is FileNotFoundError.
_PATH_SUFFIXES = {".txt", ".text", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json",
                  ".parquet", ".pq"}
# pandas' own default NA strings: used for a table's extra columns, never for its text.
_NA_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
               "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


class DumpFormatError(ValueError):
    """A dump that cannot be read as asked; the message starts with ``file:line:``."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)


class DumpWarning(UserWarning):
    """Something in a dump looks off, but every comment was still read."""


class DumpCountWarning(DumpWarning):
    """A dump's header count (``30 comments``) differs from the comments found in it."""


class DumpNumberingWarning(DumpWarning):
    """The numbers of a ``numbered`` dump skip or repeat (every entry is still kept)."""


# --------------------------------------------------------------------------- input


@dataclass
class _Input:
    """Where a dump came from, and its bytes/text read once."""

    name: str  # shown in messages and in the `source` column
    key: str  # hashed into generated ids
    path: Path | None
    raw: bytes | None
    encoding: str
    _text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            if self.raw is None and self.path is not None:
                self.raw = self.path.read_bytes()
            self._text = _decode(self.raw or b"", self.encoding, self.name)
        return self._text


def _looks_like_path(source: str) -> bool:
    """A str is a path when it has no line break and exists or ends in a dump suffix."""
    if "\n" in source or "\r" in source or not source.strip():
        return False
    candidate = Path(source)
    try:
        if candidate.exists():
            return True
    except (OSError, ValueError):  # e.g. a very long one-line comment: not a path
        return False
    return candidate.suffix.lower() in _PATH_SUFFIXES


def _resolve(source: Any, encoding: str, name: str | None = None) -> _Input:
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "comment dump not found", str(source))
        shown = os.fspath(source)
        return _Input(name or shown, name or path.name, path, None, encoding)
    if isinstance(source, (bytes, bytearray)):
        return _Input(name or "<text>", name or "<text>", None, bytes(source), encoding)
    if isinstance(source, str):
        return _Input(name or "<text>", name or "<text>", None, None, encoding,
                      _text=_normalise(source))
    if hasattr(source, "read"):  # an open file or a StringIO
        data = source.read()
        file_name = getattr(source, "name", None)
        shown = name or (file_name if isinstance(file_name, str) else None) or "<text>"
        key = name or (Path(shown).name if shown != "<text>" else shown)
        if isinstance(data, (bytes, bytearray)):
            return _Input(shown, key, None, bytes(data), encoding)
        return _Input(shown, key, None, None, encoding, _text=_normalise(data))
    raise TypeError(
        f"source must be a path (str or pathlib.Path), the dump's text, bytes or an open file, "
        f"not {type(source).__name__}")


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[1:] if text.startswith("\ufeff") else text


def _decode(raw: bytes, encoding: str, name: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DumpFormatError(f"unknown encoding {encoding!r}", source=name) from None
    if codec == "utf-8" and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        bad = " ".join(f"0x{byte:02x}" for byte in raw[err.start:err.end])
        plural = "s" if err.end - err.start > 1 else ""
        raise DumpFormatError(
            f"cannot decode byte{plural} {bad} at byte offset {err.start} (line {line}, column "
            f"{column}) as {encoding!r}: {err.reason}. The file was saved in another encoding; "
            f"pass encoding= (for example encoding='cp1252' or encoding='latin-1')",
            source=name, line=line) from None
    return _normalise(text)


# --------------------------------------------------------------------------- helpers


def parse_likes(value: Any) -> int | None:
    """A like count as dumps show it, as an int: ``"1.2K"`` -> 1200, ``"3M"`` -> 3000000.

    ``None``, NaN and ``""`` give None; ``"1,234"`` and ``"1 234"`` give 1234. Anything else
    (negative, words, fractions of a like) raises ValueError.
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"not a like count: {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ValueError(f"not a like count: {value!r}")
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if value < 0 or not float(value).is_integer():
            raise ValueError(f"not a like count: {value!r}")
        return int(value)
    text = str(value).strip().replace("\u00a0", " ")
    if not text:
        return None
    if re.fullmatch(r"\d{1,3}(?:[, ]\d{3})+", text):
        return int(re.sub(r"[, ]", "", text))
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KkMmBb]?)", text)
    if not match:
        raise ValueError(f"not a like count: {value!r}")
    try:
        number = Decimal(match.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}[
            match.group(2).lower()]
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        raise ValueError(f"not a like count: {value!r}") from None
    if number != number.to_integral_value():
        if not match.group(2):  # "2.5" likes is not a count; "2.5K" is rounded by the site
            raise ValueError(f"not a like count: {value!r}")
        number = number.to_integral_value()
    return int(number)


def _make_id(key: str, position: int, text: str) -> str:
    digest = hashlib.sha1(f"{key}\x1f{position}\x1f{text}".encode("utf-8")).hexdigest()
    return "c-" + digest[:12]


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _as_id(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))  # an integer id column that pandas widened to float
    return str(value).strip()


def _as_str(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _as_text(value: Any) -> str:
    # Missing text keeps its row (text ""): a row is never dropped.
    if _missing(value) and not isinstance(value, str):
        return ""
    return str(value).strip()


def _lines_from(rows: Sequence[int | None], positions: Iterable[int]) -> str:
    lines = [rows[p] for p in positions if rows[p] is not None]
    return f"; lines {', '.join(map(str, lines))}" if lines else ""


@dataclass
class _Parsed:
    """A parser's result: standard columns as lists, extras, attrs and warnings."""

    text: list[str] = field(default_factory=list)
    comment_id: list[str | None] = field(default_factory=list)
    author: list[str | None] = field(default_factory=list)
    parent_id: list[str | None] = field(default_factory=list)
    likes: list[int | None] = field(default_factory=list)
    published: list[str | None] = field(default_factory=list)
    video_id: list[str | None] = field(default_factory=list)
    line: list[int | None] = field(default_factory=list)  # 1-based source line, for errors
    extras: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    warnings: list[tuple[type[Warning], str]] = field(default_factory=list)

    def add(self, text: str, *, comment_id: str | None = None, author: str | None = None,
            parent_id: str | None = None, likes: int | None = None,
            published: str | None = None, video_id: str | None = None,
            line: int | None = None) -> None:
        self.text.append(text)
        self.comment_id.append(comment_id)
        self.author.append(author)
        self.parent_id.append(parent_id)
        self.likes.append(likes)
        self.published.append(published)
        self.video_id.append(video_id)
        self.line.append(line)


def _finish(parsed: _Parsed, inp: _Input, fmt: str, video_id: str | None) -> pd.DataFrame:
    n = len(parsed.text)
    ids = [cid if cid is not None else _make_id(inp.key, pos, parsed.text[pos])
           for pos, cid in enumerate(parsed.comment_id)]
    seen: dict[str, list[int]] = {}
    for pos, cid in enumerate(ids):
        seen.setdefault(cid, []).append(pos)
    duplicates = {cid: where for cid, where in seen.items() if len(where) > 1}
    if duplicates:
        cid, where = next(iter(duplicates.items()))
        more = f" ({len(duplicates) - 1} more duplicated ids)" if len(duplicates) > 1 else ""
        raise DumpFormatError(
            f"duplicate comment_id {cid!r} at rows {', '.join(map(str, where))} (0-based "
            f"positions{_lines_from(parsed.line, where)}){more}; comment_id must be unique: "
            f"fix the dump, or rename its id column so that ids are generated",
            source=inp.name)

    def obj(values: list[Any]) -> pd.Series:
        return pd.Series(values, dtype=object, index=pd.RangeIndex(n))

    videos = [v if v is not None else video_id for v in parsed.video_id]
    frame = pd.DataFrame({
        "comment_id": obj(ids),
        "text": obj(parsed.text),
        "author": obj(parsed.author),
        "parent_id": obj(parsed.parent_id),
        "likes": pd.Series(pd.array(parsed.likes, dtype="Int64"), index=pd.RangeIndex(n)),
        "published": obj(parsed.published),
        "position": pd.Series(np.arange(n, dtype="int64"), index=pd.RangeIndex(n)),
        "source": obj([inp.name] * n),
        "video_id": obj(videos),
    })
    for column, values in parsed.extras.items():
        if isinstance(values, pd.Series):
            values = values.reset_index(drop=True)
        frame[column] = values
    frame.attrs.update({"format": fmt, "source": inp.name})
    frame.attrs.update(parsed.attrs)
    return frame


def _next_nonblank(lines: Sequence[str], index: int) -> int:
    index += 1
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" \t"))


# --------------------------------------------------------------------------- numbered

_HEADER_RE = re.compile(
    r"^\s*(?:(?P<n>\d[\d,.]*\s?[KkMm]?)\s+comments?|comments?\s*\(\s*(?P<n2>\d[\d,.]*)\s*\))"
    r"\s*:?\s*$",
    re.IGNORECASE)
_ENTRY_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<num>\d{1,7})\.(?:\s+(?P<text>.*))?$")
_TRAILER_RE = re.compile(
    r"^(?:comments are (?:now )?closed|commenting (?:is|has been) (?:now )?(?:closed|disabled)"
    r"|comments (?:have been|are) (?:turned off|disabled)|(?:load|show|view) more comments)\.?$",
    re.IGNORECASE)


def _header_count(match: re.Match[str]) -> int | None:
    raw = (match.group("n") or match.group("n2") or "").replace(" ", "")
    try:
        return parse_likes(raw)
    except ValueError:
        return None


def _find_numbered_start(lines: Sequence[str]) -> tuple[int | None, int | None]:
    """(header line index, first entry line index); the header must precede an entry."""
    for i, line in enumerate(lines):
        if _HEADER_RE.match(line):
            j = _next_nonblank(lines, i)
            if j < len(lines) and _ENTRY_RE.match(lines[j]):
                return i, j
    return None, None


def _parse_numbered(inp: _Input) -> _Parsed:
    """A comment block as pasted from a news site (see :func:`read_comments`)."""
    lines = inp.text.split("\n")
    header_i, start = _find_numbered_start(lines)
    header_count = None
    if header_i is not None:
        header_count = _header_count(_HEADER_RE.match(lines[header_i]))  # type: ignore[arg-type]
    else:  # chosen by name without a header: entries start at the first "1." line
        numbered = [i for i, line in enumerate(lines) if _ENTRY_RE.match(line)]
        ones = [i for i in numbered
                if int(_ENTRY_RE.match(lines[i]).group("num")) == 1]  # type: ignore[union-attr]
        if not numbered:
            raise DumpFormatError(
                "no numbered entries found: the numbered format has lines such as '  1. text' "
                "after a header such as '30 comments'", source=inp.name)
        start = (ones or numbered)[0]
    assert start is not None
    title_end = header_i if header_i is not None else start
    title = next((line.strip() for line in lines[:title_end] if line.strip()), None)

    entry_indent = _indent(lines[start])
    entries: list[tuple[int, int, str, list[str]]] = []  # (number, line, first text, rest)
    trailer_i = None
    for i in range(start, len(lines)):
        line = lines[i]
        indent = _indent(line)
        match = _ENTRY_RE.match(line)
        # Only lines at the entries' own indentation start entries (or end the block):
        # continuation lines sit deeper, so a text line such as "2. second point" stays text.
        if match and indent <= entry_indent:
            first = (match.group("text") or "").rstrip()
            entries.append((int(match.group("num")), i + 1, first, []))
        elif line.strip() and indent <= entry_indent and _TRAILER_RE.match(line.strip()):
            trailer_i = i
            break
        else:
            entries[-1][3].append(line)

    parsed = _Parsed()
    numbers: list[int] = []
    for number, line_no, first, rest in entries:
        rest = [line.rstrip() for line in rest]
        indents = [len(line) - len(line.lstrip()) for line in rest if line.strip()]
        common = min(indents) if indents else 0
        body = [line[common:] if line.strip() else "" for line in rest]
        parsed.add("\n".join([first, *body]).strip(), line=line_no)
        numbers.append(number)
    parsed.extras["number"] = pd.array(numbers, dtype="Int64")

    issues: list[str] = []
    for k, (number, line_no, _, _) in enumerate(entries):
        if k == 0:
            if number != 1:
                issues.append(f"numbering starts at {number} (line {line_no})")
        elif number == entries[k - 1][0]:
            issues.append(f"number {number} repeats (line {line_no})")
        elif number != entries[k - 1][0] + 1:
            issues.append(f"after {entries[k - 1][0]} comes {number} (line {line_no})")
    if issues:
        parsed.warnings.append((DumpNumberingWarning,
                                f"{inp.name}: entry numbers are not consecutive: "
                                f"{'; '.join(issues)}; every entry was kept"))
    found = len(entries)
    if header_count is not None and header_count != found:
        parsed.warnings.append((DumpCountWarning,
                                f"{inp.name}: the header says {header_count} comments but {found} "
                                f"were found; keeping the {found} found"))
    if trailer_i is not None:
        after = [i + 1 for i in range(trailer_i + 1, len(lines)) if lines[i].strip()]
        if after:
            parsed.warnings.append((DumpWarning,
                                    f"{inp.name}: {len(after)} non-empty line(s) after "
                                    f"{lines[trailer_i].strip()!r} (from line {after[0]}) were not "
                                    f"read as comments"))
    parsed.attrs.update({"title": title, "header_count": header_count, "found_count": found,
                         "numbering_issues": issues,
                         "trailer": lines[trailer_i].strip() if trailer_i is not None else None})
    return parsed


# --------------------------------------------------------------------------- youtube-page

_HANDLE_RE = re.compile(r"^@[^\s@]{1,100}$")
_TIME_RE = re.compile(
    r"^(?:\d+|an?) (?:second|minute|hour|day|week|month|year)s? ago(?P<edited>\s*\(edited\))?$",
    re.IGNORECASE)
_PINNED_RE = re.compile(r"^Pinned by\s+\S.*$", re.IGNORECASE)
_REPLY_RE = re.compile(r"^reply$", re.IGNORECASE)
_LIKES_LINE_RE = re.compile(r"^(?:\d{1,3}|\d{1,3}(?:\.\d)?\s?[KkMmBb])$")
_COUNT = r"(?P<n>\d[\d,.]*\s?[KkMm]?)"
_THREAD_RES = {
    "plain": re.compile(rf"^{_COUNT} repl(?:y|ies)(?:\s+(?:·|from)\s.*)?$", re.IGNORECASE),
    "view": re.compile(rf"^View (?:all )?(?:{_COUNT} )?(?:more )?repl(?:y|ies)$", re.IGNORECASE),
    "hide": re.compile(rf"^Hide (?:all )?(?:{_COUNT} )?repl(?:y|ies)$", re.IGNORECASE),
    "more": re.compile(r"^Show more replies$", re.IGNORECASE),
}
_TEXT_UI_RE = re.compile(
    r"^(?:Read more|Show less|Translate to [A-Z][a-z]+(?: \(.*\))?|See original(?: \(.*\))?"
    r"|Translated by Google"
    r"|Show translation|Show original)$", re.IGNORECASE)
_PREAMBLE_UI_RE = re.compile(
    r"^(?:Sort by|Add a comment(?:\.\.\.|…)?|Top comments|Newest first|Comments)$", re.IGNORECASE)
_YT_HEADER_RE = re.compile(r"^(?P<n>\d[\d,.]*\s?[KkMm]?) Comments?$", re.IGNORECASE)


def _thread_kind(line: str) -> tuple[str, int | None] | None:
    for kind, pattern in _THREAD_RES.items():
        match = pattern.match(line)
        if match:
            raw = (match.groupdict().get("n") or "").replace(" ", "")
            try:
                count = parse_likes(raw) if raw else None
            except ValueError:
                count = None
            return kind, count
    return None


def _youtube_starts(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(author line, time line) index pairs: an @handle line whose next non-blank line is a time."""
    starts = []
    for i, line in enumerate(lines):
        if _HANDLE_RE.match(line.strip()):
            j = _next_nonblank(lines, i)
            if j < len(lines) and _TIME_RE.match(lines[j].strip()):
                starts.append((i, j))
    return starts


@dataclass
class _YtComment:
    author: str
    published: str
    edited: bool
    pinned: bool
    text: str
    likes: int
    thread: list[tuple[str, int | None]]  # thread UI lines after the comment, in order
    line: int


def _parse_youtube_body(body: list[str]) -> tuple[str, int, list[tuple[str, int | None]]]:
    """Split what follows a time line into (text, likes, thread UI), reading from the end."""
    end = len(body)
    thread: list[tuple[str, int | None]] = []
    while end and (not body[end - 1].strip() or _thread_kind(body[end - 1].strip())):
        kind = _thread_kind(body[end - 1].strip())
        if kind:
            thread.insert(0, kind)
        end -= 1
    if end and _REPLY_RE.match(body[end - 1].strip()):
        end -= 1
        while end and not body[end - 1].strip():
            end -= 1
    likes = 0  # YouTube shows no count when nobody liked the comment
    likes_line = None
    if end and _LIKES_LINE_RE.match(body[end - 1].strip()):
        likes_line = end - 1
        likes = parse_likes(body[end - 1].strip()) or 0
        end -= 1
    while end and (not body[end - 1].strip() or _TEXT_UI_RE.match(body[end - 1].strip())):
        end -= 1
    text = "\n".join(line.rstrip() for line in body[:end]).strip()
    if not text and likes_line is not None:
        # A comment is never empty, so a lone number was the text (e.g. "2") with no likes.
        text, likes = body[likes_line].strip(), 0
    return text, likes, thread


def _parse_youtube(inp: _Input, replies: str = "expanded") -> _Parsed:
    """Text copied from a YouTube watch page's comment section (see :func:`read_comments`)."""
    if replies not in ("expanded", "collapsed"):
        raise ValueError(f"replies= must be 'expanded' or 'collapsed', not {replies!r}")
    lines = inp.text.split("\n")
    starts = _youtube_starts(lines)
    if not starts:
        raise DumpFormatError(
            "no comments found: a youtube-page dump has, per comment, an '@handle' line "
            "followed by a time line such as '3 days ago'", source=inp.name)
    # A "Pinned by …" line just above an author line belongs to that comment.
    block_starts, pinned = [], []
    previous_end = -1
    for author_i, time_i in starts:
        p = author_i - 1
        while p > previous_end and not lines[p].strip():
            p -= 1
        is_pinned = p > previous_end and bool(_PINNED_RE.match(lines[p].strip()))
        block_starts.append(p if is_pinned else author_i)
        pinned.append(is_pinned)
        previous_end = time_i

    preamble = [line.strip() for line in lines[:block_starts[0]] if line.strip()]
    header_count = None
    title = None
    for line in preamble:
        match = _YT_HEADER_RE.match(line)
        if match and header_count is None:
            header_count = parse_likes(match.group("n").replace(" ", ""))
        elif title is None and not match and not _PREAMBLE_UI_RE.match(line):
            title = line

    comments: list[_YtComment] = []
    for k, (author_i, time_i) in enumerate(starts):
        body_end = block_starts[k + 1] if k + 1 < len(starts) else len(lines)
        text, likes, thread = _parse_youtube_body(lines[time_i + 1:body_end])
        time_match = _TIME_RE.match(lines[time_i].strip())
        assert time_match is not None
        published = lines[time_i].strip()
        if time_match.group("edited"):
            published = published[:time_match.start("edited")].strip()
        comments.append(_YtComment(lines[author_i].strip(), published,
                                   bool(time_match.group("edited")), pinned[k], text, likes,
                                   thread, author_i + 1))

    parsed = _Parsed()
    ids = [_make_id(inp.key, pos, c.text) for pos, c in enumerate(comments)]
    parent: str | None = None
    remaining: float = 0  # replies still expected in the open thread (inf: count unknown)
    reply_counts: list[int | None] = []
    for pos, comment in enumerate(comments):
        kinds = [kind for kind, _ in comment.thread]
        own_thread = any(kind in ("plain", "view", "hide") for kind in kinds)
        is_reply = (parent is not None and remaining > 0 and not comment.pinned and not own_thread
                    and (remaining != math.inf or comment.text.startswith("@")
                         or parsed.parent_id[-1] is None))
        count = next((n for kind, n in comment.thread if kind in ("plain", "view", "hide")), None)
        reply_counts.append(count)
        if is_reply:
            parsed.add(comment.text, comment_id=ids[pos], author=comment.author,
                       parent_id=parent, likes=comment.likes, published=comment.published,
                       line=comment.line)
            remaining -= 1
            if "more" in kinds:  # "Show more replies": the rest of the thread was not shown
                remaining = 0
            continue
        parsed.add(comment.text, comment_id=ids[pos], author=comment.author, likes=comment.likes,
                   published=comment.published, line=comment.line)
        parent, remaining = None, 0
        for kind, n in comment.thread:
            if kind == "hide" or (kind == "plain" and replies == "expanded"):
                parent = ids[pos]
                remaining = n if n is not None else math.inf
                break
    parsed.extras["pinned"] = [c.pinned for c in comments]
    parsed.extras["edited"] = [c.edited for c in comments]
    parsed.extras["reply_count"] = pd.array(reply_counts, dtype="Int64")
    found = len(comments)
    if header_count is not None and header_count != found:
        parsed.warnings.append((DumpCountWarning,
                                f"{inp.name}: the page says {header_count} comments but {found} "
                                f"were found (replies included); keeping the {found} found"))
    parsed.attrs.update({"title": title, "header_count": header_count, "found_count": found})
    return parsed


# --------------------------------------------------------------------------- JSON


def _json_records(inp: _Input) -> list[tuple[int | None, dict[str, Any]]]:
    """(line, object) pairs from JSON lines; a JSON array or {"comments": [...]} also works."""
    text = inp.text
    records: list[tuple[int | None, dict[str, Any]]] = []
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise DumpFormatError(f"not valid JSON: {err.msg} (column {err.colno})",
                                  source=inp.name, line=err.lineno) from None
        return _check_objects(items, inp)
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            item = json.loads(stripped)
        except json.JSONDecodeError as err:
            if not records:  # maybe one pretty-printed document such as {"comments": [...]}
                try:
                    whole = json.loads(text)
                except json.JSONDecodeError:
                    whole = None
                if isinstance(whole, dict) and isinstance(whole.get("comments"), list):
                    return _check_objects(whole["comments"], inp)
            raise DumpFormatError(
                f"this line is not valid JSON: {err.msg} (column {err.colno}); each line of a "
                f"JSON-lines file must be one JSON object", source=inp.name, line=number) from None
        if not isinstance(item, dict):
            raise DumpFormatError(f"expected a JSON object on this line, got {type(item).__name__}",
                                  source=inp.name, line=number)
        records.append((number, item))
    return records


def _check_objects(items: Any, inp: _Input) -> list[tuple[int | None, dict[str, Any]]]:
    if not isinstance(items, list):
        raise DumpFormatError("expected a list of JSON objects", source=inp.name)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DumpFormatError(f"item {index} is a {type(item).__name__}, not a JSON object",
                                  source=inp.name)
    return [(None, item) for item in items]


def _parse_ycd(inp: _Input) -> _Parsed:
    """youtube-comment-downloader output (``cid``, ``text``, ``votes``…); ``A.B`` answers ``A``."""
    records = _json_records(inp)
    parsed = _Parsed()
    mapped = {"cid", "text", "author", "votes", "time"}
    extra_keys: list[str] = []
    for _, record in records:
        for key in record:
            if key not in mapped and key not in extra_keys:
                extra_keys.append(key)
    for line, record in records:
        cid = _as_id(record.get("cid"))
        parent = cid.split(".", 1)[0] if cid and "." in cid else None
        try:
            likes = parse_likes(record.get("votes"))
        except ValueError as err:
            raise DumpFormatError(f"'votes': {err}", source=inp.name, line=line) from None
        parsed.add(_as_text(record.get("text")), comment_id=cid,
                   author=_as_str(record.get("author")), parent_id=parent, likes=likes,
                   published=_as_str(record.get("time")), line=line)
    for key in extra_keys:
        name = f"orig_{key}" if key in COLUMNS else key
        parsed.extras[name] = pd.Series([record.get(key) for _, record in records],
                                        dtype=object).infer_objects()
    return parsed


# --------------------------------------------------------------------------- tables

_TEXT_NAMES = ("text", "comment", "comments", "body", "comment_text", "textoriginal",
               "textdisplay", "content", "message")
_ALIASES: dict[str, tuple[str, ...]] = {
    "comment_id": ("comment_id", "id", "cid", "commentid"),
    "author": ("author", "user", "username", "user_name", "author_name", "authordisplayname",
               "screen_name"),
    "parent_id": ("parent_id", "parent", "parentid", "in_reply_to", "reply_to"),
    "likes": ("likes", "votes", "like_count", "likecount", "num_likes"),
    "published": ("published", "time", "date", "timestamp", "published_at", "publishedat",
                  "created_at", "created"),
    "video_id": ("video_id", "video", "videoid"),
}


def _norm(column: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(column).strip().lower())


def _map_columns(columns: Sequence[Any], text_column: str | None, name: str) -> dict[str, Any]:
    """{standard column: source column} for a table's columns."""
    by_norm: dict[str, Any] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    mapping: dict[str, Any] = {}
    if text_column is not None:
        if text_column in columns:
            mapping["text"] = text_column
        elif _norm(text_column) in by_norm:
            mapping["text"] = by_norm[_norm(text_column)]
        else:
            raise DumpFormatError(
                f"text_column={text_column!r} is not a column of this table; columns found: "
                f"{', '.join(map(str, columns)) or '(none)'}", source=name)
    else:
        for candidate in _TEXT_NAMES:
            if candidate in by_norm:
                mapping["text"] = by_norm[candidate]
                break
        else:
            raise DumpFormatError(
                f"no text column found (looked for {', '.join(_TEXT_NAMES)}); columns found: "
                f"{', '.join(map(str, columns)) or '(none)'}; pass text_column= to name it",
                source=name)
    used = {mapping["text"]}
    for standard, aliases in _ALIASES.items():
        for alias in aliases:
            column = by_norm.get(alias)
            if column is not None and column not in used:
                mapping[standard] = column
                used.add(column)
                break
    return mapping


def _read_delimited(inp: _Input, sep: str, text_column: str | None,
                    pandas_options: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    text = inp.text
    try:
        header = pd.read_csv(io.StringIO(text), sep=sep, nrows=0, **pandas_options)
    except pd.errors.EmptyDataError:
        raise DumpFormatError("the file is empty (no header row)", source=inp.name) from None
    except (pd.errors.ParserError, ValueError) as err:
        raise DumpFormatError(f"cannot read the table: {err}", source=inp.name) from None
    columns = list(header.columns)
    mapping = _map_columns(columns, text_column, inp.name)
    # Mapped columns are read as exact strings ("NA" is a comment, "007" an id), others as
    # pandas infers them.
    as_strings = set(mapping.values())
    options = dict(pandas_options)
    options.setdefault("dtype", {c: str for c in as_strings})
    options.setdefault("keep_default_na", False)
    options.setdefault("na_values", {c: _NA_STRINGS for c in columns if c not in as_strings})
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, **options)
    except pd.errors.ParserError as err:
        found = re.search(r"line (\d+)", str(err))
        raise DumpFormatError(f"cannot read the table: {err}", source=inp.name,
                              line=int(found.group(1)) if found else None) from None
    return table, mapping


def _parse_table(inp: _Input, fmt: str, text_column: str | None,
                 pandas_options: Mapping[str, Any]) -> _Parsed:
    rows: list[int | None]
    if fmt in ("csv", "tsv"):
        table, mapping = _read_delimited(inp, "," if fmt == "csv" else "\t", text_column,
                                         pandas_options)
        rows = [None] * len(table)
    elif fmt == "parquet":
        if inp.path is None:
            raise DumpFormatError("the parquet format needs a file path, not text",
                                  source=inp.name)
        if inp.path.stat().st_size == 0:
            raise DumpFormatError("the file is empty", source=inp.name)
        try:
            table = pd.read_parquet(inp.path, **pandas_options)
        except Exception as err:  # pyarrow raises several types for a damaged file
            raise DumpFormatError(f"cannot read the parquet file: {err}", source=inp.name) from None
        mapping = _map_columns(list(table.columns), text_column, inp.name)
        rows = [None] * len(table)
    else:  # jsonl
        records = _json_records(inp)
        table = pd.DataFrame([record for _, record in records], dtype=object)
        mapping = _map_columns(list(table.columns), text_column, inp.name)
        rows = [line for line, _ in records]
    table = table.reset_index(drop=True)

    parsed = _Parsed()
    n = len(table)

    def column(standard: str, convert: Any) -> list[Any]:
        source_column = mapping.get(standard)
        if source_column is None:
            return [None] * n
        return [convert(value) for value in table[source_column].tolist()]

    parsed.text = column("text", _as_text)
    parsed.comment_id = column("comment_id", _as_id)
    parsed.author = column("author", _as_str)
    parsed.parent_id = column("parent_id", _as_id)
    parsed.published = column("published", _as_str)
    parsed.video_id = column("video_id", _as_id)
    parsed.line = rows
    likes: list[int | None] = []
    if "likes" in mapping:
        for pos, value in enumerate(table[mapping["likes"]].tolist()):
            try:
                likes.append(parse_likes(value))
            except ValueError as err:
                where = f" (line {rows[pos]})" if rows[pos] is not None else ""
                raise DumpFormatError(f"row {pos}{where}, column {mapping['likes']!r}: {err}",
                                      source=inp.name, line=rows[pos]) from None
    else:
        likes = [None] * n
    parsed.likes = likes

    renamed: dict[str, str] = {}
    used = set(mapping.values())
    for column_name in table.columns:
        if column_name in used:
            continue
        name = str(column_name)
        if name in COLUMNS:  # e.g. a table's own `source` column: keep it, under another name
            new = f"orig_{name}"
            while new in table.columns or new in parsed.extras:
                new = f"orig_{new}"
            renamed[name] = new
            name = new
        values = table[column_name]
        parsed.extras[name] = values.infer_objects() if values.dtype == object else values
    parsed.attrs["columns_mapped"] = {standard: str(col) for standard, col in mapping.items()}
    if renamed:
        parsed.attrs["renamed_columns"] = renamed
    return parsed


# --------------------------------------------------------------------------- lines


def _parse_lines(inp: _Input) -> _Parsed:
    parsed = _Parsed()
    for number, line in enumerate(inp.text.split("\n"), 1):
        if line.strip():
            parsed.add(line.strip(), line=number)
    return parsed


# --------------------------------------------------------------------------- detection


def _json_kind(text: str) -> str | None:
    """'ycd-jsonl' or 'jsonl' when the text's first record is a JSON object, else None."""
    stripped = text.lstrip()
    first_line = stripped.split("\n", 1)[0].strip()
    record: Any = None
    try:
        record = json.loads(first_line)
    except json.JSONDecodeError:
        if stripped[:1] in ("[", "{"):
            try:
                whole = json.loads(stripped)
            except json.JSONDecodeError:
                return None
            if isinstance(whole, dict) and isinstance(whole.get("comments"), list):
                whole = whole["comments"]
            if isinstance(whole, list):
                record = whole[0] if whole else {}
    if isinstance(record, list):  # "[{...}, ...]" on one line
        record = record[0] if record else {}
    if not isinstance(record, dict):
        return None
    return "ycd-jsonl" if {"cid", "text"} <= set(record) else "jsonl"


def _table_kind(text: str) -> str | None:
    """'tsv'/'csv' when the first line is a header naming a text column, else None."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    for fmt, cells in (("tsv", first.split("\t")), ("csv", next(csv.reader([first]), []))):
        if len(cells) < 2:
            continue
        if all(re.fullmatch(r"\s*[\w.\-]+(?: [\w.\-]+)?\s*", cell) for cell in cells) and any(
                _norm(cell) in _TEXT_NAMES for cell in cells):
            return fmt
    return None


def _detect_text(text: str) -> str:
    kind = _json_kind(text) if text.lstrip()[:1] in ("{", "[") else None
    if kind:
        return kind
    kind = _table_kind(text)
    if kind:
        return kind
    lines = text.split("\n")
    header = _find_numbered_start(lines)[0]
    starts = _youtube_starts(lines)
    # Both structures can appear (a YouTube comment quoting "30 comments / 1. …", a pasted
    # entry holding "@handle / 3 days ago"): the one that starts first is the dump's own.
    if header is not None and (not starts or header < starts[0][0]):
        return "numbered"
    if starts:
        return "youtube-page"
    return "lines"


def _detect(inp: _Input) -> str:
    if inp.path is not None:
        suffix = inp.path.suffix.lower()
        if suffix in _SUFFIX_FORMATS:
            return _SUFFIX_FORMATS[suffix]
        if suffix in _JSON_SUFFIXES:
            return _json_kind(inp.text) or "jsonl"
    return _detect_text(inp.text)


def detect_format(text_or_path: str | os.PathLike[str] | bytes) -> str:
    """The format :func:`read_comments` would read *text_or_path* as (one of :data:`FORMATS`).

    A path is resolved as in :func:`read_comments`. Rules, first match wins:

    1. suffix ``.csv`` -> csv, ``.tsv``/``.tab`` -> tsv, ``.parquet``/``.pq`` -> parquet;
       ``.jsonl``/``.ndjson``/``.json`` -> ycd-jsonl when the first record has ``cid`` and
       ``text``, else jsonl;
    2. content (any other suffix, or text): a first line that is a JSON object (or a JSON
       array / ``{"comments": [...]}`` document) -> ycd-jsonl or jsonl as above; a first line
       that is a tab- or comma-separated header naming a text column (``text``, ``comment``,
       ``body``…) -> tsv / csv; a ``N comments`` line followed by a numbered entry
       (``  1. text``) -> numbered; an ``@handle`` line followed by a time line
       (``3 days ago``) -> youtube-page (when a dump has both, the structure that starts
       first wins); otherwise lines.
    """
    inp = _resolve(text_or_path, "utf-8")
    if inp.path is None or inp.path.suffix.lower() not in _SUFFIX_FORMATS:
        _require_text(inp)
    return _detect(inp)


def _require_text(inp: _Input) -> None:
    if (inp.raw is not None and not inp.raw) or (
            inp.path is not None and inp.path.stat().st_size == 0):
        raise DumpFormatError("the file is empty", source=inp.name)
    if not inp.text.strip():
        raise DumpFormatError("the dump is empty (only whitespace, no comments)", source=inp.name)


# --------------------------------------------------------------------------- entry point


def read_comments(
    source: str | os.PathLike[str] | bytes | Any,
    *,
    format: str = "auto",
    encoding: str = "utf-8",
    text_column: str | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Read a comment dump into the comments table: one row per comment, in dump order.

    Parameters
    ----------
    source
        A path (``str`` or :class:`pathlib.Path`), the dump's text, ``bytes`` or an open
        file. A ``str`` is a path when it has no line break and either exists or ends in a
        dump suffix (``.txt .csv .tsv .tab .jsonl .ndjson .json .parquet .pq``); such a path
        that does not exist raises :class:`FileNotFoundError` (it is never read as a one-line
        comment). Any other ``str`` is the dump's text.
    format
        ``"auto"`` (see :func:`detect_format`) or one of :data:`FORMATS`.
    encoding
        How the file's bytes are decoded (a UTF-8 byte-order mark is skipped).
    text_column
        The text column of a table (csv, tsv, jsonl, parquet); guessed when None from
        ``text, comment, comments, body, comment_text, textOriginal, textDisplay, content,
        message`` (case-insensitive).
    **options
        ``video_id=`` fills ``video_id`` where the dump has none; ``name=`` replaces the
        ``source`` value and the key of generated ids; ``replies=`` (youtube-page):
        ``"expanded"`` (default) or ``"collapsed"``, see below. For csv/tsv/parquet any
        other keyword goes to :func:`pandas.read_csv` / :func:`pandas.read_parquet` (for
        example ``quoting=csv.QUOTE_NONE`` for a TSV with bare quotes).

    Formats
    -------
    numbered
        A comment block pasted from a news site: article text first (its first non-empty
        line becomes ``df.attrs["title"]``), a header such as ``30 comments``, entries
        ``  1. text`` whose continuation lines follow unnumbered (blank lines inside kept),
        ending at a trailer such as ``Comments are closed.`` A numbered line starts an entry
        only at the entries' own indentation or less, so an indented continuation line such
        as ``2. my second point`` stays text (in a dump with no indentation at all, it would
        start an entry). The entry number is kept in the ``number`` column. A header count
        other than the number found gives a :class:`DumpCountWarning`; numbers that skip or
        repeat give a :class:`DumpNumberingWarning`; both are in ``df.attrs``
        (``header_count``, ``found_count``, ``numbering_issues``) and no entry is dropped.
    youtube-page
        Text copied from a YouTube watch page. Heuristics:

        * a comment starts at an ``@handle`` line (a single word after ``@``) whose next
          non-blank line is a time line (``3 days ago``, ``1 month ago (edited)``); an
          ``@handle …`` line with more words is text (replies often start so). A comment
          text containing an ``@handle`` line directly followed by a time line cannot be
          told apart from a new comment;
        * a ``Pinned by …`` line right above that start marks the comment ``pinned``;
        * everything up to the next start is the comment's, read from the end: thread lines
          (``3 replies``, ``1 reply``, ``View 3 replies``, ``Hide replies``, ``Show more
          replies``), then one ``Reply`` line, then one like-count line (``245``, ``1.2K``;
          YouTube shows none when nobody liked it, so ``likes`` is 0 then), then UI lines
          (``Read more``, ``Show less``, ``Translate to English``…); the rest is the text.
          Only a like-count-shaped line right above ``Reply`` is read as likes (a text line
          such as ``2024`` cannot be a count: counts over 999 are shown as ``1K``); when that
          leaves no text, the number was the text and likes are 0;
        * lines before the first comment are a preamble: ``N Comments`` gives
          ``header_count`` (a difference from the comments found, replies included, gives a
          :class:`DumpCountWarning`), ``Sort by`` / ``Add a comment...`` are skipped and any
          other line becomes ``df.attrs["title"]``;
        * replies: a comment followed by ``N replies`` (or ``Hide replies``) opens a thread;
          the next N comments are its replies (``parent_id`` = its ``comment_id``), ended
          early by ``Show more replies`` or by a comment that is pinned or has its own
          reply-count line (a reply cannot have one). With ``Hide replies`` and no count, the
          first comment after the parent and then each comment whose text starts with ``@``
          are replies. ``View N replies`` means the thread was collapsed, so no replies
          follow; pass ``replies="collapsed"`` when plain ``N replies`` lines were copied
          from collapsed threads too.

        Extra columns: ``pinned``, ``edited`` (``published`` is the time without
        ``(edited)``) and ``reply_count``.
    ycd-jsonl
        youtube-comment-downloader output: ``cid`` -> comment_id, ``votes`` -> likes,
        ``time`` -> published; a reply's ``cid`` is ``PARENT.CHILD`` so its parent_id is
        ``PARENT``. Other keys (``channel``, ``heart``, ``reply``, ``time_parsed``…) are kept.
    csv, tsv, jsonl, parquet
        A table with a text column. Known columns are mapped (case-insensitive):
        ``comment_id/id/cid/CommentId``, ``author/user/username``, ``parent_id/parent``,
        ``likes/votes/like_count``, ``published/time/date/timestamp``,
        ``video_id/video/VideoId``; the rest are kept after the standard columns (renamed
        ``orig_<name>`` where the name is a standard column, see ``df.attrs
        ["renamed_columns"]``). A row whose text is missing is kept with text ``""``.
        Duplicate ids raise :class:`DumpFormatError` naming the id and its rows.
    lines
        One comment per non-empty line.

    Raises
    ------
    FileNotFoundError
        A path that does not exist.
    DumpFormatError
        Undecodable bytes (with byte offset and line; try ``encoding=``), an empty dump, a
        table without a text column (the columns found are listed), a JSON line that does
        not parse (file:line and the JSON error), duplicate ids, an unknown format name, or
        a dump with none of its format's structure.
    """
    fmt = _FORMAT_ALIASES.get(format, format)
    if fmt != "auto" and fmt not in FORMATS:
        raise DumpFormatError(f"unknown format {format!r}; choose 'auto' or one of: "
                              f"{', '.join(FORMATS)}")
    video_id = options.pop("video_id", None)
    name = options.pop("name", None)
    replies = options.pop("replies", None)
    inp = _resolve(source, encoding, name)
    if fmt != "parquet" and not (fmt == "auto" and inp.path is not None
                                 and inp.path.suffix.lower() in (".parquet", ".pq")):
        _require_text(inp)
    if fmt == "auto":
        fmt = _detect(inp)
    if replies is not None and fmt != "youtube-page":
        raise TypeError(f"replies= applies to the youtube-page format only (this dump is {fmt!r})")
    if options and fmt not in ("csv", "tsv", "parquet"):
        raise TypeError(f"unexpected option(s) {', '.join(sorted(options))} for format {fmt!r}")
    if text_column is not None and fmt not in TABLE_FORMATS:
        raise DumpFormatError(f"text_column= applies to tables ({', '.join(TABLE_FORMATS)}); "
                              f"this dump is read as {fmt!r}", source=inp.name)

    if fmt == "numbered":
        parsed = _parse_numbered(inp)
    elif fmt == "youtube-page":
        parsed = _parse_youtube(inp, replies or "expanded")
    elif fmt == "ycd-jsonl":
        parsed = _parse_ycd(inp)
    elif fmt == "lines":
        parsed = _parse_lines(inp)
    else:
        parsed = _parse_table(inp, fmt, text_column, options)
    frame = _finish(parsed, inp, fmt, video_id)
    for category, message in parsed.warnings:
        warnings.warn(message, category, stacklevel=2)
    return frame
