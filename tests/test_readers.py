"""Tests for stance.readers: every comment in is a row out, in order, text intact."""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stance import readers
from stance.labels import parse_codes
from stance.readers import (
    COLUMNS,
    FORMATS,
    DumpCountWarning,
    DumpFormatError,
    DumpNumberingWarning,
    DumpWarning,
    detect_format,
    parse_likes,
    read_comments,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def read_quietly(source, **kwargs) -> pd.DataFrame:
    """Read and fail on any warning: the examples and renders are consistent dumps."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_comments(source, **kwargs)


def check_table(df: pd.DataFrame) -> None:
    assert tuple(df.columns[:len(COLUMNS)]) == COLUMNS
    assert df["comment_id"].is_unique
    assert all(isinstance(v, str) and v for v in df["comment_id"])
    assert all(isinstance(v, str) for v in df["text"])
    assert str(df["likes"].dtype) == "Int64"
    assert df["position"].tolist() == list(range(len(df)))


# ------------------------------------------------------------------ the seed dump


def test_seed_dump_gives_its_14_comments_complete(shared_data: Path) -> None:
    path = shared_data / "seed" / "france24_berlin_talks.txt"
    with pytest.warns(DumpCountWarning, match="30 comments but 14"):
        df = read_comments(path)
    check_table(df)
    assert len(df) == 14
    assert df.attrs["header_count"] == 30 and df.attrs["found_count"] == 14
    assert df["number"].tolist() == list(range(1, 15))
    raw = path.read_text(encoding="utf-8").split("\n")
    assert df.attrs["title"] == raw[0].strip()
    # Independent of the parser: the entry lines between the header and the trailer, with
    # their "N. " removed, must be exactly the comments' non-blank lines, in order.
    header = next(i for i, line in enumerate(raw) if re.fullmatch(r"\d+ comments", line.strip()))
    trailer = next(i for i, line in enumerate(raw) if line.strip().startswith("Comments are closed"))
    expected = [re.sub(r"^\s*\d+\.\s+", "", line).strip()
                for line in raw[header + 1:trailer] if line.strip()]
    found = [line.strip() for text in df["text"] for line in text.split("\n") if line.strip()]
    assert found == expected
    # Comment 9 spans two paragraphs (blank line kept), comment 14 two lines.
    assert df["text"][8].count("\n") == 2 and "\n\n" in df["text"][8]
    assert df["text"][13].count("\n") == 1
    assert all(text == text.strip() and text for text in df["text"])
    assert detect_format(path) == "numbered"


# ------------------------------------------------------------------ youtube_war tables


@pytest.mark.parametrize("name", ["annotated.jsonl", "pool.jsonl"])
def test_youtube_war_jsonl_maps_id_and_video(shared_data: Path, name: str) -> None:
    path = shared_data / "youtube_war" / name
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    df = read_quietly(path)
    check_table(df)
    assert detect_format(path) == "jsonl"
    assert len(df) == len(records)
    assert df["comment_id"].tolist() == [r["id"] for r in records]
    assert df["video_id"].tolist() == [r["video"] for r in records]
    assert df["text"].tolist() == [r["text"].strip() for r in records]
    # The file's own `source` (the collection) is kept, renamed so it cannot clash.
    assert df.attrs["renamed_columns"] == {"source": "orig_source"}
    assert df["orig_source"].tolist() == [r["source"] for r in records]
    assert set(df["source"]) == {str(path)}


# ------------------------------------------------------------------ example dumps

NEWS_SITE_TEXTS = [
    'Hitting a grain terminal is not "military infrastructure". Ukraine needs more air '
    "defence, and it needs it now.",
    "Every time the talks get close, something blows up. Funny how that works.",
    "The EU could end this tomorrow by stopping the money. Instead Brussels keeps paying and "
    "our bills keep rising.",
    "Russia gave Ukraine every chance to stay neutral. Kyiv chose NATO, now it pays the price. 🇷🇺",
    "America would sell weapons to both sides if it could. Don't pretend Washington cares about "
    "Ukrainians.",
    "Four workers injured, thank god nobody was killed this time.\nOdesa has been through enough. 🙏",
    "Zelensky is a puppet and anyone who still believes him is an idiot.",
    "Serious question: who is actually going to enforce a ceasefire line?\n\nNobody has answered "
    "that in three years.",
]


def test_example_news_site_numbered() -> None:
    path = EXAMPLES / "news_site_comments.txt"
    assert detect_format(path) == "numbered"
    df = read_quietly(path)
    check_table(df)
    assert df["text"].tolist() == NEWS_SITE_TEXTS
    assert df.attrs["title"] == ("Drone attack on Odesa port damages grain terminal as ceasefire "
                                 "talks stall")
    assert df.attrs["header_count"] == df.attrs["found_count"] == 8
    assert df["author"].isna().all() and df["likes"].isna().all()
    assert df["source"].eq(str(path)).all()


WAR_NEWS_TEXTS = [
    "Thanks for watching. Please keep the discussion civil: comments with insults or threats "
    "will be removed.",
    "@EveningBriefing Good luck with that 😅",
    "Civil? Half the comments below are bots.",
    "@OttoBrenner-7 We review reports every day. Thank you for flagging them.",
    "My brother is in Kharkiv. The sirens went off four times last night and the power only "
    "came back this morning.\n\nPeople here are tired, but nobody wants to live under "
    "occupation.\nСлава Україні! 🇺🇦",
    "@mariia_kyiv Stay safe. Not every Russian supports this war.",
    "@mariia_kyiv Praying for your family 🙏",
    "Russia has already won on the battlefield. The sooner Kyiv accepts the new borders, the "
    "fewer people will die. NATO pushed east for thirty years and now everyone acts surprised "
    'that Moscow defends its security. Every "analyst" on this channel said the '
    "counteroffensive would change everything, and look where we are.",
    '@VoiceOfReason2024 Nobody "pushed" Poland into NATO. We asked to join, because we '
    "remember what Moscow does to its neighbours.",
    "@anna_from_gdansk And how is that working out for your farmers?",
    "@VoiceOfReason2024 Better than it would under the Kremlin.",
    "Same script every time. Zero facts, just copy and paste from Moscow.",
    "Brussels bureaucrats will keep sending our money to Kyiv until there is nothing left to "
    "send. Nobody in the EU ever asked the voters 🤷",
    "Washington started this mess and Washington will walk away from it, just like "
    "Afghanistan. The US only cares about selling weapons.",
    "@Frank.Miller Both things can be true: the US sells weapons AND Russia invaded.",
    "Does anyone know if the talks on Monday are still going ahead? The anchor said Geneva, the "
    "caption says Istanbul.",
    "Ich hoffe auf Frieden, aber nicht um jeden Preis. Die Ukraine muss selbst entscheiden.",
    "Putin will get what he wants at the table or on the ground. The West just doesn't get it "
    "🇷🇺💪",
    "Both presidents act like clowns while ordinary people pay for it 🤡",
    "Great reporting from the ground, thank you to the crew for staying safe.",
    "Why are American taxpayers paying for Europe's war again? Let the Europeans defend their "
    "own continent.",
    "Air defence saves lives. Send the Patriots now, not in six months 🇺🇦🇪🇺",
    'Another grain ship hit last week and the "peace talks" go on as if nothing happened.',
    "2",
]


def test_example_war_news_youtube_page() -> None:
    path = EXAMPLES / "war_news_comments.txt"
    assert detect_format(path) == "youtube-page"
    df = read_quietly(path)
    check_table(df)
    assert len(df) == 24 == df.attrs["header_count"]
    assert df["text"].tolist() == WAR_NEWS_TEXTS
    assert df.attrs["title"].startswith("Envoys meet in Geneva")
    by_author = df.groupby("author")["text"].apply(list)
    assert by_author["@mariia_kyiv"] == [
        "@EveningBriefing Good luck with that 😅",
        "My brother is in Kharkiv. The sirens went off four times last night and the power only "
        "came back this morning.\n\nPeople here are tired, but nobody wants to live under "
        "occupation.\nСлава Україні! 🇺🇦",
    ]
    assert by_author["@Wolfgang.K"] == [
        "Ich hoffe auf Frieden, aber nicht um jeden Preis. Die Ukraine muss selbst entscheiden."]
    assert by_author["@just_a_viewer"] == ["2"]  # a comment that is just a number
    first = df.iloc[0]
    assert first["pinned"] and first["author"] == "@EveningBriefing" and first["likes"] == 87
    assert not df["pinned"][1:].any()
    assert df["text"][7].endswith("and look where we are.")  # "Read more" is not text
    mariia = df.iloc[4]
    assert (mariia["likes"], mariia["published"], mariia["edited"]) == (1200, "3 days ago", True)
    assert df.set_index("author").loc["@truth_seeker_77", "likes"] == 2400
    assert df.set_index("author").loc["@PatriotPaul", "likes"] == 1100
    assert df.set_index("author").loc["@grandma_in_leeds", "likes"] == 0  # no count shown
    # Threads: pinned (3 replies), mariia (2), VoiceOfReason (4), Frank.Miller (1).
    parents = df["parent_id"].tolist()
    ids = df["comment_id"].tolist()
    assert parents[1:4] == [ids[0]] * 3
    assert parents[5:7] == [ids[4]] * 2
    assert parents[8:12] == [ids[7]] * 4
    assert parents[14] == ids[13]
    assert sum(p is not None for p in parents) == 10
    assert df["reply_count"].dropna().tolist() == [3, 2, 4, 1]


def test_example_ycd_jsonl() -> None:
    path = EXAMPLES / "comments.ycd.jsonl"
    assert detect_format(path) == "ycd-jsonl"
    df = read_quietly(path)
    check_table(df)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(df) == len(records) == 7
    assert df["comment_id"].tolist() == [r["cid"] for r in records]
    assert df["text"].tolist() == [r["text"] for r in records]
    assert df["text"][5] == "Война должна закончиться. Пусть дипломаты работают, а не генералы."
    assert df["parent_id"].tolist() == [None, records[0]["cid"], records[0]["cid"],
                                        None, None, None, None]
    assert df["likes"].tolist() == [1200, 37, 12, 645, 88, 0, 2000]
    assert df["author"][1] == "@taxpayer_tom" and df["published"][2] == "20 hours ago"
    assert df["heart"].tolist()[0] is True or df["heart"].tolist()[0] == True  # noqa: E712
    assert "channel" in df.columns and "time_parsed" in df.columns


def test_example_csv() -> None:
    path = EXAMPLES / "comments.csv"
    assert detect_format(path) == "csv"
    df = read_quietly(path)
    check_table(df)
    assert df["comment_id"].tolist() == ["n101", "n102", "n103", "n104", "n105", "n106"]
    assert df["text"][2] == ("Honest question for the panel:\nwhat happens to the security "
                             "guarantees if the next US president walks away from them?")
    assert df["text"][0].endswith("Europe must help it win. 🇺🇦")
    assert df["text"][5] == ""  # a row without text is kept, never dropped
    assert df["parent_id"].tolist() == [None, "n101", None, None, None, None]
    assert df["likes"].tolist()[:4] == [215, 48, 1100, 73] and df["likes"].isna()[4]
    assert df["published"][0] == "2025-03-02 08:14"
    assert df["video_id"][3] == "vid-geneva-02"
    assert list(df.columns[len(COLUMNS):]) == ["lang"]


def test_example_lines() -> None:
    path = EXAMPLES / "comments.txt"
    assert detect_format(path) == "lines"
    df = read_quietly(path)
    check_table(df)
    assert df["text"].tolist() == [
        line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    assert len(df) == 7
    assert df["text"][0] == "Ukraine has every right to defend itself 🇺🇦"


def test_example_annotations_match_reader_ids() -> None:
    annotations = pd.read_csv(EXAMPLES / "annotations.tsv", sep="\t", dtype=str,
                              keep_default_na=False)
    assert list(annotations.columns) == ["comment_id", "codes"]
    comments = read_quietly(EXAMPLES / "news_site_comments.txt")
    assert set(annotations["comment_id"]) <= set(comments["comment_id"])
    assert annotations["comment_id"].is_unique and len(annotations) >= 5
    for codes in annotations["codes"]:
        parse_codes(codes)  # valid ANNOTATION.md codes
    # ids do not depend on the working directory or how the path is spelled
    again = read_quietly(str(EXAMPLES / ".." / "examples" / "news_site_comments.txt"))
    assert again["comment_id"].tolist() == comments["comment_id"].tolist()


# ------------------------------------------------------------------ source handling


def test_source_text_path_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = "first comment\nsecond comment 🇺🇦\n"
    df = read_quietly(dump)
    assert df["text"].tolist() == ["first comment", "second comment 🇺🇦"]
    assert df["source"].eq("<text>").all()
    file = tmp_path / "dump.txt"
    file.write_text(dump, encoding="utf-8")
    assert read_quietly(file)["text"].tolist() == df["text"].tolist()
    assert read_quietly(str(file))["source"].eq(str(file)).all()
    assert read_quietly(dump.encode("utf-8"))["text"].tolist() == df["text"].tolist()
    assert read_quietly(io.StringIO(dump))["text"].tolist() == df["text"].tolist()
    # A one-line str that is not a file and has no dump suffix is a comment.
    assert read_quietly("Slava Ukraini!", format="lines")["text"].tolist() == ["Slava Ukraini!"]
    # A missing file is an error, never read as text.
    with pytest.raises(FileNotFoundError):
        read_comments(str(tmp_path / "missing.txt"))
    with pytest.raises(FileNotFoundError):
        read_comments(tmp_path / "missing")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_comments("comments.csv")
    assert read_quietly("dump.txt")["text"].tolist() == df["text"].tolist()


def test_options_video_id_and_name() -> None:
    df = read_quietly("a\nb\n", video_id="vid123", name="my_dump")
    assert df["video_id"].tolist() == ["vid123", "vid123"]
    assert df["source"].eq("my_dump").all()
    assert df["comment_id"].tolist() == [readers._make_id("my_dump", 0, "a"),
                                         readers._make_id("my_dump", 1, "b")]
    with pytest.raises(TypeError, match="replies"):
        read_comments("a\nb\n", replies="collapsed")
    with pytest.raises(TypeError, match="unexpected option"):
        read_comments("a\nb\n", sep=";")


# ------------------------------------------------------------------ errors


def test_undecodable_bytes_name_file_line_and_encoding(tmp_path: Path) -> None:
    file = tmp_path / "latin.txt"
    file.write_bytes("first comment\nsecond: caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    with pytest.raises(DumpFormatError) as info:
        read_comments(file)
    message = str(info.value)
    assert str(file) in message and ":2:" in message
    assert "byte 0xe9 at byte offset 25" in message and "encoding=" in message
    assert info.value.line == 2
    df = read_quietly(file, encoding="latin-1")
    assert df["text"].tolist() == ["first comment", "second: café crème"]


def test_empty_dumps(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DumpFormatError, match=r"empty\.txt: the file is empty"):
        read_comments(empty)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DumpFormatError, match="empty"):
        read_comments(blank)
    with pytest.raises(DumpFormatError, match="empty"):
        read_comments("\n\n")
    with pytest.raises(DumpFormatError, match="empty"):
        detect_format(empty)


def test_table_without_text_column_lists_columns(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("id,author,score\n1,bob,3\n", encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"t\.csv: no text column.*columns found: id, author, score"):
        read_comments(file)
    with pytest.raises(DumpFormatError, match="text_column='msg' is not a column.*id, author, score"):
        read_comments(file, text_column="msg")
    assert read_quietly(file, text_column="AUTHOR")["text"].tolist() == ["bob"]


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    file.write_text('{"text": "ok"}\n\n{"text": "broken\n', encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"c\.jsonl:3: this line is not valid JSON: "
                                              r"Unterminated string"):
        read_comments(file)
    file.write_text('{"text": "ok"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"c\.jsonl:2: expected a JSON object"):
        read_comments(file)


def test_unknown_format_and_misplaced_options() -> None:
    with pytest.raises(DumpFormatError, match="unknown format 'xml'.*numbered, youtube-page"):
        read_comments("a\nb", format="xml")
    with pytest.raises(DumpFormatError, match="text_column= applies to tables"):
        read_comments("a\nb", text_column="text")
    with pytest.raises(DumpFormatError, match="parquet format needs a file path"):
        read_comments("a\nb", format="parquet")


def test_duplicate_ids_are_an_error_naming_rows(tmp_path: Path) -> None:
    file = tmp_path / "d.csv"
    file.write_text("id,text\na,one\nb,two\na,three\n", encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"d\.csv: duplicate comment_id 'a' at rows 0, 2"):
        read_comments(file)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"id": 7, "text": "x"}\n{"id": 8, "text": "y"}\n{"id": 7, "text": "z"}\n',
                     encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"duplicate comment_id '7' at rows 0, 2 .*lines 1, 3"):
        read_comments(jsonl)


def test_malformed_csv_names_line(tmp_path: Path) -> None:
    file = tmp_path / "m.csv"
    file.write_text("id,text\n1,fine\n2,too,many,fields\n", encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"m\.csv:3: cannot read the table"):
        read_comments(file)


def test_format_aliases() -> None:
    dump = (EXAMPLES / "war_news_comments.txt").read_text(encoding="utf-8")
    assert len(read_quietly(dump, format="youtube")) == 24
    assert len(read_quietly(EXAMPLES / "comments.ycd.jsonl", format="ycd")) == 7


def test_bad_likes_value_names_row(tmp_path: Path) -> None:
    file = tmp_path / "l.csv"
    file.write_text("text,likes\nfine,3\nnot fine,many\n", encoding="utf-8")
    with pytest.raises(DumpFormatError, match=r"row 1, column 'likes': not a like count: 'many'"):
        read_comments(file)


# ------------------------------------------------------------------ tables


def test_table_column_mapping_extras_and_missing_text(tmp_path: Path) -> None:
    table = pd.DataFrame({
        "CommentId": [101, 102, 103],
        "Comment": ["NA", None, "  padded  "],
        "username": ["a", None, "c"],
        "like_count": [5, None, 1200],
        "timestamp": ["2025-01-01", "2025-01-02", None],
        "VideoId": ["v1", "v1", "v2"],
        "position": [9, 8, 7],
        "score": [0.5, 0.25, 1.0],
    })
    parquet = tmp_path / "t.parquet"
    table.to_parquet(parquet)
    assert detect_format(parquet) == "parquet"
    df = read_quietly(parquet)
    check_table(df)
    assert df["comment_id"].tolist() == ["101", "102", "103"]
    assert df["text"].tolist() == ["NA", "", "padded"]
    assert df["author"].tolist() == ["a", None, "c"]
    assert df["likes"].tolist()[0] == 5 and df["likes"].isna()[1] and df["likes"][2] == 1200
    assert df["published"].tolist() == ["2025-01-01", "2025-01-02", None]
    assert df["video_id"].tolist() == ["v1", "v1", "v2"]
    assert list(df.columns[len(COLUMNS):]) == ["orig_position", "score"]
    assert df["orig_position"].tolist() == [9, 8, 7] and df["score"].tolist() == [0.5, 0.25, 1.0]

    tsv = tmp_path / "t.tsv"
    table.to_csv(tsv, sep="\t", index=False)
    df_tsv = read_quietly(tsv)
    # In a text file "NA" is a comment, not a missing value; an empty cell is "".
    assert df_tsv["text"].tolist() == ["NA", "", "padded"]
    assert df_tsv["comment_id"].tolist() == ["101", "102", "103"]
    assert df_tsv["score"].tolist() == [0.5, 0.25, 1.0]

    jsonl = tmp_path / "t.json"
    jsonl.write_text("\n".join(json.dumps(r) for r in [
        {"ID": "x1", "Body": "first", "parent": None}, {"ID": "x2", "parent": "x1"}]),
        encoding="utf-8")
    assert detect_format(jsonl) == "jsonl"
    df_json = read_quietly(jsonl)
    assert df_json["text"].tolist() == ["first", ""] and df_json["parent_id"].tolist() == [None, "x1"]
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"text": "a"}, {"text": "b"}], indent=2), encoding="utf-8")
    assert read_quietly(array)["text"].tolist() == ["a", "b"]


def test_text_tables_detected_by_content() -> None:
    assert detect_format("id\ttext\n1\thello\n") == "tsv"
    assert detect_format("id,comment\n1,hello\n") == "csv"
    assert detect_format('{"cid": "a", "text": "x"}\n') == "ycd-jsonl"
    assert detect_format('{"id": "a", "text": "x"}\n') == "jsonl"
    assert detect_format("hello, world\nsecond line\n") == "lines"
    assert read_quietly("id,comment\n1,hello\n")["text"].tolist() == ["hello"]


def test_formats_tuple() -> None:
    assert FORMATS == ("numbered", "youtube-page", "ycd-jsonl", "csv", "tsv", "jsonl",
                       "parquet", "lines")


@pytest.mark.parametrize("value, expected", [
    ("245", 245), ("1.2K", 1200), ("12K", 12000), ("3M", 3_000_000), ("1.5B", 1_500_000_000),
    ("1,234", 1234), ("0", 0), ("", None), (None, None), (float("nan"), None), (7, 7),
    (7.0, 7), ("2.5k", 2500), (" 9 ", 9)])
def test_parse_likes(value, expected) -> None:
    assert parse_likes(value) == expected


@pytest.mark.parametrize("value", ["many", "-3", "2.5", -1, 1.5, True])
def test_parse_likes_rejects(value) -> None:
    with pytest.raises(ValueError):
        parse_likes(value)


# ------------------------------------------------------------------ numbered details


def test_numbered_gaps_repeats_and_counts_warn_but_keep_everything() -> None:
    dump = ("Title\n\n4 comments\n  1. one\n  2. two\n  2. two again\n  4. four\n"
            "    4. an indented line is text, not an entry\nComments are closed.\n")
    with pytest.warns(DumpNumberingWarning) as record:
        df = read_comments(dump)
    messages = " ".join(str(w.message) for w in record)
    assert "number 2 repeats" in messages and "after 2 comes 4" in messages
    assert not any(issubclass(w.category, DumpCountWarning) for w in record)
    assert df["text"].tolist() == ["one", "two", "two again",
                                   "four\n4. an indented line is text, not an entry"]
    assert df["number"].tolist() == [1, 2, 2, 4]
    assert len(df.attrs["numbering_issues"]) == 2


def test_numbered_count_mismatch_and_lines_after_trailer() -> None:
    dump = "Title\n\n3 comments\n  1. only one\nComments are closed.\nstray footer\n"
    with pytest.warns(DumpWarning) as record:
        df = read_comments(dump)
    categories = {w.category for w in record}
    assert DumpCountWarning in categories and DumpWarning in categories
    assert df["text"].tolist() == ["only one"]
    assert (df.attrs["header_count"], df.attrs["found_count"]) == (3, 1)


def test_numbered_without_header_when_named() -> None:
    dump = "Some page\n1. first\ncontinued\n2. second\n"
    assert detect_format(dump) == "lines"  # no header: not guessed
    df = read_quietly(dump, format="numbered")
    assert df["text"].tolist() == ["first\ncontinued", "second"]
    assert df.attrs["title"] == "Some page"


# ------------------------------------------------------------------ youtube-page details


def test_youtube_collapsed_and_partial_threads() -> None:
    dump = "\n".join([
        "@ann", "1 day ago", "Top one", "Reply", "View 2 replies",
        "@bob", "1 day ago", "Top two, not a reply", "3", "Reply", "5 replies",
        "@cat", "1 day ago", "@bob reply one", "Reply", "Show more replies",
        "@dan", "2 days ago", "Top three after a partial thread", "Reply", "2 replies",
        "@eve", "2 days ago", "Top four: has its own replies line", "Reply", "1 reply",
        "@fay", "3 days ago", "reply to eve", "Reply",
    ])
    df = read_quietly(dump)
    assert df["author"].tolist() == ["@ann", "@bob", "@cat", "@dan", "@eve", "@fay"]
    ids = df["comment_id"].tolist()
    assert df["parent_id"].tolist() == [None, None, ids[1], None, None, ids[4]]
    assert df["reply_count"].tolist()[:2] == [2, 5]
    collapsed = read_quietly(dump, replies="collapsed")
    assert collapsed["parent_id"].isna().all()


def test_youtube_hide_replies_without_count_and_tricky_texts() -> None:
    dump = "\n".join([
        "@ann", "1 day ago", "Question?", "Reply", "Hide replies",
        "@bob", "1 day ago", "first reply", "Reply",
        "@cat", "1 day ago", "@bob second reply", "Reply",
        "@dan", "1 day ago", "new top comment", "Reply",
        "@eve", "1 day ago", "It ends with the word", "Reply", "Reply",
        "@fay", "1 day ago", "2024", "Reply",
        "@gus", "1 day ago", "year\n2024", "Reply",
        "@hal", "1 day ago", "12", "7", "Reply",
    ])
    df = read_quietly(dump)
    ids = df["comment_id"].tolist()
    assert df["parent_id"].tolist() == [None, ids[0], ids[0], None, None, None, None, None]
    assert df["text"].tolist()[4:] == ["It ends with the word\nReply", "2024", "year\n2024", "12"]
    assert df["likes"].tolist()[4:] == [0, 0, 0, 7]


def test_youtube_no_comments_is_an_error() -> None:
    with pytest.raises(DumpFormatError, match="no comments found"):
        read_comments("just\nsome text\n", format="youtube-page")


def test_detect_prefers_the_structure_that_starts_first() -> None:
    youtube = "@ann\n1 day ago\n30 comments\n  1. a quoted list\nReply\n"
    assert detect_format(youtube) == "youtube-page"
    numbered = "T\n\n2 comments\n  1. one\n    @bob\n    3 days ago\n  2. two\n"
    assert detect_format(numbered) == "numbered"
    assert read_quietly(numbered)["text"].tolist() == ["one\n@bob\n3 days ago", "two"]


# ------------------------------------------------------------------ property-based round trips
#
# Comments are generated, rendered into a format by the small renderers below, read back
# and compared field by field. Texts are stripped line by line because every format trims
# surrounding whitespace and a pasted line's indentation is layout, not text. Generated
# characters exclude control characters and Unicode line/paragraph separators: a dump is
# split into lines at "\n" (with "\r" normalised), so those cannot survive any text format.

CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))
TRICKY_LINES = [
    "Reply", "Read more", "Show less", "Translate to English", "2 replies", "1 reply",
    "View 3 replies", "Show more replies", "245", "1.2K", "2024", "3 days ago",
    "1 month ago (edited)", "@bob", "@bob you are wrong", "Pinned by @channel", "30 comments",
    "5 Comments", "1. a numbered point", "12. another", "Comments are closed.", "Sort by",
    "Слава Україні! 🇺🇦", "Путин 🇷🇺 NATO", "🇺🇦🇺🇦🇺🇦", "NA", "null", '"quoted", with comma',
    "id,text", "{\"cid\": 1}", "#hashtag",
]
WORDS = st.sampled_from(["Ukraine", "Russia", "EU", "US", "war", "peace", "🇺🇦", "🇷🇺", "😂",
                         "🤡", "Київ", "война", "1.", "@x", "—", "'", '"', ",", "3", "K"])
PIECE = st.one_of(WORDS, st.text(alphabet=CHARS, min_size=1, max_size=10))
LINE = st.one_of(
    st.sampled_from(TRICKY_LINES),
    st.lists(PIECE, min_size=1, max_size=6).map(" ".join),
).map(str.strip).filter(bool)
TEXT = st.lists(st.one_of(LINE, LINE, st.just("")), min_size=1, max_size=4).map(
    lambda lines: "\n".join(lines).strip()).filter(bool)
AUTHOR = st.one_of(
    st.from_regex(r"@[A-Za-z0-9_][A-Za-z0-9_.\-]{2,15}", fullmatch=True),
    st.text(alphabet="абвгдежзиклмнопрстуфхцчшыюяії0123456789_", min_size=3, max_size=10).map(
        lambda name: "@" + name),
)
# Like counts YouTube can show exactly ("1.2K" is 1200 only when it was 1200).
LIKES = st.one_of(st.just(0), st.integers(1, 999), st.integers(10, 99).map(lambda d: d * 100),
                  st.integers(10, 999).map(lambda k: k * 1000),
                  st.integers(10, 99).map(lambda d: d * 100_000))
TIMES = st.sampled_from(["1 second ago", "5 minutes ago", "1 hour ago", "3 days ago",
                         "1 week ago", "2 months ago", "1 year ago", "10 years ago"])


def shown_likes(n: int) -> str:
    """A like count the way YouTube shows it (test's own renderer, not the reader's)."""
    if n < 1000:
        return str(n)
    for size, suffix in ((1_000_000, "M"), (1000, "K")):
        if n >= size:
            whole, tenth = divmod(n // (size // 10), 10)
            if whole >= 10 or tenth == 0:
                return f"{whole}{suffix}"
            return f"{whole}.{tenth}{suffix}"
    raise AssertionError(n)


def test_shown_likes_renderer() -> None:
    assert [shown_likes(n) for n in (5, 1000, 1200, 12000, 3_400_000, 50_000_000)] == [
        "5", "1K", "1.2K", "12K", "3.4M", "50M"]


def render_numbered(texts: list[str]) -> str:
    out = ["A headline about the talks", "", "An article paragraph.", "", f"{len(texts)} comments"]
    for number, text in enumerate(texts, 1):
        first, *rest = text.split("\n")
        out.append(f"  {number}. {first}")
        out += [f"    {line}" if line else "" for line in rest]
        out.append("")
    out.append("Comments are closed.")
    return "\n".join(out)


@PROPERTY
@given(st.lists(TEXT, min_size=1, max_size=8))
def test_numbered_round_trip(texts: list[str]) -> None:
    # Every text can be represented: continuation lines sit deeper than the entries, so
    # lines such as "12. another" or "Comments are closed." stay inside their comment.
    dump = render_numbered(texts)
    assert detect_format(dump) == "numbered"
    df = read_quietly(dump)
    assert df["text"].tolist() == texts
    assert df["number"].tolist() == list(range(1, len(texts) + 1))
    check_table(df)


def youtube_representable(text: str, likes: int) -> bool:
    """Texts the youtube-page format genuinely cannot tell from its own UI (see the docs)."""
    lines = [line.strip() for line in text.split("\n")]
    for i, line in enumerate(lines):
        following = next((later for later in lines[i + 1:] if later), "")
        if readers._HANDLE_RE.match(line) and readers._TIME_RE.match(following):
            return False  # indistinguishable from the start of a new comment
    last = lines[-1]
    if readers._TEXT_UI_RE.match(last):
        return False  # a trailing "Read more" is the page's button
    if likes == 0 and readers._LIKES_LINE_RE.match(last) and len([x for x in lines if x]) > 1:
        return False  # with no count shown, a last line "245" is read as the like count
    return True


COMMENT = st.fixed_dictionaries({
    "author": AUTHOR, "time": TIMES, "edited": st.booleans(), "text": TEXT, "likes": LIKES,
    "ui": st.sampled_from([None, None, "Read more", "Show less", "Translate to English"]),
})


def render_youtube_comment(comment: dict) -> list[str]:
    time = comment["time"] + (" (edited)" if comment["edited"] else "")
    out = [comment["author"], time, *comment["text"].split("\n")]
    if comment["ui"]:
        out.append(comment["ui"])
    if comment["likes"]:
        out.append(shown_likes(comment["likes"]))
    return out + ["Reply"]


def render_youtube(threads: list[tuple[dict, list[dict]]], pinned: bool, preamble: bool) -> str:
    out = []
    if preamble:
        total = sum(1 + len(replies) for _, replies in threads)
        out += [f"{total} Comments", "Sort by", "Add a comment..."]
    for index, (top, replies) in enumerate(threads):
        if pinned and index == 0:
            out.append("Pinned by @thechannel")
        out += render_youtube_comment(top)
        if replies:
            out.append("1 reply" if len(replies) == 1 else f"{len(replies)} replies")
        for reply in replies:
            out += render_youtube_comment(reply)
    return "\n".join(out)


@PROPERTY
@given(threads=st.lists(st.tuples(COMMENT, st.lists(
    st.tuples(COMMENT, st.booleans()), max_size=3)), min_size=1, max_size=5),
    pinned=st.booleans(), preamble=st.booleans())
def test_youtube_page_round_trip(threads, pinned: bool, preamble: bool) -> None:
    built = []
    for top, replies in threads:
        shaped = []
        for reply, mention in replies:
            if mention:  # replies often start by naming whom they answer
                reply = {**reply, "text": f"{top['author']} {reply['text']}"}
            shaped.append(reply)
        built.append((top, shaped))
    comments = [c for top, replies in built for c in [top, *replies]]
    assume(all(youtube_representable(c["text"], c["likes"]) for c in comments))
    dump = render_youtube(built, pinned, preamble)
    assert detect_format(dump) == "youtube-page"
    df = read_quietly(dump)
    check_table(df)
    assert df["text"].tolist() == [c["text"] for c in comments]
    assert df["author"].tolist() == [c["author"] for c in comments]
    assert df["likes"].tolist() == [c["likes"] for c in comments]
    assert df["published"].tolist() == [c["time"] for c in comments]
    assert df["edited"].tolist() == [c["edited"] for c in comments]
    expected_parents: list[int | None] = []
    for top, replies in built:
        top_position = len(expected_parents)
        expected_parents += [None] + [top_position] * len(replies)
    ids = df["comment_id"].tolist()
    assert df["parent_id"].tolist() == [None if p is None else ids[p] for p in expected_parents]
    assert df["pinned"].tolist() == [pinned and i == 0 for i in range(len(comments))]


@PROPERTY
@given(st.lists(st.tuples(COMMENT, st.integers(0, 2), st.booleans()), min_size=1, max_size=8))
def test_ycd_jsonl_round_trip(items) -> None:
    # Every text can be represented: JSON escapes anything.
    records, expected_parents, top_cid = [], [], None
    for index, (comment, _, is_reply) in enumerate(items):
        if is_reply and top_cid is not None:
            cid, parent = f"{top_cid}.AQ{index:04d}", top_cid
        else:
            cid, parent = f"Ugx{index:04d}AaABAg", None
            top_cid = cid
        records.append({"cid": cid, "text": comment["text"], "time": comment["time"],
                        "author": comment["author"], "channel": f"UC{index:022d}",
                        "votes": shown_likes(comment["likes"]), "heart": comment["edited"],
                        "reply": parent is not None, "time_parsed": 1.7e9 + index})
        expected_parents.append(parent)
    # Both escaped (\uXXXX) and raw UTF-8 JSON, as different tools write either.
    dump = "\n".join(json.dumps(r, ensure_ascii=i % 2 == 0) for i, r in enumerate(records))
    assert detect_format(dump) == "ycd-jsonl"
    df = read_quietly(dump)
    check_table(df)
    assert df["comment_id"].tolist() == [r["cid"] for r in records]
    assert df["text"].tolist() == [c["text"] for c, _, _ in items]
    assert df["author"].tolist() == [c["author"] for c, _, _ in items]
    assert df["likes"].tolist() == [c["likes"] for c, _, _ in items]
    assert df["parent_id"].tolist() == expected_parents
    assert df["published"].tolist() == [c["time"] for c, _, _ in items]


@PROPERTY
@given(st.lists(LINE, min_size=1, max_size=10), st.lists(st.integers(0, 2), min_size=10,
                                                         max_size=10))
def test_lines_round_trip(texts: list[str], blanks: list[int]) -> None:
    # Only single-line texts: in this format a line break is the comment boundary.
    dump = "".join(text + "\n" * (1 + extra) for text, extra in zip(texts, blanks))
    df = read_quietly(dump, format="lines")
    check_table(df)
    assert df["text"].tolist() == texts


@PROPERTY
@given(st.lists(st.fixed_dictionaries({
    "text": st.one_of(TEXT, st.just("")),
    "author": st.one_of(st.none(), AUTHOR, st.sampled_from(["NA", "null", "Олена"])),
    "likes": st.one_of(st.none(), st.integers(0, 10**7)),
    "reply_to": st.one_of(st.none(), st.integers(0, 7)),
}), min_size=1, max_size=8))
def test_csv_round_trip(rows) -> None:
    # Every text can be represented: csv quotes line breaks, commas and quotes; an empty
    # text is an empty cell and comes back as "".
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "author", "text", "likes", "parent_id", "note"])
    parents = []
    for index, row in enumerate(rows):
        parent = f"k{row['reply_to']}" if row["reply_to"] is not None and row["reply_to"] < index else None
        parents.append(parent)
        writer.writerow([f"k{index}", row["author"] or "", row["text"],
                         "" if row["likes"] is None else row["likes"], parent or "", index * 2])
    df = read_quietly(buffer.getvalue(), format="csv")
    check_table(df)
    assert df["comment_id"].tolist() == [f"k{i}" for i in range(len(rows))]
    assert df["text"].tolist() == [row["text"] for row in rows]
    assert df["author"].tolist() == [row["author"] for row in rows]
    assert [None if pd.isna(v) else int(v) for v in df["likes"]] == [row["likes"] for row in rows]
    assert df["parent_id"].tolist() == parents
    assert df["note"].tolist() == [i * 2 for i in range(len(rows))]


def test_crlf_and_byte_order_mark_read_the_same() -> None:
    path = EXAMPLES / "news_site_comments.txt"
    windows = b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n")
    df = read_quietly(windows, name=path.name)
    reference = read_quietly(path)
    assert df["text"].tolist() == reference["text"].tolist() == NEWS_SITE_TEXTS
    assert df["comment_id"].tolist() == reference["comment_id"].tolist()
