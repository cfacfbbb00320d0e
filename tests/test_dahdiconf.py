"""DAHDI's system.conf from the office's configuration: the exact text for a small
office, and for an office on every card profile a file that Debian's own dahdi_cfg
accepts, with each channel's signalling, law and echo canceller as dahdi_cfg reads them.

What dahdi_cfg checks here. `dahdi_cfg -t` parses the whole file and exits before any
change to the kernel, but it opens /dev/dahdi/ctl first and, without it, stops with
"line 0: Unable to open master device" having read nothing (test_without_the_control_
device_nothing_is_checked shows it). So each run gets an empty file standing in for
/dev/dahdi/ctl, in a mount namespace of its own: the parser then checks every keyword
and `key=value` line, every channel list and range, that no channel is configured twice,
span= (its argument count, timing 0-255, LBO 0-7, framing, coding, crc4), the CAS idle
bits, and that defaultzone= names a zone libtonezone has; -vv prints the spans and
channel map it understood, which the tests compare with the office. The only complaint
left is -v's version query ("Unable to read DAHDI version information", after the
checks, exit status 0). What -t cannot check is the hardware: whether a channel exists
and whether its module takes that signalling (the kernel answers that when the file is
applied); cards.check does that against the profile (tests/test_cards.py)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import cards, config, dahdiconf

HEAD = """[office]
name = "Test Office"
entry = "main"

[menu.main]
keys = { "1" = "hangup" }
"""

DAHDI_CFG = shutil.which("dahdi_cfg") or "/usr/sbin/dahdi_cfg"
# A private /dev holding only an empty dahdi/ctl, then dahdi_cfg in test mode.
STAND_IN = 'mount -t tmpfs tmpfs /dev && mkdir /dev/dahdi && : > /dev/dahdi/ctl && exec "$0" -t -vv -c "$1"'


def line(name, channel, kind="fxo", **extra) -> str:
    more = "".join(f'{k} = "{v}"\n' for k, v in extra.items())
    return f'\n[[line]]\nname = "{name}"\nchannel = {channel}\nkind = "{kind}"\n{more}'


def write_office(tmp_path, body: str) -> Path:
    f = tmp_path / "office.toml"
    f.write_text(HEAD + body, encoding="utf-8")
    return f


def system_conf(tmp_path, profile: str, body: str) -> str:
    f = write_office(tmp_path, body)
    o = config.load(str(f))
    p = cards.load_profile(profile)
    modules, issues = cards.modules_for(o, p)
    issues += cards.check(o, p, modules)
    assert issues == []
    return dahdiconf.generate(o, p, modules, "office.toml")


def dahdi_cfg(path: Path) -> subprocess.CompletedProcess:
    if not os.access(DAHDI_CFG, os.X_OK):
        pytest.skip("dahdi_cfg is not installed (sh tools/install-deps installs it)")
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here to give dahdi_cfg a control device of its own")
    r = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", STAND_IN, DAHDI_CFG, str(path)],
                       capture_output=True, text=True)
    if "unshare:" in r.stderr:
        pytest.skip(f"cannot make a mount namespace here: {r.stderr.strip()}")
    return r


def rejected(r: subprocess.CompletedProcess):
    """The file's lines dahdi_cfg refused, as (line, message)."""
    return [(int(n), m) for n, m in re.findall(r"^line (\d+): (.*)$", r.stderr, re.M)
            if not m.startswith("Unable to read DAHDI version information")]


def channel_map(stdout: str):
    """dahdi_cfg -vv's channel map: channel -> (signalling, law, echo canceller)."""
    return {int(n): (sig, law, ec) for n, sig, law, ec in
            re.findall(r"^Channel (\d+): (.+?) \((Default|Mu-law|A-law)\) \(Echo Canceler: (\S+)\)", stdout, re.M)}


def accepted(tmp_path, text: str) -> str:
    conf = tmp_path / "system.conf"
    conf.write_text(text)
    r = dahdi_cfg(conf)
    assert rejected(r) == [] and r.returncode == 0, r.stderr
    return r.stdout


# -- the exact text ------------------------------------------------------------------

