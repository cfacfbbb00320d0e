"""Numbers, waits and queue places as callers hear them: each language's own rules.

The expected words are written out by hand, not derived from the module's tables, so a
wrong table entry fails here. The last tests check that every prompt name the module can
produce is a file of the installed pack (skipped, naming the package, when it is not).
"""
import math

import pytest

from appliance.numbers import (Recorded, Spoken, in_words, recorded_names, say_duration, say_number,
                               say_position, say_wait, say_wait_under_a_minute, slavic_form, wait_parts)
from appliance.prompts import PACKS, SOUNDS


def heard(items):
    """The words of a list of items, as one string."""
    return " ".join(i.text for i in items)


def names(items):
    return [i.name if isinstance(i, Recorded) else "say:" + i.text for i in items]


# -- English ------------------------------------------------------------------------------
@pytest.mark.parametrize("n, words", [
    (0, "zero"), (1, "one"), (2, "two"), (11, "eleven"), (13, "thirteen"), (19, "nineteen"),
    (20, "twenty"), (21, "twenty one"), (40, "forty"), (99, "ninety nine"), (100, "one hundred"),
    (101, "one hundred one"), (110, "one hundred ten"), (111, "one hundred eleven"),
    (121, "one hundred twenty one"), (999, "nine hundred ninety nine"), (1000, "one thousand"),
    (1001, "one thousand one"), (2000, "two thousand"), (5000, "five thousand"),
    (21000, "twenty one thousand"), (100000, "one hundred thousand"),
    (999999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    (1000000, "one million"), (2000005, "two million five"),
    (123456789, "one hundred twenty three million four hundred fifty six thousand seven hundred eighty nine"),
])
def test_english_numbers(n, words):
    assert in_words("en", n) == words
    items = say_number("en", n)
    assert all(isinstance(i, Recorded) for i in items), "English has every word recorded"
    assert heard(items) == words


def test_english_number_prompts():
    assert names(say_number("en", 0)) == ["digits/0"]
    assert names(say_number("en", 21)) == ["digits/20", "digits/1"]
    assert names(say_number("en", 1100)) == ["digits/1", "digits/thousand", "digits/1", "digits/hundred"]
    assert names(say_number("en", 3000000)) == ["digits/3", "digits/million"]


def test_english_gender_changes_nothing():
    assert say_number("en", 1, "f") == say_number("en", 1, "n") == say_number("en", 1)


@pytest.mark.parametrize("seconds, round_to, words", [
    (60, 15, "one minute"), (120, 15, "two minutes"), (90, 15, "two minutes"), (89, 15, "one minute"),
    (30, 15, "thirty seconds"), (1, 1, "one second"), (2, 1, "two seconds"), (21 * 60, 15, "twenty one minutes"),
])
def test_english_singular_and_plural(seconds, round_to, words):
    assert heard(say_duration("en", seconds, round_to)) == words


def test_english_unit_prompts():
    assert names(say_duration("en", 60)) == ["digits/1", "queue-minute"]
    assert names(say_duration("en", 300)) == ["digits/5", "queue-minutes"]
    assert names(say_duration("en", 1, round_to=1)) == ["digits/1", "second"]
    assert names(say_duration("en", 45)) == ["digits/40", "digits/5", "queue-seconds"]


def test_english_wait_and_position():
    assert names(say_wait("en", 150)) == ["queue-holdtime", "digits/3", "queue-minutes"]
    assert heard(say_wait("en", 60)) == "The estimated hold time is currently one minute"
    assert names(say_position("en", 1)) == ["queue-youarenext"]
    assert names(say_position("en", 7)) == ["queue-thereare", "digits/7"]
    assert heard(say_position("en", 12)) == "You are currently caller number twelve"


def test_english_less_than_a_minute_is_all_recorded():
    items = say_wait_under_a_minute("en")
    assert names(items) == ["queue-holdtime", "queue-less-than", "digits/1", "queue-minute"]
    assert heard(items) == "The estimated hold time is currently less than one minute"


# -- Russian ------------------------------------------------------------------------------
RU = [  # n, masculine, feminine, neuter
    (0, "ноль", "ноль", "ноль"),
    (1, "один", "одна", "одно"),
    (2, "два", "две", "два"),
    (4, "четыре", "четыре", "четыре"),
    (5, "пять", "пять", "пять"),
    (11, "одиннадцать", "одиннадцать", "одиннадцать"),
    (12, "двенадцать", "двенадцать", "двенадцать"),
    (14, "четырнадцать", "четырнадцать", "четырнадцать"),
    (15, "пятнадцать", "пятнадцать", "пятнадцать"),
    (20, "двадцать", "двадцать", "двадцать"),
    (21, "двадцать один", "двадцать одна", "двадцать одно"),
    (22, "двадцать два", "двадцать две", "двадцать два"),
    (25, "двадцать пять", "двадцать пять", "двадцать пять"),
    (100, "сто", "сто", "сто"),
    (101, "сто один", "сто одна", "сто одно"),
    (111, "сто одиннадцать", "сто одиннадцать", "сто одиннадцать"),
    (121, "сто двадцать один", "сто двадцать одна", "сто двадцать одно"),
    (200, "двести", "двести", "двести"),
    (1000, "тысяча", "тысяча", "тысяча"),
    (1001, "тысяча один", "тысяча одна", "тысяча одно"),
    (2000, "две тысячи", "две тысячи", "две тысячи"),
    (3000, "три тысячи", "три тысячи", "три тысячи"),
    (5000, "пять тысяч", "пять тысяч", "пять тысяч"),
    (11000, "одиннадцать тысяч", "одиннадцать тысяч", "одиннадцать тысяч"),
    (21000, "двадцать одна тысяча", "двадцать одна тысяча", "двадцать одна тысяча"),
    (22000, "двадцать две тысячи", "двадцать две тысячи", "двадцать две тысячи"),
    (101000, "сто одна тысяча", "сто одна тысяча", "сто одна тысяча"),
    (2002, "две тысячи два", "две тысячи две", "две тысячи два"),
    (999999, "девятьсот девяносто девять тысяч девятьсот девяносто девять",
     "девятьсот девяносто девять тысяч девятьсот девяносто девять",
     "девятьсот девяносто девять тысяч девятьсот девяносто девять"),
    (1000000, "миллион", "миллион", "миллион"),
    (2000000, "два миллиона", "два миллиона", "два миллиона"),
    (5000000, "пять миллионов", "пять миллионов", "пять миллионов"),
    (21000000, "двадцать один миллион", "двадцать один миллион", "двадцать один миллион"),
]


@pytest.mark.parametrize("n, m, f, neuter", RU)
def test_russian_numbers_by_gender(n, m, f, neuter):
    assert in_words("ru", n, "m") == m
    assert in_words("ru", n, "f") == f
    assert in_words("ru", n, "n") == neuter
    assert heard(say_number("ru", n, "f")) == f


RU_MINUTES = [
    (1, "одна минута"), (2, "две минуты"), (4, "четыре минуты"), (5, "пять минут"),
    (11, "одиннадцать минут"), (12, "двенадцать минут"), (14, "четырнадцать минут"),
    (15, "пятнадцать минут"), (20, "двадцать минут"), (21, "двадцать одна минута"),
    (22, "двадцать две минуты"), (25, "двадцать пять минут"), (100, "сто минут"),
    (101, "сто одна минута"), (111, "сто одиннадцать минут"), (121, "сто двадцать одна минута"),
    (1000, "тысяча минут"), (1001, "тысяча одна минута"), (2000, "две тысячи минут"),
    (5000, "пять тысяч минут"), (21000, "двадцать одна тысяча минут"),
]


@pytest.mark.parametrize("minutes, words", RU_MINUTES)
def test_russian_minutes(minutes, words):
    assert heard(say_duration("ru", minutes * 60)) == words


@pytest.mark.parametrize("seconds, words", [
    (15, "пятнадцать секунд"), (30, "тридцать секунд"), (45, "сорок пять секунд"),
    (1, "одна секунда"), (2, "две секунды"), (21, "двадцать одна секунда"), (24, "двадцать четыре секунды"),
    (11, "одиннадцать секунд"),
])
def test_russian_seconds(seconds, words):
    assert heard(say_duration("ru", seconds, round_to=1)) == words


def test_russian_recorded_only_where_the_pack_has_every_word():
    # The pack has минут, секунд and the numbers in their masculine and neuter forms.
    assert names(say_duration("ru", 5 * 60)) == ["digits/5", "queue-minutes"]
    assert names(say_duration("ru", 25 * 60)) == ["digits/20", "digits/5", "queue-minutes"]
    assert names(say_duration("ru", 45)) == ["digits/40", "digits/5", "queue-seconds"]
    assert names(say_number("ru", 21)) == ["digits/20", "digits/1"]
    assert names(say_number("ru", 1, "n")) == ["digits/1n"]
    assert names(say_number("ru", 111)) == ["digits/hundred", "digits/11"]
    assert names(say_number("ru", 1001)) == ["digits/thousand", "digits/1"]
    assert names(say_number("ru", 1000000)) == ["digits/million"]
    # ... but no одна, две, минута's other forms or тысячи: the whole phrase is spoken.
    assert say_duration("ru", 60) == [Spoken("ru", "одна минута")]
    assert say_duration("ru", 2 * 60) == [Spoken("ru", "две минуты")]
    assert say_duration("ru", 21 * 60) == [Spoken("ru", "двадцать одна минута")]
    assert say_number("ru", 21, "f") == [Spoken("ru", "двадцать одна")]
    assert say_number("ru", 2000) == [Spoken("ru", "две тысячи")]
    assert say_number("ru", 300) == [Spoken("ru", "триста")]


def test_russian_wait_is_accusative_after_the_lead_in():
    lead = Recorded("ru", "queue-holdtime", "Прогнозируемое время ожидания составляет")
    assert say_wait("ru", 60) == [lead, Spoken("ru", "одну минуту")]
    assert say_wait("ru", 21 * 60) == [lead, Spoken("ru", "двадцать одну минуту")]
    assert say_wait("ru", 3 * 60) == [lead, Spoken("ru", "три минуты")]
    assert names(say_wait("ru", 5 * 60)) == ["queue-holdtime", "digits/5", "queue-minutes"]
    assert heard(say_wait("ru", 1000 * 60)).endswith("составляет тысячу минут")


def test_russian_less_than_a_minute_is_genitive_and_spoken_after_the_lead_in():
    # минуты is not in the pack, so "менее минуты" is one spoken phrase, never half recorded
    assert say_wait_under_a_minute("ru") == [
        Recorded("ru", "queue-holdtime", "Прогнозируемое время ожидания составляет"),
        Spoken("ru", "менее минуты")]


def test_russian_position_is_cardinal_after_the_lead_in():
    assert names(say_position("ru", 1)) == ["queue-youarenext"]
    assert names(say_position("ru", 2)) == ["queue-thereare", "digits/2"]
    assert names(say_position("ru", 21)) == ["queue-thereare", "digits/20", "digits/1"]
    assert say_position("ru", 300)[1:] == [Spoken("ru", "триста")]


# -- Ukrainian ----------------------------------------------------------------------------
UK = [  # n, masculine, feminine, neuter
    (0, "нуль", "нуль", "нуль"),
    (1, "один", "одна", "одне"),
    (2, "два", "дві", "два"),
    (4, "чотири", "чотири", "чотири"),
    (5, "п'ять", "п'ять", "п'ять"),
    (11, "одинадцять", "одинадцять", "одинадцять"),
    (12, "дванадцять", "дванадцять", "дванадцять"),
    (14, "чотирнадцять", "чотирнадцять", "чотирнадцять"),
    (15, "п'ятнадцять", "п'ятнадцять", "п'ятнадцять"),
    (20, "двадцять", "двадцять", "двадцять"),
    (21, "двадцять один", "двадцять одна", "двадцять одне"),
    (22, "двадцять два", "двадцять дві", "двадцять два"),
    (25, "двадцять п'ять", "двадцять п'ять", "двадцять п'ять"),
    (100, "сто", "сто", "сто"),
    (101, "сто один", "сто одна", "сто одне"),
    (111, "сто одинадцять", "сто одинадцять", "сто одинадцять"),
    (121, "сто двадцять один", "сто двадцять одна", "сто двадцять одне"),
    (200, "двісті", "двісті", "двісті"),
    (1000, "тисяча", "тисяча", "тисяча"),
    (1001, "тисяча один", "тисяча одна", "тисяча одне"),
    (2000, "дві тисячі", "дві тисячі", "дві тисячі"),
    (5000, "п'ять тисяч", "п'ять тисяч", "п'ять тисяч"),
    (12000, "дванадцять тисяч", "дванадцять тисяч", "дванадцять тисяч"),
    (21000, "двадцять одна тисяча", "двадцять одна тисяча", "двадцять одна тисяча"),
    (24000, "двадцять чотири тисячі", "двадцять чотири тисячі", "двадцять чотири тисячі"),
    (999999, "дев'ятсот дев'яносто дев'ять тисяч дев'ятсот дев'яносто дев'ять",
     "дев'ятсот дев'яносто дев'ять тисяч дев'ятсот дев'яносто дев'ять",
     "дев'ятсот дев'яносто дев'ять тисяч дев'ятсот дев'яносто дев'ять"),
    (1000000, "мільйон", "мільйон", "мільйон"),
    (3000000, "три мільйони", "три мільйони", "три мільйони"),
    (7000000, "сім мільйонів", "сім мільйонів", "сім мільйонів"),
]


@pytest.mark.parametrize("n, m, f, neuter", UK)
def test_ukrainian_numbers_by_gender(n, m, f, neuter):
    assert in_words("uk", n, "m") == m
    assert in_words("uk", n, "f") == f
    assert in_words("uk", n, "n") == neuter
    assert say_number("uk", n, "f") == [Spoken("uk", f)]


UK_MINUTES = [
    (1, "одна хвилина"), (2, "дві хвилини"), (4, "чотири хвилини"), (5, "п'ять хвилин"),
    (11, "одинадцять хвилин"), (12, "дванадцять хвилин"), (14, "чотирнадцять хвилин"),
    (15, "п'ятнадцять хвилин"), (20, "двадцять хвилин"), (21, "двадцять одна хвилина"),
    (22, "двадцять дві хвилини"), (25, "двадцять п'ять хвилин"), (100, "сто хвилин"),
    (101, "сто одна хвилина"), (111, "сто одинадцять хвилин"), (121, "сто двадцять одна хвилина"),
    (1000, "тисяча хвилин"), (1001, "тисяча одна хвилина"), (2000, "дві тисячі хвилин"),
    (5000, "п'ять тисяч хвилин"), (21000, "двадцять одна тисяча хвилин"),
]


@pytest.mark.parametrize("minutes, words", UK_MINUTES)
def test_ukrainian_minutes(minutes, words):
    assert say_duration("uk", minutes * 60) == [Spoken("uk", words)]


@pytest.mark.parametrize("seconds, words", [
    (1, "одна секунда"), (2, "дві секунди"), (4, "чотири секунди"), (5, "п'ять секунд"),
    (11, "одинадцять секунд"), (21, "двадцять одна секунда"), (45, "сорок п'ять секунд"),
])
def test_ukrainian_seconds(seconds, words):
    assert say_duration("uk", seconds, round_to=1) == [Spoken("uk", words)]


def test_ukrainian_wait_and_position_are_one_sentence_each():
    assert say_wait("uk", 60) == [Spoken("uk", "Орієнтовний час очікування становить одну хвилину")]
    assert say_wait("uk", 21 * 60) == [Spoken("uk", "Орієнтовний час очікування становить двадцять одну хвилину")]
    assert say_wait("uk", 3 * 60) == [Spoken("uk", "Орієнтовний час очікування становить три хвилини")]
    assert say_position("uk", 5) == [Spoken("uk", "Ваше місце в черзі: п'ять")]
    assert say_position("uk", 21) == [Spoken("uk", "Ваше місце в черзі: двадцять один")]
    assert len(say_position("uk", 1)) == 1 and "перший" in say_position("uk", 1)[0].text
    assert say_wait_under_a_minute("uk") == [Spoken("uk", "Орієнтовний час очікування становить менше хвилини")]


def test_ukrainian_has_no_recorded_prompts():
    assert recorded_names("uk") == frozenset()


# -- shared rules -------------------------------------------------------------------------
@pytest.mark.parametrize("n, form", [
    (0, 2), (1, 0), (2, 1), (4, 1), (5, 2), (11, 2), (12, 2), (14, 2), (15, 2), (20, 2), (21, 0),
    (22, 1), (25, 2), (100, 2), (101, 0), (111, 2), (112, 2), (121, 0), (1000, 2), (1001, 0),
    (2000, 2), (21000, 2), (1000000, 2),
])
def test_slavic_noun_form_by_number(n, form):
    assert slavic_form(n) == form


@pytest.mark.parametrize("seconds, round_to, said", [
    (0, 15, (15, "second")),        # never "zero seconds"
    (1, 15, (15, "second")),
    (15, 15, (15, "second")),
    (15.1, 15, (30, "second")),     # under a minute: rounded up
    (44, 15, (45, "second")),
    (45, 15, (45, "second")),
    (46, 15, (1, "minute")),        # rounds up to 60
    (59.9, 15, (1, "minute")),
    (60, 15, (1, "minute")),
    (89, 15, (1, "minute")),        # from a minute on: nearest, halves up
    (89.99, 15, (1, "minute")),
    (90, 15, (2, "minute")),
    (149, 15, (2, "minute")),
    (150, 15, (3, "minute")),
    (41, 10, (50, "second")),
    (7, 1, (7, "second")),
    (1, 60, (1, "minute")),
    (7200, 15, (120, "minute")),    # long waits stay in minutes
])
def test_wait_rounding(seconds, round_to, said):
    assert wait_parts(seconds, round_to) == said


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: say_number("de", 1), "unknown language 'de'; choose one of: en, ru, uk"),
    (lambda: say_duration("fr", 60), "unknown language 'fr'"),
    (lambda: say_position(None, 2), "unknown language None"),
    (lambda: say_number("en", -1), "number -1 is negative"),
    (lambda: say_number("ru", 2.5), "number 2.5 is not a whole number"),
    (lambda: say_number("ru", 2.0), "number 2.0 is not a whole number"),
    (lambda: say_number("uk", "5"), "number '5' is not a whole number"),
    (lambda: say_number("uk", True), "number True is not a whole number"),
    (lambda: say_number("en", 10 ** 9), "too large; up to 999,999,999"),
    (lambda: say_number("ru", 1, "x"), "unknown gender 'x'; choose m, f or n"),
    (lambda: say_duration("en", -1), "wait -1 is negative"),
    (lambda: say_duration("en", math.nan), "is not a number of seconds"),
    (lambda: say_duration("en", math.inf), "is not a number of seconds"),
    (lambda: say_duration("en", "60"), "wait '60' is not a number of seconds"),
    (lambda: say_duration("en", 60, round_to=0), "round_to 0 is outside 1 to 60 seconds"),
    (lambda: say_duration("en", 60, round_to=61), "round_to 61 is outside"),
    (lambda: say_duration("en", 60, round_to=2.5), "round_to 2.5 is not a whole number"),
    (lambda: say_wait("ru", -5), "negative"),
    (lambda: say_position("en", 0), "position 0 is not a place in a queue"),
    (lambda: say_position("en", -3), "position -3 is negative"),
    (lambda: say_position("en", 1.5), "position 1.5 is not a whole number"),
    (lambda: say_wait_under_a_minute("pl"), "unknown language 'pl'"),
])
def test_errors_say_what_was_wrong(call, message):
    with pytest.raises(ValueError) as e:
        call()
    assert message in str(e.value)


