"""The prompt library: every sound the box plays, converted once, at one level, in memory.

Rules:
  - Four sources: the recorded packs by language ("en": asterisk-core-sounds-en-wav, "ru":
    asterisk-core-sounds-ru-wav), the installer's own recordings in any format sox reads,
    text spoken by espeak-ng (Ukrainian has no pack, so its numbers and waits are always
    spoken; so is any text an installer writes, in any of the three languages), and music
    on hold from asterisk-moh-opsound-wav.
  - Everything becomes 8 kHz mono 16-bit linear once: speech at -18 dBm0 active level
    (pauses left out, as at_level measures it), so recorded words, synthetic ones and the
    installer's recordings follow each other at one loudness with 20 dB of headroom below
    the codec's overload; music 3 dB below speech, so it never drowns an announcement.
    A clip quieter than -60 dBm0 is silence and stays as it is.
  - Each converted sound is kept in a cache folder under a name made from what made it:
    the source file's path, size and modification time, or the text, voice and speaking
    options; and the level. A later load, in this process or the next, reads that file:
    no sox, no espeak-ng. A changed source file or level makes a new one.
  - A Prompt holds its samples (numpy int16, read-only) with its name, language and
    words; register() hands prompts to an engine once per engine and returns the ids a
    play list is made of.
  - Whatever cannot be loaded raises PromptLoadError naming the prompt and the file, or
    the Debian package to install; never a traceback for a user. (binding.PromptError is
    the engine refusing a prompt id; this is the library failing to make a prompt.)
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

import numpy as np

from appliance import wav
from appliance.numbers import LANGUAGES, Item, Recorded, Spoken

RATE = 8000                         # the line's rate, as wav.py reads and writes it
SPEECH_DBM0 = -18.0
MUSIC_DBM0 = SPEECH_DBM0 - 3.0
FULL_SCALE_SINE_DBM0 = 3.14         # G.711's overload point (G.711 table 5/6)
# Quieter than this is silence, not speech: the packs' silence/N files hold +-2 of
# dither, and a line's hiss sits near -60 dBm0; raising either to speech level would
# play noise at full loudness.
SILENCE_DBM0 = -60.0

SOUNDS = Path("/usr/share/asterisk/sounds")
MOH = Path("/usr/share/asterisk/moh")
MOH_PACKAGE = "asterisk-moh-opsound-wav"
LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "uk": "Ukrainian"}
INSTALL = "sh tools/install-deps installs it"


@dataclass(frozen=True)
class Pack:
    folder: str                     # under SOUNDS
    package: str                    # the Debian package that installs it


PACKS = {
    "en": Pack("en_US_f_Allison", "asterisk-core-sounds-en-wav"),
    "ru": Pack("ru_RU_f_IvrvoiceRU", "asterisk-core-sounds-ru-wav"),
}


@dataclass(frozen=True)
class Voice:
    name: str                       # espeak-ng's voice
    speed: int = 150                # words per minute: a little slower than espeak-ng's 175,
    pitch: int = 50                 # for a telephone line and a caller who is waiting


VOICES = {"en": Voice("en-us"), "ru": Voice("ru"), "uk": Voice("uk")}


class PromptLoadError(Exception):
    """A prompt that cannot be loaded: which one, and what is missing or wrong."""


# -- levels -------------------------------------------------------------------------------
def active_level(pcm) -> float:
    """The mean level in dBm0 of a clip's active parts; ValueError if it is silent.

    Active means 20 ms frames within 30 dB of the clip's loud frames (its 95th
    percentile), roughly how a speech level meter ignores pauses; a full-scale sine is
    +3.14 dBm0.
    """
    x = np.asarray(pcm, dtype=np.float64)
    n = len(x) // 160
    if n == 0:
        raise ValueError("the clip is shorter than one 20 ms frame")
    frames = np.mean(x[: n * 160].reshape(n, 160) ** 2, axis=1)
    loud = np.percentile(frames, 95)
    active = frames[(frames > loud * 1e-3) & (frames > 0)]
    if active.size == 0:
        raise ValueError("the clip is silent")
    return 10.0 * np.log10(np.mean(active) / (32767.0 ** 2 / 2)) + FULL_SCALE_SINE_DBM0


def at_level(pcm, dbm0: float) -> np.ndarray:
    """The clip scaled so that its active parts (pauses left out) have this mean level."""
    x = np.asarray(pcm, dtype=np.float64)
    y = x * 10.0 ** ((dbm0 - active_level(x)) / 20.0)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


# -- prompts ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Prompt:
    """One sound ready to play, and what a console shows of it."""

    name: str               # "digits/5", "say:<text>", the installer's name, a music piece
    language: str           # "en", "ru", "uk"; "" for music and wordless recordings
    kind: str               # "recorded" (a pack's), "recording" (the installer's), "spoken", "music"
    text: str               # the words, when known
    pcm: np.ndarray         # int16, 8 kHz, at the library's level
    source: str             # the file it came from, or the espeak-ng voice that said it
    key: str                # digest of what made it: names the cache file, keys registrations

    @property
    def duration(self) -> float:
        return len(self.pcm) / RATE

    def describe(self) -> str:
        """One line for a console: what the caller hears."""
        lang = f"{self.language}, " if self.language else ""
        words = f": {self.text}" if self.text else ""
        return f"{self.name} ({lang}{self.duration:.2f} s){words}"


def _digest(*parts) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:16]


def _slug(name: str) -> str:
    # Cache names stay ASCII and short; the digest, not the slug, tells files apart.
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40] or "prompt"


def _said(stderr: Union[bytes, str]) -> str:
    """A tool's complaint in one line, without its own name in front."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    text = "; ".join(lines) or "no reason given"
    return re.sub(r"^(\S*sox FAIL \w+:|\S*sox:|Error:)\s*", "", text)


