"""Saying numbers, waits and a caller's place in a queue: grammar, one rule set per language.

Rules:
  - Each language ("en", "ru", "uk") has its own words and its own rules: English picks
    singular or plural; Russian and Ukrainian pick the noun's form by the number (1, 21:
    минута; 2-4, 22-24: минуты; 0, 5-20, 25-30 and 11-14: минут), the numeral's gender
    by the noun (одна минута, две минуты; тысяча is feminine too) and the case by what
    comes before (the wait announcement's "составляет"/"становить" takes the accusative:
    одну минуту). Nothing is built by joining one language's words with another's rules.
  - What a caller hears is a list of items: Recorded, a prompt of the language's pack
    named as the pack names it, or Spoken, text for espeak-ng in that language. Both
    carry their words, so a console can show what the caller hears.
  - A phrase is said in one voice: a number with its noun comes from the recorded pack
    only when the pack holds every word of it; otherwise the whole phrase is Spoken, so a
    recorded voice and a synthetic one never take turns inside "twenty one minutes".
    English (asterisk-core-sounds-en-wav) holds every word. The Russian pack
    (asterisk-core-sounds-ru-wav) has 0-20, the tens, сто, тысяча, миллион, один, одно,
    два, минута, минут and секунд, but not одна/одну/две, двести to девятьсот,
    тысячи/тысяч, миллиона/миллионов, минуты/минуту or секунда/секунды/секунду: a phrase
    that needs one of them is Spoken (so are all with минута, which always follows одна).
    Ukrainian has no pack and is always Spoken.
  - A wait under a minute can be said as "less than a minute" (say_wait_under_a_minute),
    for an estimate that has no business naming seconds. English says it from the pack:
    queue-less-than, "one", "minute". Russian and Ukrainian take the genitive without a
    numeral (менее минуты, менше хвилини), which neither has recorded, so it is Spoken
    after the recorded lead-in where there is one.
  - Numbers are whole, from 0 to 999,999,999; anything else, and an unknown language or
    gender, is a ValueError that says what was wrong. No I/O: whether the files exist is
    the prompt library's business (and the tests').
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from numbers import Real
from typing import Callable, Dict, List, Sequence, Tuple, Union

LANGUAGES = ("en", "ru", "uk")
GENDERS = ("m", "f", "n")
LIMIT = 10 ** 9


@dataclass(frozen=True)
class Recorded:
    """A prompt of the language's recorded pack, named as the pack names it ("digits/5")."""

    lang: str
    name: str
    text: str           # its words, for a console that shows what the caller hears


@dataclass(frozen=True)
class Spoken:
    """Words that espeak-ng says in the language's voice."""

    lang: str
    text: str


Item = Union[Recorded, Spoken]


# -- English -----------------------------------------------------------------------------
EN_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen"]
EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

# word -> the pack's prompt that says it
EN_PACK = {w: f"digits/{i}" for i, w in enumerate(EN_SMALL)}
EN_PACK.update({w: f"digits/{i * 10}" for i, w in enumerate(EN_TENS) if w})
EN_PACK.update({"hundred": "digits/hundred", "thousand": "digits/thousand", "million": "digits/million",
                # the queue prompts have no singular second; the general one matches them
                "minute": "queue-minute", "minutes": "queue-minutes",
                "second": "second", "seconds": "queue-seconds",
                "less than": "queue-less-than"})