def test_numpy_integers_are_whole_numbers():
    np = pytest.importorskip("numpy")
    assert say_number("en", np.int64(21)) == say_number("en", 21)
    assert say_duration("en", np.float64(90.0)) == say_duration("en", 90)


# -- the packs hold every name ------------------------------------------------------------
def produced(lang):
    """Every Recorded name over a sweep of numbers, genders, waits and queue places."""
    found = set()
    numbers = list(range(0, 1200)) + [2000, 5000, 21000, 100000, 101000, 999999, 10 ** 6, 2 * 10 ** 6,
                                      21 * 10 ** 6, 999999999]
    for n in numbers:
        for g in ("m", "f", "n"):
            found.update(i.name for i in say_number(lang, n, g) if isinstance(i, Recorded))
    for s in list(range(0, 600)) + list(range(600, 7200, 30)):
        for r in (1, 5, 15):
            for say in (say_duration, say_wait):
                found.update(i.name for i in say(lang, s, r) if isinstance(i, Recorded))
    for p in range(1, 1200):
        found.update(i.name for i in say_position(lang, p) if isinstance(i, Recorded))
    found.update(i.name for i in say_wait_under_a_minute(lang) if isinstance(i, Recorded))
    return found


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_prompt_name_is_in_the_installed_pack(lang):
    pack = PACKS[lang]
    folder = SOUNDS / pack.folder
    if not folder.is_dir():
        pytest.skip(f"{pack.package} is not installed (sh tools/install-deps installs it)")
    made = produced(lang)
    assert made == set(recorded_names(lang)), "recorded_names() lists exactly what can be said"
    missing = sorted(n for n in made if not (folder / f"{n}.wav").is_file())
    assert not missing, f"{pack.package} has no file for: {missing}"


def test_say_digits_one_voice_per_language():
    from appliance.numbers import say_digits
    en = say_digits("en", "0509")
    assert [i.name for i in en] == ["digits/0", "digits/5", "digits/0", "digits/9"]
    ru = say_digits("ru", "12")
    assert [i.text for i in ru] == ["один", "два"] and all(isinstance(i, Recorded) for i in ru)
    assert say_digits("uk", "210") == [Spoken("uk", "два, один, нуль")]
    for bad in ("", "12a", "+380", 123):
        with pytest.raises(ValueError):
            say_digits("en", bad)