SMALL = (line("line1", 3, plan="ru") + line("line2", 4, plan="ru") + line("desk", 1, kind="fxs", plan="ru"))


def test_a_small_office_on_the_4_port_card(tmp_path):
    assert system_conf(tmp_path, "tdm410", SMALL) == """\
# DAHDI's configuration for Test Office, made by 'appliance board system-conf'
# from office.toml and the card profile tdm410: 4-port analog card, FXO and FXS modules (Digium TDM410P, AEX410, A4A, A4B).
# Do not edit: change the office's configuration and make it again.

# Tone zone: the ring cadence of the office's phones and the tones DAHDI plays itself.
loadzone=ru
defaultzone=ru

# channel 1: desk, an office phone on an FXS module
fxoks=1
# channel 2: an FXS module, no line in the office's configuration
# channel 3: line1, an exchange line on an FXO module
fxsks=3
# channel 4: line2, an exchange line on an FXO module
fxsks=4

alaw=1,3-4
echocanceller=mg2,1,3-4
"""


def test_a_dual_e1_card_with_isdn_and_mfc_r2(tmp_path):
    body = (line("isdn1", 1) + line("isdn2", 2) + line("r2a", 32) + line("r2b", 63 - 1)
            + '\n[board]\nzone = "ru"\n[[board.span]]\nsignalling = "pri_cpe"\n'
              '[[board.span]]\nsignalling = "mfcr2"\ntiming = 0\n')
    assert system_conf(tmp_path, "te220", body).split("defaultzone=ru\n\n")[1] == """\
# span 1: E1, ISDN PRI, user side; clock source, preference 1
span=1,1,0,ccs,hdb3,crc4
bchan=1-15,17-31
dchan=16
# lines: isdn1 (1), isdn2 (2)

# span 2: E1, MFC/R2; never the clock source
span=2,0,0,cas,hdb3
cas=32-46:1101
cas=48-62:1101
# channel 47: timeslot 16, the ABCD signalling bits of the others
# lines: r2a (32), r2b (62)

alaw=1-2,32,62
echocanceller=mg2,1-15,17-46,48-62
"""


def test_channel_lists_as_dahdi_cfg_reads_them():
    assert dahdiconf.channel_list([5, 1, 2, 3, 7, 8]) == "1-3,5,7-8"
    assert dahdiconf.channel_list([4]) == "4"
    assert dahdiconf.channel_list([]) == ""


def test_the_tone_zone_comes_from_board_zone_or_the_lines_plan(tmp_path):
    o = config.load(str(write_office(tmp_path, line("l", 1, plan="us"))))
    assert dahdiconf.zone_of(o) == ("us", [])
    o = config.load(str(write_office(tmp_path, line("l", 1, plan="ua") + '\n[board]\nzone = "ru"\n')))
    assert dahdiconf.zone_of(o) == ("ru", [])
    o = config.load(str(write_office(tmp_path, line("l", 1, plan="ua") + line("m", 2, plan="itu"))))
    zone, issues = dahdiconf.zone_of(o)
    assert zone is None and issues == [(("board",), "missing key 'zone': the lines' tone plans itu, ua have no "
                                                    "DAHDI zone; set board.zone to the zone whose ring cadence "
                                                    "the office's phones should ring with (such as 'ru')")]
    o = config.load(str(write_office(tmp_path, line("l", 1, plan="ru") + line("m", 2, plan="us"))))
    assert "the lines' tone plans ru, us name different zones" in dahdiconf.zone_of(o)[1][0][1]


# -- every profile through dahdi_cfg ----------------------------------------------------

