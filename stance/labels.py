"""The nine labels: names, one-letter codes and definitions (the single source of truth).

Definitions follow ``ANNOTATION.md`` (the annotation guidelines every labelled file was
made under). Codes are written as capital letters in the fixed order U R E A T I H X P,
with no separators, or ``-`` when no label applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Label:
    name: str
    code: str
    group: str  # "stance" or "toxicity"
    definition: str


LABEL_SPECS: tuple[Label, ...] = (
    Label("pro_ukraine", "U", "stance",
          "Takes Ukraine's side: supports Ukraine, its defence, sovereignty or territory, aid or "
          "security guarantees for it; condemns, blames or ridicules Russia's invasion, army or "
          "leadership; celebrates Ukrainian gains or Russian losses. Not for neutral news talk or "
          "pity for all victims without taking a side."),
    Label("pro_russia", "R", "stance",
          "Takes Russia's side: supports or excuses Russia/Putin, justifies the invasion, repeats "
          "Kremlin narratives (NATO provoked it, Ukraine is Nazi, 'denazification'), celebrates "
          "Russian gains, says Russia has won and dictates terms, blames Ukraine/Zelensky for the "
          "war, calls for Ukraine to give up land, opposes aid to Ukraine. Not for mere pessimism "
          "about Ukraine's chances or calls for peace that take no side."),
    Label("anti_europe", "E", "stance",
          "Shows hostility, contempt, mockery or blame toward Europe as a political actor: the EU, "
          "European countries, their governments or leaders, 'Europeans' as a nation-bloc, or 'the "
          "West' when Europe is clearly included. Not for neutral mentions or demands that Europe "
          "do more for Ukraine (unless phrased with contempt)."),
    Label("anti_us", "A", "stance",
          "Shows hostility, contempt, mockery or blame toward the United States as a political "
          "actor: the country, its government, presidents or administration acting for it, "
          "Congress, its military, CIA, 'Washington', 'Americans' as a nation, 'the West' when the "
          "US is clearly included. Not for purely domestic partisan remarks."),
    Label("toxic", "T", "toxicity",
          "Rude, disrespectful or unreasonable in a way likely to make someone leave the "
          "discussion: insults, slurs, dehumanising language, contemptuous mockery of people, "
          "swearing at people, threats, wishing death or harm, gloating over deaths."),
    Label("insult", "I", "toxicity",
          "Insults a person or an organisation: name-calling, contemptuous nicknames, calling "
          "people stupid, traitors or liars in an abusive way. Only together with toxic."),
    Label("identity_attack", "H", "toxicity",
          "Attacks or dehumanises people for their nationality, ethnicity, religion, gender or "
          "other identity (attacks on a state or government are insults, not identity attacks). "
          "Only together with toxic."),
    Label("threat", "X", "toxicity",
          "Threatens or wishes violence, death or harm on people (a prediction of destruction is "
          "not a threat unless the writer wishes or urges it). Only together with toxic."),
    Label("profanity", "P", "toxicity",
          "Swears or uses obscene language, censored or not. Only together with toxic."),
)

LABELS: tuple[str, ...] = tuple(spec.name for spec in LABEL_SPECS)
CODES: str = "".join(spec.code for spec in LABEL_SPECS)  # "UREATIHXP", also the code order
STANCE_LABELS: tuple[str, ...] = LABELS[:4]
TOXICITY_LABELS: tuple[str, ...] = LABELS[4:]
SUBTYPE_LABELS: tuple[str, ...] = LABELS[5:]  # need `toxic` to be set
CODE_TO_LABEL: dict[str, str] = {spec.code: spec.name for spec in LABEL_SPECS}
LABEL_TO_CODE: dict[str, str] = {spec.name: spec.code for spec in LABEL_SPECS}
DEFINITIONS: dict[str, str] = {spec.name: spec.definition for spec in LABEL_SPECS}
NO_LABEL = "-"


class LabelCodeError(ValueError):
    """A code string that does not follow the ANNOTATION.md code format."""


def parse_codes(codes: str) -> list[int]:
    """Turn a code string such as ``"RTI"`` or ``"-"`` into nine 0/1 values in LABELS order.

    Raises LabelCodeError for unknown letters, letters out of order or repeated, an empty
    string, or a toxicity sub-type (I, H, X, P) without T.
    """
    if not isinstance(codes, str):
        raise LabelCodeError(f"label codes must be a string, got {type(codes).__name__}: {codes!r}")
    text = codes.strip()
    if text == NO_LABEL:
        return [0] * len(LABELS)
    if not text:
        raise LabelCodeError("empty label code string: write '-' for a comment with no label")
    unknown = [letter for letter in text if letter not in CODES]
    if unknown:
        raise LabelCodeError(
            f"unknown label code {unknown[0]!r} in {codes!r}: codes are {' '.join(CODES)} (or '-')")
    positions = [CODES.index(letter) for letter in text]
    if positions != sorted(set(positions)):
        raise LabelCodeError(
            f"label codes {codes!r} are repeated or out of order: write them in the order {CODES}")
    if "T" not in text and any(letter in text for letter in "IHXP"):
        raise LabelCodeError(
            f"label codes {codes!r} set a toxicity sub-type (I, H, X or P) without T (toxic)")
    return [1 if letter in text else 0 for letter in CODES]


def format_codes(values: Sequence[int] | Iterable[bool] | dict[str, int]) -> str:
    """Turn nine 0/1 values (LABELS order) or a {label: 0/1} mapping into a code string."""
    if isinstance(values, dict):
        values = [values.get(name, 0) for name in LABELS]
    values = list(values)
    if len(values) != len(LABELS):
        raise LabelCodeError(f"expected {len(LABELS)} label values, got {len(values)}")
    text = "".join(code for code, value in zip(CODES, values) if int(value))
    return text or NO_LABEL