def _en_below_1000(n: int) -> List[str]:
    words = []
    if n >= 100:
        words += [EN_SMALL[n // 100], "hundred"]     # American usage: no "and"
        n %= 100
    if n >= 20:
        words.append(EN_TENS[n // 10])
        n %= 10
        if n:
            words.append(EN_SMALL[n])
    elif n or not words:
        words.append(EN_SMALL[n])
    return words


def _en_number(n: int, gender: str) -> List[str]:
    if n == 0:
        return ["zero"]
    words = []
    for scale, word in ((10 ** 6, "million"), (10 ** 3, "thousand")):
        if n >= scale:
            words += _en_below_1000(n // scale) + [word]
            n %= scale
    if n:
        words += _en_below_1000(n)
    return words


def _en_noun(n: int, unit: str) -> str:
    return unit if n == 1 else unit + "s"


# -- Russian and Ukrainian share the shape of their grammar, not their words -------------
@dataclass(frozen=True)
class _Slavic:
    zero: str
    one: Dict[str, str]             # by gender
    two: Dict[str, str]
    units: Sequence[str]            # 3..9 at their own index; 0-2 unused
    teens: Sequence[str]            # 10..19
    tens: Sequence[str]             # 20..90 at index 2..9
    hundreds: Sequence[str]         # 100..900 at index 1..9
    thousand: Tuple[str, str, str]  # forms for 1, for 2-4, for 5-20
    million: Tuple[str, str, str]
    minute: Tuple[str, str, str]
    second: Tuple[str, str, str]
    # The accusative, as after "составляет"/"становить", differs only where a feminine
    # word ends in -а: одну минуту, тысячу; plural and masculine forms stay as they are.
    accusative: Dict[str, str]


RU = _Slavic(
    zero="ноль",
    one={"m": "один", "f": "одна", "n": "одно"},
    two={"m": "два", "f": "две", "n": "два"},
    units=["", "", "", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    teens=["десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
           "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"],
    tens=["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
          "восемьдесят", "девяносто"],
    hundreds=["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
              "восемьсот", "девятьсот"],
    thousand=("тысяча", "тысячи", "тысяч"),
    million=("миллион", "миллиона", "миллионов"),
    minute=("минута", "минуты", "минут"),
    second=("секунда", "секунды", "секунд"),
    accusative={"одна": "одну", "тысяча": "тысячу", "минута": "минуту", "секунда": "секунду"},
)

UK = _Slavic(
    zero="нуль",
    one={"m": "один", "f": "одна", "n": "одне"},
    two={"m": "два", "f": "дві", "n": "два"},
    units=["", "", "", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять"],
    teens=["десять", "одинадцять", "дванадцять", "тринадцять", "чотирнадцять", "п'ятнадцять",
           "шістнадцять", "сімнадцять", "вісімнадцять", "дев'ятнадцять"],
    tens=["", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят", "сімдесят",
          "вісімдесят", "дев'яносто"],
    hundreds=["", "сто", "двісті", "триста", "чотириста", "п'ятсот", "шістсот", "сімсот",
              "вісімсот", "дев'ятсот"],
    thousand=("тисяча", "тисячі", "тисяч"),
    million=("мільйон", "мільйони", "мільйонів"),
    minute=("хвилина", "хвилини", "хвилин"),
    second=("секунда", "секунди", "секунд"),
    accusative={"одна": "одну", "тисяча": "тисячу", "хвилина": "хвилину", "секунда": "секунду"},
)

# What the Russian pack says, word by word (its files are named after English numbers).
# digits/2n says два as well; digits/2 is used for it.
RU_PACK = {RU.zero: "digits/0", "один": "digits/1", "одно": "digits/1n", "два": "digits/2"}
RU_PACK.update({w: f"digits/{i}" for i, w in enumerate(RU.units) if w})
RU_PACK.update({w: f"digits/{10 + i}" for i, w in enumerate(RU.teens)})
RU_PACK.update({w: f"digits/{i * 10}" for i, w in enumerate(RU.tens) if w})
# queue-minute (минута) is left out: every number that takes минута ends in одна, which
# the pack does not have, so such a phrase is spoken whole.
RU_PACK.update({"сто": "digits/hundred", "тысяча": "digits/thousand", "миллион": "digits/million",
                "минут": "queue-minutes", "секунд": "queue-seconds"})


def slavic_form(n: int) -> int:
    """0 for the form after 1, 21, 101 ...; 1 after 2-4, 22-24 ...; 2 after 0, 5-20, 25-30 ..."""
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def _slavic_below_1000(lang: _Slavic, n: int, gender: str) -> List[str]:
    words = []
    if n >= 100:
        words.append(lang.hundreds[n // 100])
        n %= 100
    if n >= 20:
        words.append(lang.tens[n // 10])
        n %= 10
    if 10 <= n:
        words.append(lang.teens[n - 10])
    elif n == 1:
        words.append(lang.one[gender])
    elif n == 2:
        words.append(lang.two[gender])
    elif n:
        words.append(lang.units[n])
    return words


def _slavic_number(lang: _Slavic, n: int, gender: str) -> List[str]:
    if n == 0:
        return [lang.zero]
    words = []
    # тысяча is feminine (одна тысяча, две тысячи), миллион masculine; a lone 1000 or
    # 1,000,000 is said without its "one", as people say it: тысяча, миллион.
    for scale, forms, scale_gender in ((10 ** 6, lang.million, "m"), (10 ** 3, lang.thousand, "f")):
        count = n // scale
        if count:
            if count > 1:
                words += _slavic_below_1000(lang, count, scale_gender)
            words.append(forms[slavic_form(count)])
            n %= scale
    if n:
        words += _slavic_below_1000(lang, n, gender)
    return words


# -- per language: the words of a number, the noun of a unit, the pack, the queue phrases -
@dataclass(frozen=True)
class _Rules:
    number: Callable[[int, str], List[str]]
    noun: Callable[[int, str], str]                 # (count, "minute" | "second") -> word
    noun_gender: str                                # what gender the units' nouns are
    accusative: Dict[str, str]                      # nominative word -> accusative, where they differ
    pack: Dict[str, str]                            # word -> recorded prompt; empty: no pack
    # (pack prompt or "" for spoken, its words) of the queue announcements' fixed parts
    wait_lead: Tuple[str, str]
    position_lead: Tuple[str, str]
    first_in_line: Tuple[str, str]
    under_a_minute: Tuple[str, ...]                 # the words of "less than a minute"


RULES = {
    "en": _Rules(
        number=_en_number,
        noun=_en_noun,
        noun_gender="m",
        accusative={},
        pack=EN_PACK,
        wait_lead=("queue-holdtime", "The estimated hold time is currently"),
        position_lead=("queue-thereare", "You are currently caller number"),
        first_in_line=("queue-youarenext", "Your call is now first in line and will be answered "
                                           "by the next available representative."),
        under_a_minute=("less than", "one", "minute"),
    ),
    "ru": _Rules(
        number=lambda n, g: _slavic_number(RU, n, g),
        noun=lambda n, unit: getattr(RU, unit)[slavic_form(n)],
        noun_gender="f",
        accusative=RU.accusative,
        pack=RU_PACK,
        wait_lead=("queue-holdtime", "Прогнозируемое время ожидания составляет"),
        position_lead=("queue-thereare", "Ваша позиция в очереди"),
        first_in_line=("queue-youarenext", "Ваш звонок является первым в очереди и будет обслужен "
                                           "первым доступным оператором."),
        under_a_minute=("менее", "минуты"),
    ),
    "uk": _Rules(
        number=lambda n, g: _slavic_number(UK, n, g),
        noun=lambda n, unit: getattr(UK, unit)[slavic_form(n)],
        noun_gender="f",
        accusative=UK.accusative,
        pack={},
        wait_lead=("", "Орієнтовний час очікування становить"),
        position_lead=("", "Ваше місце в черзі:"),
        first_in_line=("", "Ваш дзвінок перший у черзі, і на нього відповість перший вільний оператор."),
        under_a_minute=("менше", "хвилини"),
    ),
}


def _rules(lang: str) -> _Rules:
    try:
        return RULES[lang]
    except (KeyError, TypeError):
        raise ValueError(f"unknown language {lang!r}; choose one of: {', '.join(LANGUAGES)}") from None


def _whole(n, what: str = "number") -> int:
    # bool is an int to Python but never a count; floats, strings and Decimals are refused
    # rather than truncated, so 2.7 callers never hear "two".
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        raise ValueError(f"{what} {n!r} is not a whole number")
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"{what} {n} is negative; only 0 and more can be said")
    if n >= LIMIT:
        raise ValueError(f"{what} {n} is too large; up to {LIMIT - 1:,} can be said")
    return n


def _phrase(lang: str, words: List[str]) -> List[Item]:
    """One phrase in one voice: all recorded if the pack has every word, else spoken."""
    pack = RULES[lang].pack
    if pack and all(w in pack for w in words):
        return [Recorded(lang, pack[w], w) for w in words]
    return [Spoken(lang, " ".join(words))]


def _gender(gender: str) -> str:
    if gender not in GENDERS:
        raise ValueError(f"unknown gender {gender!r}; choose m, f or n")
    return gender


def in_words(lang: str, n: int, gender: str = "m") -> str:
    """The number as words: in_words("uk", 21, "f") == "двадцять одна"."""
    rules = _rules(lang)
    return " ".join(rules.number(_whole(n), _gender(gender)))


def say_number(lang: str, n: int, gender: str = "m") -> List[Item]:
    """A number as the caller hears it; gender is that of the noun it counts (English: any)."""
    rules = _rules(lang)
    return _phrase(lang, rules.number(_whole(n), _gender(gender)))


def wait_parts(seconds, round_to: int = 15) -> Tuple[int, str]:
    """The wait as it will be said: (count, "minute" | "second").

    Under a minute: seconds rounded UP to a multiple of round_to, never below round_to (a
    caller promised 30 seconds who waits 40 feels misled; one who waits 20 does not); a
    wait that rounds up to 60 is said as 1 minute. From a minute on: whole minutes, rounded
    to the nearest, halves up (89 s: 1 minute; 90 s: 2 minutes), so the figure is never
    more than half a minute off. Long waits stay in minutes, as queue announcements do.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, Real) or not math.isfinite(seconds):
        raise ValueError(f"wait {seconds!r} is not a number of seconds")
    s = float(seconds)
    if s < 0:
        raise ValueError(f"wait {seconds!r} is negative")
    step = _whole(round_to, "round_to")
    if not 1 <= step <= 60:
        raise ValueError(f"round_to {round_to} is outside 1 to 60 seconds")
    if s < 60:
        rounded = max(step, math.ceil(s / step) * step)
        if rounded < 60:
            return rounded, "second"
        return 1, "minute"
    minutes = int(math.floor(s / 60 + 0.5))
    _whole(minutes, "wait in minutes")
    return minutes, "minute"


def _duration_words(rules: _Rules, seconds, round_to: int) -> List[str]:
    count, unit = wait_parts(seconds, round_to)
    return rules.number(count, rules.noun_gender) + [rules.noun(count, unit)]


def say_duration(lang: str, seconds, round_to: int = 15) -> List[Item]:
    """A wait on its own, in the nominative: "2 minutes", "одна минута", "45 секунд".

    Rounding as wait_parts() states.
    """
    rules = _rules(lang)
    return _phrase(lang, _duration_words(rules, seconds, round_to))


def _after(lang: str, lead: Tuple[str, str], words: List[str]) -> List[Item]:
    """A fixed lead-in, then a phrase; one Spoken sentence when both are spoken."""
    prompt, text = lead
    phrase = _phrase(lang, words)
    if not prompt and isinstance(phrase[0], Spoken):
        # one sentence for the synthesiser, so it keeps one intonation through the number
        return [Spoken(lang, f"{text} {phrase[0].text}")]
    return [Recorded(lang, prompt, text) if prompt else Spoken(lang, text)] + phrase


def say_wait(lang: str, seconds, round_to: int = 15) -> List[Item]:
    """The estimated-wait announcement: "The estimated hold time is currently" 2 minutes.

    The lead-in is the pack's queue-holdtime. The wait is in the case that lead-in asks
    for: after "составляет"/"становить" the accusative, одну минуту, тисячу, секунду.
    """
    rules = _rules(lang)
    words = [rules.accusative.get(w, w) for w in _duration_words(rules, seconds, round_to)]
    return _after(lang, rules.wait_lead, words)


def say_wait_under_a_minute(lang: str) -> List[Item]:
    """The estimated-wait announcement for a wait under a minute: "The estimated hold time
    is currently" less than one minute; "... составляет" менее минуты.

    No case to follow from the lead-in: "менее"/"менше" governs the genitive itself.
    """
    rules = _rules(lang)
    return _after(lang, rules.wait_lead, list(rules.under_a_minute))


def say_position(lang: str, n: int) -> List[Item]:
    """A caller's place in the queue: "You are currently caller number" 5.

    Cardinal, after the pack's own lead-in (queue-thereare), as queue announcements say
    it: the packs' ordinals do not fit (the Russian ones are masculine, but a caller may
    be a woman: первый/первая), and one shape serves the three languages. Place 1 is the
    pack's "first in line" sentence (queue-youarenext) instead.
    """
    rules = _rules(lang)
    n = _whole(n, "position")
    if n == 0:
        raise ValueError("position 0 is not a place in a queue; the first caller is 1")
    if n == 1:
        prompt, text = rules.first_in_line
        return [Recorded(lang, prompt, text) if prompt else Spoken(lang, text)]
    return _after(lang, rules.position_lead, rules.number(n, "m"))


def say_digits(lang: str, digits: str) -> List[Item]:
    """A phone number digit by digit, as it is read back to a caller: "zero five zero ...".

    One voice for the whole number, as for any phrase; spoken, the digits are set apart
    by commas so the synthesiser pauses between them as a person reading a number does.
    """
    rules = _rules(lang)
    if not isinstance(digits, str) or not digits or not all(d in "0123456789" for d in digits):
        raise ValueError(f"{digits!r} is not a string of digits 0-9")
    words = [rules.number(int(d), "m")[0] for d in digits]
    said = _phrase(lang, words)
    if isinstance(said[0], Spoken):
        return [Spoken(lang, ", ".join(words))]
    return said


def recorded_names(lang: str) -> frozenset:
    """Every pack prompt these functions can name for the language (none for Ukrainian)."""
    rules = _rules(lang)
    names = set(rules.pack.values())
    names.update(p for p, _ in (rules.wait_lead, rules.position_lead, rules.first_in_line) if p)
    return frozenset(names)