def test_without_the_control_device_nothing_is_checked(tmp_path):
    """Why the runs below give dahdi_cfg a control device: without one it refuses at
    line 0 and never reads the file, so a file full of errors draws one complaint."""
    if os.path.exists("/dev/dahdi/ctl"):
        pytest.skip("this machine has DAHDI loaded")
    if not os.access(DAHDI_CFG, os.X_OK):
        pytest.skip("dahdi_cfg is not installed (sh tools/install-deps installs it)")
    conf = tmp_path / "system.conf"
    conf.write_text("nonsense=1\nfxoks=1\nfxsks=1\n")
    r = subprocess.run([DAHDI_CFG, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 1
    assert re.findall(r"^line (\d+): (.*)$", r.stderr, re.M) == [("0", "Unable to open master device "
                                                                      "'/dev/dahdi/ctl'")]


def test_with_the_stand_in_a_bad_file_is_rejected_line_by_line(tmp_path):
    conf = tmp_path / "system.conf"
    conf.write_text("fxsks=1-2\nfxoks=2\nspan=1,1,0,ccs,hdb5\ncas=3:11x1\ndefaultzone=ua\nnonsense=1\n")
    r = dahdi_cfg(conf)
    assert r.returncode == 1
    got = rejected(r)
    assert [n for n, _ in got] == [2, 3, 4, 5, 6], r.stderr
    assert "already configured" in got[0][1] and "No such tone zone known: ua" in got[3][1]


def test_the_small_office_as_dahdi_cfg_reads_it(tmp_path):
    out = accepted(tmp_path, system_conf(tmp_path, "tdm410", SMALL))
    assert channel_map(out) == {1: ("FXO Kewlstart", "A-law", "mg2"), 3: ("FXS Kewlstart", "A-law", "mg2"),
                                4: ("FXS Kewlstart", "A-law", "mg2")}
    assert "3 channels to configure." in out


def test_an_8_port_card_with_mu_law_and_oslec(tmp_path):
    body = ("".join(line(f"line{c}", c, plan="us", law="ulaw") for c in range(1, 5))
            + "".join(line(f"desk{c}", c, kind="fxs", plan="us") for c in range(5, 8))
            + '\n[board]\nprofile = "tdm800"\necho_canceller = "oslec"\n')
    text = system_conf(tmp_path, "tdm800", body)
    assert "loadzone=us\n" in text and "alaw=5-7\nmulaw=1-4\n" in text
    got = channel_map(accepted(tmp_path, text))
    assert got == {**{c: ("FXS Kewlstart", "Mu-law", "oslec") for c in range(1, 5)},
                   **{c: ("FXO Kewlstart", "A-law", "oslec") for c in range(5, 8)}}


def test_a_24_port_card_with_its_own_modules_and_a_hardware_canceller(tmp_path):
    modules = ["fxo"] * 8 + ["none"] * 4 + ["fxs"] * 12
    body = ("".join(line(f"line{c}", c, plan="ua") for c in range(1, 9))
            + "".join(line(f"desk{c}", c, kind="fxs", plan="ua") for c in range(13, 25))
            + '\n[board]\nzone = "ru"\necho_canceller = "hardware"\nmodules = ['
            + ", ".join(f'"{m}"' for m in modules) + "]\n")
    text = system_conf(tmp_path, "tdm2400", body)
    assert "echocanceller" not in text and "# channel 9: no module, no line" in text
    got = channel_map(accepted(tmp_path, text))
    assert got == {**{c: ("FXS Kewlstart", "A-law", "none") for c in range(1, 9)},
                   **{c: ("FXO Kewlstart", "A-law", "none") for c in range(13, 25)}}


def test_a_single_e1_with_isdn(tmp_path):
    body = ("".join(line(f"isdn{c}", c) for c in (1, 2, 17, 31))
            + '\n[board]\nzone = "ru"\n[[board.span]]\nsignalling = "pri_cpe"\n')
    out = accepted(tmp_path, system_conf(tmp_path, "te110", body))
    assert "SPAN 1: CCS/HDB3 Build-out: 0 db (CSU)/0-133 feet (DSX-1)" in out
    got = channel_map(out)
    assert got[16][0] == "D-channel"
    assert {c: v for c, v in got.items() if c != 16} == {c: ("Clear channel", "A-law" if c in (1, 2, 17, 31)
                                                             else "Default", "mg2")
                                                         for c in range(1, 32) if c != 16}


def test_a_dual_e1_as_dahdi_cfg_reads_it(tmp_path):
    body = (line("isdn1", 1) + line("r2a", 32)
            + '\n[board]\nzone = "ru"\n[[board.span]]\nsignalling = "pri_net"\ncrc4 = false\n'
              '[[board.span]]\nsignalling = "mfcr2"\nlbo = 0\ncoding = "hdb3"\n')
    out = accepted(tmp_path, system_conf(tmp_path, "te220", body))
    assert "SPAN 1: CCS/HDB3" in out and "SPAN 2: CAS/HDB3" in out
    got = channel_map(out)
    assert got[16][0] == "D-channel" and 47 not in got
    assert {got[c][0] for c in range(32, 63) if c != 47} == {"CAS / User"}
    assert len(got) == 61


def test_hardhdlc_where_the_profile_says(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "e1hdlc.toml").write_text('description = "E1, HDLC on the card"\nspans = 1\n'
                                                       'dchan = "hardhdlc"\n')
    p = cards.load_profile("e1hdlc", str(tmp_path / "profiles"))
    o = config.load(str(write_office(tmp_path, line("isdn1", 1) + '\n[board]\nzone = "de"\n'
                                                                  '[[board.span]]\nsignalling = "pri_cpe"\n')))
    text = dahdiconf.generate(o, p, (), "office.toml")
    assert "hardhdlc=16\n" in text
    assert channel_map(accepted(tmp_path, text))[16][0] == "Hardware assisted D-channel"


# -- on the command line ---------------------------------------------------------------

def appliance(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", "board", "system-conf", *args],
                          capture_output=True, text=True)


def test_system_conf_printed_and_written_whole(tmp_path):
    f = write_office(tmp_path, SMALL + '\n[board]\nprofile = "tdm410"\n')
    r = appliance("--config", str(f))
    assert r.returncode == 0, r.stderr
    assert "fxoks=1\n" in r.stdout and f"from {f} and the card profile tdm410" in r.stdout
    out = tmp_path / "etc" / "system.conf"
    out.parent.mkdir()
    out.write_text("an installer's old file\n")
    assert appliance("--config", str(f), "--out", str(out)).returncode == 0
    assert out.read_text() == r.stdout
    assert sorted(os.listdir(out.parent)) == ["system.conf"]
    r = appliance("--config", str(f), "--out", str(tmp_path / "nowhere" / "system.conf"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"appliance board system-conf: --out {tmp_path / 'nowhere' / 'system.conf'}: ")


def test_lines_that_do_not_fit_are_listed_at_their_keys(tmp_path):
    f = write_office(tmp_path, SMALL + line("line9", 9, plan="ru"))
    r = appliance("--config", str(f), "--profile", "tdm410")
    assert r.returncode == 2
    assert r.stderr == (f"{f}:28: line[3].channel: channel 9: the tdm410 card has channels 1-4\n"
                        f"appliance board system-conf: {f} does not fit the tdm410 card\n")
    r = appliance("--config", str(f), "--profile", "tdm800")
    assert r.stderr.splitlines()[:2] == [
        f"{f}:23: line[2].kind: fxs on channel 1: that port has an FXO module (it takes an exchange line); "
        "an fxs line needs an FXS module",
        f"{f}:28: line[3].channel: channel 9: the tdm800 card has channels 1-8"]


def test_no_profile_no_zone_and_a_bad_file(tmp_path):
    f = write_office(tmp_path, line("l", 3, plan="ua"))
    r = appliance("--config", str(f))
    assert r.returncode == 2 and "no card profile: give --profile NAME or set board.profile" in r.stderr
    r = appliance("--config", str(f), "--profile", "tdm410")
    assert r.returncode == 2
    assert r.stderr.startswith(f"{f}: board: missing key 'zone': the lines' tone plan ua has no DAHDI zone")
    r = appliance("--config", str(f), "--profile", "nosuch")
    assert r.returncode == 2 and "no card profile 'nosuch'" in r.stderr
    f.write_text(HEAD + line("l", 1) + '\n[board]\nzone = "ua"\n')
    r = appliance("--config", str(f), "--profile", "tdm410")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{f}:14: board.zone: 'ua' is not one of DAHDI's tone zones (DAHDI has no zone for Ukraine" in r.stderr
