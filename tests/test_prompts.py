"""The prompt library on the real packs, sox and espeak-ng.

A test that needs a Debian package or tool the machine lacks is skipped, naming it;
sh tools/install-deps installs all of them, so in CI nothing is skipped. Each test has
its own cache folder, so it converts what it loads itself.
"""
import shutil
import subprocess

import numpy as np
import pytest

from appliance import wav
from appliance import numbers
from appliance import prompts
from appliance.prompts import (MUSIC_DBM0, PACKS, SOUNDS, SPEECH_DBM0, PromptLibrary, PromptLoadError,
                               active_level)
from appliance.sim import SimOffice


def need_tool(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (sh tools/install-deps installs it)")


def need_pack(lang):
    pack = PACKS[lang]
    if not (SOUNDS / pack.folder).is_dir():
        pytest.skip(f"{pack.package} is not installed (sh tools/install-deps installs it)")


def need_music():
    if not sorted(prompts.MOH.glob("*.wav")):
        pytest.skip(f"{prompts.MOH_PACKAGE} is not installed (sh tools/install-deps installs it)")


@pytest.fixture
def library(tmp_path):
    return PromptLibrary(tmp_path / "cache")


def at_speech_level(p):
    return abs(active_level(p.pcm) - SPEECH_DBM0) <= 1.0


# -- recorded packs -----------------------------------------------------------------------
def test_english_number_prompts_load(library):
    need_pack("en")
    said = library.say(numbers.say_number("en", 1234) + numbers.say_duration("en", 90))
    assert [p.name for p in said] == ["digits/1", "digits/thousand", "digits/2", "digits/hundred",
                                      "digits/30", "digits/4", "digits/2", "queue-minutes"]
    assert " ".join(p.text for p in said) == "one thousand two hundred thirty four two minutes"
    for p in said:
        assert p.kind == "recorded" and p.language == "en"
        assert p.pcm.dtype == np.int16 and 0.2 < p.duration < 2.0
        assert at_speech_level(p), f"{p.name} at {active_level(p.pcm):.1f} dBm0"
        assert p.source.startswith(str(SOUNDS / PACKS["en"].folder))


def test_russian_number_prompts_load(library):
    need_pack("ru")
    said = library.say(numbers.say_number("ru", 1, "n") + numbers.say_duration("ru", 25 * 60))
    assert [p.name for p in said] == ["digits/1n", "digits/20", "digits/5", "queue-minutes"]
    assert [p.text for p in said] == ["одно", "двадцать", "пять", "минут"]
    assert all(p.kind == "recorded" and p.language == "ru" and at_speech_level(p) for p in said)
    # one and "one" (neuter) are two recordings, not one file twice
    assert not np.array_equal(library.recorded("ru", "digits/1").pcm, said[0].pcm)


def test_pack_silence_stays_silent(library):
    need_pack("en")
    p = library.recorded("en", "silence/1")
    assert abs(p.duration - 1.0) < 0.05
    assert np.max(np.abs(p.pcm.astype(int))) < 100


def test_text_index_gives_the_words(tmp_path):
    # Debian's packs ship no core-sounds-<lang>.txt; a pack that does has its words shown.
    folder = tmp_path / "sounds" / PACKS["en"].folder
    folder.mkdir(parents=True)
    t = np.arange(8000) / 8000.0
    wav.write(str(folder / "hello.wav"), (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    (folder / "core-sounds-en.txt").write_text("; Core Asterisk Sounds in English\nhello: Hello there.\n")
    library = PromptLibrary(tmp_path / "cache", sounds=tmp_path / "sounds")
    p = library.recorded("en", "hello")
    assert p.text == "Hello there."
    assert p.describe() == "hello (en, 1.00 s): Hello there."


# -- espeak-ng ----------------------------------------------------------------------------
def test_ukrainian_duration_is_spoken_at_the_speech_level(library):
    need_tool("espeak-ng")
    need_tool("sox")
    items = numbers.say_wait("uk", 21 * 60)
    said = library.say(items)
    assert len(said) == 1
    p = said[0]
    assert p.kind == "spoken" and p.language == "uk"
    assert p.text == "Орієнтовний час очікування становить двадцять одну хвилину"
    assert p.name == "say:" + p.text
    assert p.source == "espeak-ng uk"
    assert 2.0 < p.duration < 8.0
    assert np.sqrt(np.mean(p.pcm.astype(float) ** 2)) > 300, "not silent"
    assert at_speech_level(p), f"{active_level(p.pcm):.1f} dBm0"


def test_installer_text_in_each_language(library):
    need_tool("espeak-ng")
    need_tool("sox")
    for lang, text in [("en", "Welcome to Acme. For sales, press one."),
                       ("ru", "Добро пожаловать. Отдел продаж: нажмите один."),
                       ("uk", "Ласкаво просимо. Відділ продажу: натисніть один.")]:
        p = library.spoken(lang, text, name="welcome")
        assert p.name == "welcome" and p.text == text and p.duration > 1.5
        assert at_speech_level(p), f"{lang}: {active_level(p.pcm):.1f} dBm0"


def test_text_is_never_taken_for_an_option(library):
    need_tool("espeak-ng")
    need_tool("sox")
    p = library.spoken("en", "--help me")
    assert p.duration > 0.3 and at_speech_level(p)


# -- the installer's recordings -----------------------------------------------------------
def test_stereo_44k_recording_becomes_8k_mono_at_the_level(library, tmp_path):
    need_tool("sox")
    src = tmp_path / "greeting.wav"
    # 440 Hz left, 660 Hz right, quiet, 1.5 s: both must survive the mix to one channel.
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(src),
                    "synth", "1.5", "sine", "440", "sine", "660", "gain", "-30"], check=True)
    p = library.recording(src, name="greeting", lang="en", text="hello")
    assert (p.name, p.language, p.kind, p.text) == ("greeting", "en", "recording", "hello")
    assert abs(len(p.pcm) - 12000) <= 16
    assert at_speech_level(p)
    spectrum = np.abs(np.fft.rfft(p.pcm.astype(float)))
    freqs = np.fft.rfftfreq(len(p.pcm), 1 / 8000)
    peaks = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert abs(peaks[0] - 440) < 2 and abs(peaks[1] - 660) < 2


def test_telephone_wav_needs_no_sox(library, tmp_path, monkeypatch):
    src = tmp_path / "alaw.wav"
    t = np.arange(4000) / 8000.0
    wav.write(str(src), (4000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16), encoding="alaw")
    monkeypatch.setattr(prompts.subprocess, "run", _no_tools)
    p = library.recording(src)
    assert p.name == "alaw" and len(p.pcm) == 4000 and at_speech_level(p)


# -- music on hold ------------------------------------------------------------------------
def test_music_on_hold_3_db_below_speech(library):
    need_music()
    names = library.music_names()
    assert "macroform-cold_day" in names
    shortest = min(names, key=lambda n: (prompts.MOH / f"{n}.wav").stat().st_size)
    p = library.music(shortest)
    assert p.kind == "music" and p.language == "" and p.duration > 60
    assert abs(active_level(p.pcm) - MUSIC_DBM0) <= 1.0
    assert MUSIC_DBM0 == SPEECH_DBM0 - 3.0


# -- the cache ----------------------------------------------------------------------------
def _no_tools(*args, **kwargs):
    raise AssertionError(f"ran {args[0] if args else kwargs.get('args')} instead of reading the cache")


def test_cache_is_reused_without_sox_or_espeak(tmp_path, monkeypatch):
    need_tool("sox")
    need_tool("espeak-ng")
    need_pack("ru")
    src = tmp_path / "menu.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "2", str(src), "synth", "1", "sine", "500"], check=True)
    cache = tmp_path / "cache"

    first = PromptLibrary(cache)
    made = [first.spoken("uk", "двадцять одна хвилина"), first.recording(src), first.recorded("ru", "digits/7")]
    assert first.spoken("uk", "двадцять одна хвилина") is made[0], "held in memory"
    files = sorted(cache.iterdir())
    assert len(files) == 3
    stamps = {f: f.stat().st_mtime_ns for f in files}

    monkeypatch.setattr(prompts.subprocess, "run", _no_tools)
    again = PromptLibrary(cache)
    loaded = [again.spoken("uk", "двадцять одна хвилина"), again.recording(src), again.recorded("ru", "digits/7")]
    for a, b in zip(made, loaded):
        assert np.array_equal(a.pcm, b.pcm) and a.key == b.key
    assert sorted(cache.iterdir()) == files
    assert {f: f.stat().st_mtime_ns for f in files} == stamps, "nothing rewritten"


def test_changed_source_is_converted_again(library, tmp_path):
    need_tool("sox")
    src = tmp_path / "menu.wav"
    subprocess.run(["sox", "-n", "-r", "16000", str(src), "synth", "1", "sine", "500"], check=True)
    before = library.recording(src)
    subprocess.run(["sox", "-n", "-r", "16000", str(src), "synth", "2", "sine", "500"], check=True)
    after = library.recording(src)
    assert before.key != after.key
    assert abs(after.duration - 2.0) < 0.01 and abs(before.duration - 1.0) < 0.01


def test_damaged_cache_file_is_made_again(tmp_path):
    need_pack("en")
    cache = tmp_path / "cache"
    p = PromptLibrary(cache).recorded("en", "digits/5")
    (f,) = cache.iterdir()
    f.write_bytes(b"half a file")
    again = PromptLibrary(cache).recorded("en", "digits/5")
    assert np.array_equal(p.pcm, again.pcm)
    assert wav.read(str(f)).samples.size == p.pcm.size


def test_default_cache_follows_systemd_then_the_user(monkeypatch, tmp_path):
    monkeypatch.setenv("CACHE_DIRECTORY", str(tmp_path / "appliance"))
    assert prompts.default_cache() == tmp_path / "appliance" / "prompts"
    monkeypatch.delenv("CACHE_DIRECTORY")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert prompts.default_cache() == tmp_path / "xdg" / "appliance" / "prompts"


# -- the engine ---------------------------------------------------------------------------
def test_register_adds_each_prompt_once_per_engine(library):
    need_pack("en")
    said = library.say(numbers.say_number("en", 22))            # digits/20, digits/2
    two = library.recorded("en", "digits/2")
    with SimOffice(lines=1) as office, SimOffice(lines=1) as other:
        ids = library.register(office.engine, said + [two])
        assert ids[1] == ids[2] and ids[0] != ids[1]
        assert library.register(office.engine, [two]) == [ids[1]]
        assert office.engine.prompt_samples(ids[0]) == len(said[0].pcm)
        assert len(library.register(other.engine, said)) == 2


def test_prompt_samples_are_read_only(library):
    need_pack("en")
    p = library.recorded("en", "digits/3")
    with pytest.raises(ValueError):
        p.pcm[0] = 1


# -- errors: named prompt, named file or package, no traceback ---------------------------
def test_missing_file(library, tmp_path):
    with pytest.raises(PromptLoadError) as e:
        library.recording(tmp_path / "nothere.wav", name="welcome")
    assert str(e.value) == f"prompt 'welcome': no such file {tmp_path / 'nothere.wav'}"


def test_missing_pack_prompt(library):
    need_pack("en")
    with pytest.raises(PromptLoadError) as e:
        library.recorded("en", "digits/1000000")
    assert "prompt 'digits/1000000' (en)" in str(e.value)
    assert "asterisk-core-sounds-en-wav has no" in str(e.value)


def test_unreadable_file(library, tmp_path):
    need_tool("sox")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all " * 40)
    with pytest.raises(PromptLoadError) as e:
        library.recording(junk, name="greeting")
    message = str(e.value)
    assert message.startswith(f"prompt 'greeting': sox cannot read {junk}: ")
    assert "\n" not in message


def test_unknown_language(library):
    for call in (lambda: library.recorded("de", "digits/1"), lambda: library.spoken("de", "Hallo"),
                 lambda: library.recording(__file__, lang="de")):
        with pytest.raises(PromptLoadError) as e:
            call()
        assert "unknown language 'de'" in str(e.value)


def test_no_ukrainian_pack(library):
    with pytest.raises(PromptLoadError) as e:
        library.recorded("uk", "digits/1")
    assert "there is no recorded Ukrainian pack" in str(e.value)


def test_pack_not_installed_names_the_package(tmp_path):
    library = PromptLibrary(tmp_path / "cache", sounds=tmp_path / "empty")
    with pytest.raises(PromptLoadError) as e:
        library.say(numbers.say_number("ru", 5))
    assert "prompt 'digits/5' (ru): the Russian prompts are not installed" in str(e.value)
    assert "install the Debian package asterisk-core-sounds-ru-wav" in str(e.value)


def test_espeak_missing_names_the_package(tmp_path):
    library = PromptLibrary(tmp_path / "cache", espeak="espeak-ng-not-here")
    with pytest.raises(PromptLoadError) as e:
        library.say(numbers.say_duration("uk", 60))
    assert str(e.value) == ("prompt 'say:одна хвилина': espeak-ng-not-here is not installed; install "
                            "the Debian package espeak-ng (sh tools/install-deps installs it)")


def test_sox_missing_names_the_package(tmp_path):
    src = tmp_path / "x.mp3"
    src.write_bytes(b"ID3")
    library = PromptLibrary(tmp_path / "cache", sox="sox-not-here")
    with pytest.raises(PromptLoadError, match=r"prompt 'x': sox-not-here is not installed; install the "
                                              r"Debian package sox"):
        library.recording(src)


def test_unknown_voice_is_said(tmp_path):
    need_tool("espeak-ng")
    library = PromptLibrary(tmp_path / "cache", voices={"uk": prompts.Voice("zz-nonesuch")})
    with pytest.raises(PromptLoadError, match=r"espeak-ng cannot speak it with voice 'zz-nonesuch'"):
        library.spoken("uk", "текст")


def test_empty_text(library):
    with pytest.raises(PromptLoadError, match=r"there is no text to speak"):
        library.spoken("en", "   ")


def test_unknown_music(library):
    need_music()
    with pytest.raises(PromptLoadError, match=r"music on hold 'jazz': .* the pieces are: "):
        library.music("jazz")


def test_music_not_installed(tmp_path):
    library = PromptLibrary(tmp_path / "cache", moh=tmp_path / "none")
    with pytest.raises(PromptLoadError, match=r"install the Debian package asterisk-moh-opsound-wav"):
        library.music_names()


def test_cache_not_writable(tmp_path):
    need_pack("en")
    blocker = tmp_path / "file"
    blocker.write_text("")
    library = PromptLibrary(blocker / "cache")
    with pytest.raises(PromptLoadError, match=r"prompt 'digits/1': cannot write the prompt cache"):
        library.recorded("en", "digits/1")