def default_cache() -> Path:
    """Where converted prompts are kept.

    The supervisor's unit has CacheDirectory=, for which systemd sets $CACHE_DIRECTORY;
    anywhere else it is the user's cache folder.
    """
    given = os.environ.get("CACHE_DIRECTORY")
    if given:
        return Path(given.split(":")[0]) / "prompts"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "appliance" / "prompts"


class PromptLibrary:
    """Loads prompts from the packs, recordings, espeak-ng and music on hold, once each."""

    def __init__(self, cache: Optional[Union[str, Path]] = None, *, sounds: Union[str, Path] = SOUNDS,
                 moh: Union[str, Path] = MOH, speech_dbm0: float = SPEECH_DBM0,
                 music_dbm0: float = MUSIC_DBM0, voices: Optional[Dict[str, Voice]] = None,
                 sox: str = "sox", espeak: str = "espeak-ng"):
        self.cache = Path(cache) if cache is not None else default_cache()
        self.sounds = Path(sounds)
        self.moh = Path(moh)
        self.speech_dbm0 = speech_dbm0
        self.music_dbm0 = music_dbm0
        self.voices = dict(VOICES if voices is None else voices)
        self.sox = sox
        self.espeak = espeak
        self._loaded: Dict[str, Prompt] = {}
        self._indexes: Dict[str, Dict[str, str]] = {}
        self._registered: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    # -- the four sources ----------------------------------------------------------------
    def recorded(self, lang: str, name: str, text: str = "") -> Prompt:
        """A prompt of a language's recorded pack by the pack's name: recorded("ru", "digits/5")."""
        pack = self._pack(lang, name)
        path = self.sounds / pack.folder / f"{name}.wav"
        if not path.is_file():
            raise PromptLoadError(f"prompt {name!r} ({lang}): {pack.package} has no {path}")
        text = text or self._index(lang).get(name, "")
        return self._from_file("recorded", name, lang, text, path, self.speech_dbm0)

    def recording(self, path: Union[str, Path], name: str = "", lang: str = "", text: str = "",
                  music: bool = False) -> Prompt:
        """The installer's own recording, any format sox reads; music=True levels it as music."""
        p = Path(path)
        name = name or p.stem
        if lang and lang not in LANGUAGES:
            raise PromptLoadError(f"prompt {name!r}: unknown language {lang!r}; "
                                  f"choose one of: {', '.join(LANGUAGES)}")
        if not p.exists():
            raise PromptLoadError(f"prompt {name!r}: no such file {p}")
        if not p.is_file():
            raise PromptLoadError(f"prompt {name!r}: {p} is not a file")
        kind = "music" if music else "recording"
        return self._from_file(kind, name, lang, text, p.resolve(),
                               self.music_dbm0 if music else self.speech_dbm0)

    def spoken(self, lang: str, text: str, name: str = "") -> Prompt:
        """Text said by espeak-ng in the language's voice; named "say:<text>" unless named."""
        text = " ".join(str(text).split())
        name = name or f"say:{text}"
        voice = self._voice(lang, name)
        if not text:
            raise PromptLoadError(f"prompt {name!r} ({lang}): there is no text to speak")
        key = _digest("spoken", voice.name, voice.speed, voice.pitch, text, self.speech_dbm0)
        return self._cached(key, "spoken", name, lang, text, f"espeak-ng {voice.name}",
                            self.speech_dbm0, lambda: self._speak(name, voice, text))

    def music(self, name: str) -> Prompt:
        """A piece of music on hold from asterisk-moh-opsound-wav, by name (music_names())."""
        names = self.music_names()
        if name not in names:
            raise PromptLoadError(f"music on hold {name!r}: no {self.moh / (name + '.wav')}; "
                                  f"the pieces are: {', '.join(names)}")
        return self._from_file("music", name, "", "", self.moh / f"{name}.wav", self.music_dbm0)

    def music_names(self) -> List[str]:
        names = sorted(p.stem for p in self.moh.glob("*.wav")) if self.moh.is_dir() else []
        if not names:
            raise PromptLoadError(f"music on hold: there is none in {self.moh}; install the Debian "
                                  f"package {MOH_PACKAGE} ({INSTALL})")
        return names

    # -- what numbers.py says ------------------------------------------------------------
    def load(self, item: Item) -> Prompt:
        """One item of appliance.numbers' output: a Recorded pack prompt or Spoken text."""
        if isinstance(item, Recorded):
            return self.recorded(item.lang, item.name, item.text)
        if isinstance(item, Spoken):
            return self.spoken(item.lang, item.text)
        raise PromptLoadError(f"{item!r} is neither a recorded prompt nor text to speak")

    def say(self, items: Iterable[Item]) -> List[Prompt]:
        return [self.load(i) for i in items]

    # -- the engine ----------------------------------------------------------------------
    def register(self, engine, prompts: Iterable[Prompt]) -> List[int]:
        """The engine's ids of these prompts, adding each to that engine once."""
        ids = self._registered.setdefault(engine, {})
        out = []
        for p in prompts:
            pid = ids.get(p.key)
            if pid is None:
                pid = ids[p.key] = engine.add_prompt(p.pcm)
            out.append(pid)
        return out

    # -- the work ------------------------------------------------------------------------
    def _pack(self, lang: str, name: str) -> Pack:
        if lang not in LANGUAGES:
            raise PromptLoadError(f"prompt {name!r}: unknown language {lang!r}; "
                                  f"choose one of: {', '.join(LANGUAGES)}")
        pack = PACKS.get(lang)
        if pack is None:
            raise PromptLoadError(f"prompt {name!r}: there is no recorded {LANGUAGE_NAMES[lang]} pack; "
                                  f"have its text spoken, or give a recording")
        folder = self.sounds / pack.folder
        if not folder.is_dir():
            raise PromptLoadError(f"prompt {name!r} ({lang}): the {LANGUAGE_NAMES[lang]} prompts are not "
                                  f"installed ({folder} is missing); install the Debian package "
                                  f"{pack.package} ({INSTALL})")
        return pack

    def _voice(self, lang: str, name: str) -> Voice:
        try:
            return self.voices[lang]
        except KeyError:
            raise PromptLoadError(f"prompt {name!r}: unknown language {lang!r}; "
                                  f"choose one of: {', '.join(sorted(self.voices))}") from None

    def _index(self, lang: str) -> Dict[str, str]:
        """The pack's words by prompt, from its core-sounds-<lang>.txt when it ships one.

        Debian's packages do not, so text is then known only for what numbers.py names.
        """
        if lang not in self._indexes:
            words = {}
            index = self.sounds / PACKS[lang].folder / f"core-sounds-{lang}.txt"
            try:
                lines = index.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            for line in lines:
                name, sep, text = line.partition(":")
                if sep and not name.startswith(";"):
                    words[name.strip().removesuffix(".wav")] = text.strip()
            self._indexes[lang] = words
        return self._indexes[lang]

    def _from_file(self, kind: str, name: str, lang: str, text: str, path: Path, level: float) -> Prompt:
        try:
            st = path.stat()
        except OSError as e:
            raise PromptLoadError(f"prompt {name!r}: cannot read {path} ({e.strerror})") from None
        key = _digest(kind, str(path), st.st_size, st.st_mtime_ns, level)
        return self._cached(key, kind, name, lang, text, str(path), level, lambda: self._convert(name, path))

    def _cached(self, key: str, kind: str, name: str, lang: str, text: str, source: str, level: float,
                make) -> Prompt:
        prompt = self._loaded.get(key)
        if prompt is not None:
            return prompt
        file = self.cache / f"{kind}-{_slug(name)}-{key}.wav"
        pcm = None
        if file.is_file():
            try:
                pcm = wav.read(str(file)).samples
            except wav.WavError:
                pcm = None          # a damaged cache file is made again
        if pcm is None:
            pcm = make()
            if not len(pcm):
                raise PromptLoadError(f"prompt {name!r}: {source} holds no sound")
            try:
                if active_level(pcm) > SILENCE_DBM0:
                    pcm = at_level(pcm, level)
            except ValueError:
                pass                # too short to measure, or all zeros: kept as it is
            self._store(name, file, pcm)
        pcm = np.asarray(pcm, dtype=np.int16)
        pcm.flags.writeable = False     # shared by every play list and engine it goes to
        prompt = Prompt(name, lang, kind, text, pcm, source, key)
        self._loaded[key] = prompt
        return prompt

    def _store(self, name: str, file: Path, pcm: np.ndarray) -> None:
        # Written beside its final name and renamed, so a box that loses power mid-write
        # never finds half a prompt in its cache.
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=file.parent)
            os.close(fd)
            try:
                wav.write(tmp, pcm)
                os.replace(tmp, file)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as e:
            raise PromptLoadError(f"prompt {name!r}: cannot write the prompt cache {file.parent} "
                                  f"({e.strerror})") from None

    def _convert(self, name: str, path: Path) -> np.ndarray:
        try:
            # Already telephone audio (8 kHz mono; linear, A-law or mu-law), as the packs are:
            # no need for sox.
            return wav.read(str(path)).samples
        except wav.WavError:
            return self._sox(name, path)

    def _tool(self, command: str, package: str, name: str) -> str:
        found = shutil.which(command)
        if found is None:
            raise PromptLoadError(f"prompt {name!r}: {command} is not installed; install the Debian "
                                  f"package {package} ({INSTALL})")
        return found

    def _sox(self, name: str, src: Path) -> np.ndarray:
        sox = self._tool(self.sox, "sox", name)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "8k.wav"
            got = subprocess.run([sox, "-q", str(src), "-r", str(RATE), "-c", "1", "-b", "16",
                                  "-e", "signed-integer", str(out)], capture_output=True)
            if got.returncode != 0 or not out.is_file():
                raise PromptLoadError(f"prompt {name!r}: sox cannot read {src}: {_said(got.stderr)}")
            try:
                return wav.read(str(out)).samples
            except wav.WavError as e:
                raise PromptLoadError(f"prompt {name!r}: sox made no usable audio of {src}: {e}") from None

    def _speak(self, name: str, voice: Voice, text: str) -> np.ndarray:
        espeak = self._tool(self.espeak, "espeak-ng", name)
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "espeak.wav"
            # The text goes in on stdin, so one that starts with "-" is never an option.
            got = subprocess.run([espeak, "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch),
                                  "-b", "1", "-w", str(raw), "--stdin"],
                                 input=text.encode("utf-8"), capture_output=True)
            if got.returncode != 0 or not raw.is_file():
                raise PromptLoadError(f"prompt {name!r}: espeak-ng cannot speak it with voice "
                                      f"{voice.name!r}: {_said(got.stderr)}")
            return self._sox(name, raw)
