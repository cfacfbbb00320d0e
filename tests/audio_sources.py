"""Speech and music for audio-level tests, as 8 kHz 16-bit mono samples.

Speech is espeak-ng reading IVR-style text in English, Russian and Ukrainian with a few
voices; music is Debian's asterisk-moh-opsound-wav (music on hold). Both are converted
with sox and kept in build/test-audio/, keyed by what made them, so a second run reads
files instead of synthesising. A missing tool or package skips the test that asked,
naming what to install (tools/install-deps installs all of them).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from appliance import wav
from appliance.prompts import at_level  # noqa: F401  (the product's level, used by the audio tests)

CACHE = Path(__file__).resolve().parent.parent / "build" / "test-audio"
MOH_PACKAGE = "asterisk-moh-opsound-wav"

# What a contact centre says while a caller waits: prompts, menus, numbers, names.
TEXTS = {
    "en": (
        "Thank you for calling. All of our operators are busy at the moment. Please stay on "
        "the line and your call will be answered in the order it was received. For sales, "
        "press one. For technical support, press two. To check the status of an order, press "
        "three. To hear these options again, press the star key. Your estimated waiting time "
        "is four minutes. You are number seven in the queue. Did you know that you can track "
        "your delivery on our web site, twenty four hours a day, seven days a week? Please "
        "have your account number ready: it is printed in the upper right corner of your "
        "invoice. We are open Monday to Friday from eight in the morning until eight in the "
        "evening, and on Saturday from nine until five."
    ),
    "ru": (
        "Здравствуйте! Вы позвонили в службу поддержки. Все операторы сейчас заняты. "
        "Пожалуйста, оставайтесь на линии, вам обязательно ответят. Чтобы узнать состояние "
        "заказа, нажмите один. Чтобы связаться с бухгалтерией, нажмите два. Для повторного "
        "прослушивания нажмите звёздочку. Ориентировочное время ожидания составляет три "
        "минуты. Ваш номер в очереди: пятый. Напоминаем, что оплатить счёт можно в личном "
        "кабинете на нашем сайте круглосуточно. Мы работаем ежедневно с девяти утра до "
        "девяти вечера, без перерыва на обед и выходных."
    ),
    "uk": (
        "Добрий день! Дякуємо, що зателефонували. Усі оператори зараз зайняті. Будь ласка, "
        "залишайтеся на лінії, і ми відповімо вам якнайшвидше. Щоб дізнатися стан "
        "замовлення, натисніть один. Щоб звернутися до технічної підтримки, натисніть два. "
        "Щоб прослухати меню ще раз, натисніть зірочку. Орієнтовний час очікування становить "
        "чотири хвилини. Ви шостий у черзі. Нагадуємо, що наш сайт працює цілодобово, а "
        "відділ продажу чекає на вас щодня з восьмої ранку до восьмої вечора."
    ),
}

# (voice, words per minute, pitch 0-99): male and female voices, slow and quick, low
# and high, because talk-off depends on the pitch and its harmonics.
VOICES = {
    "en": [("en-us", 165, 45), ("en-gb+f3", 150, 70), ("en-us+f4", 185, 85)],
    "ru": [("ru", 160, 40), ("ru+f2", 150, 75), ("ru+m3", 175, 55)],
    "uk": [("uk", 160, 45), ("uk+f4", 145, 80), ("uk+m2", 180, 30)],
}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (sh tools/install-deps installs it)")
    return path


def _to_telephone_wav(src: Path, dst: Path) -> None:
    """Converts any sound file to 8 kHz 16-bit mono with sox, atomically."""
    sox = _need("sox")
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=dst.parent)
    os.close(fd)
    try:
        subprocess.run([sox, "-q", str(src), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                        tmp], check=True, capture_output=True)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _key(*parts) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:10]


def speech_clips() -> Dict[str, np.ndarray]:
    """Every language in every voice: about five minutes of speech in all."""
    out = {}
    for lang, text in TEXTS.items():
        for voice, speed, pitch in VOICES[lang]:
            name = f"speech-{voice}-{speed}-{pitch}"
            dst = CACHE / f"{name}-{_key(voice, speed, pitch, text)}.wav"
            if not dst.exists():
                espeak = _need("espeak-ng")
                with tempfile.TemporaryDirectory() as tmp:
                    raw = Path(tmp) / "espeak.wav"
                    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw),
                                    text], check=True, capture_output=True)
                    _to_telephone_wav(raw, dst)
            out[name] = wav.read(str(dst)).samples
    return out


def _moh_files() -> list:
    dpkg = shutil.which("dpkg")
    if dpkg is None:
        pytest.skip(f"dpkg is missing, so {MOH_PACKAGE} cannot be found")
    got = subprocess.run([dpkg, "-L", MOH_PACKAGE], capture_output=True, text=True)
    files = sorted(Path(p) for p in got.stdout.split() if p.endswith(".wav")) if got.returncode == 0 else []
    if not files:
        pytest.skip(f"{MOH_PACKAGE} is not installed (sh tools/install-deps installs it)")
    return files


def music_clips() -> Dict[str, np.ndarray]:
    """Every music-on-hold file of the package: about eighteen minutes."""
    out = {}
    for src in _moh_files():
        st = src.stat()
        dst = CACHE / f"moh-{src.stem}-{_key(src.name, st.st_size, int(st.st_mtime))}.wav"
        if not dst.exists():
            _to_telephone_wav(src, dst)
        out[f"moh-{src.stem}"] = wav.read(str(dst)).samples
    return out


def minutes(clips: Dict[str, np.ndarray]) -> float:
    return sum(len(c) for c in clips.values()) / 8000.0 / 60.0
