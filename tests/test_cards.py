"""Cards: the profiles load and are checked like the office's file; dahdi_hardware's text
and the kernel's /sys/bus/dahdi_devices tree (made here as DAHDI lays them out and
prints their attributes) are read into cards with their profiles and modules; the
office's lines are checked against the card's channels and modules."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appliance import cards, config

HEAD = """[office]
name = "Test Office"
entry = "main"

[menu.main]
keys = { "1" = "hangup" }
"""

# dahdi_hardware on a box with a TDM410P, a TE220 whose driver is not loaded, an
# Astribank (with -v, its modules indented below it) and a card no profile knows.
HARDWARE = """\
pci:0000:04:00.0     wctdm24xxp+  d161:8005 Wildcard TDM410P
pci:0000:05:00.0     wct4xxp-     d161:1220 Wildcard TE220 (5th Gen)
usb:001/002          xpp_usb+     e4e4:1152 Astribank-multi FPGA-firmware
 LABEL=[usb:123]             CONNECTOR=usb-0000:00:1d.7-1
	XBUS-00/XPD-00: FXS      (8)   Span 2
pci:0000:06:00.0     wcb4xxp+     d161:b410 Digium Wildcard B410P
"""

# What sigcap shows for each kind of port (dahdi-sysfs-chan.c lists the signalling
# types a channel can take, in its fixed order, by sigstr's names).
SIGCAP_FXS_MODULE = "FXOLS FXOGS FXOKS E&M Clear SF (ToneOnly)"
SIGCAP_FXO_MODULE = "FXSLS FXSKS Clear SF (ToneOnly)"
SIGCAP_E1 = "FXSLS FXSGS FXSKS FXOLS FXOGS FXOKS E&M Clear SF (ToneOnly) CAS E&M-E1 DACS+RBS"


def write_device(root: Path, name: str, attrs: dict, spans: list) -> None:
    """One device as the kernel shows it: its attributes, span-N under it, and the
    span's channels (dahdi!channels!SPAN!POS) under that."""
    d = root / name
    d.mkdir(parents=True)
    for k, v in attrs.items():
        (d / k).write_text(v + "\n")
    for s in spans:
        sd = d / f"span-{s['number']}"
        sd.mkdir()
        for k in ("name", "desc", "spantype", "basechan", "channels", "is_digital"):
            (sd / k).write_text(f"{s[k]}\n")
        for pos, sigcap in enumerate(s["sigcaps"], start=1):
            cd = sd / f"dahdi!channels!{s['number']}!{pos}"
            cd.mkdir()
            (cd / "channo").write_text(f"{s['basechan'] + pos - 1}\n")
            (cd / "chanpos").write_text(f"{pos}\n")
            (cd / "sigcap").write_text(sigcap + "\n")


@pytest.fixture
def sysfs(tmp_path):
    """The TDM410P (with its echo module) with FXS modules on ports 1 and 4, FXO on 2,
    port 3 empty; and a TE121 of one E1 span that dahdi_hardware did not list."""
    root = tmp_path / "dahdi_devices"
    write_device(root, "pci:0000:04:00.0",
                 {"manufacturer": "Digium", "type": "Wildcard TDM410P (VPMADT032)", "span_count": "1",
                  "hardware_id": "", "location": "PCI Bus 04 Slot 01", "spantype": "1:ANALOG_MIXED"},
                 [{"number": 1, "name": "WCTDM/0", "desc": "Wildcard TDM410P", "spantype": "ANALOG_MIXED",
                   "basechan": 1, "channels": 4, "is_digital": 0,
                   "sigcaps": [SIGCAP_FXS_MODULE, SIGCAP_FXO_MODULE, "", SIGCAP_FXS_MODULE]}])
    write_device(root, "pci:0000:07:00.0",
                 {"manufacturer": "Digium", "type": "Wildcard TE121", "span_count": "1", "hardware_id": "",
                  "location": "PCI Bus 07 Slot 02", "spantype": "1:E1"},
                 [{"number": 2, "name": "WCT1/0", "desc": "Wildcard TE121 Card 0", "spantype": "E1",
                   "basechan": 5, "channels": 31, "is_digital": 1, "sigcaps": [SIGCAP_E1] * 31}])
    return root


def office(tmp_path, lines: str, board: str = "") -> config.Office:
    f = tmp_path / "office.toml"
    f.write_text(HEAD + lines + board, encoding="utf-8")
    return config.load(str(f))


# -- profiles ------------------------------------------------------------------------

def test_every_profile_loads_with_its_channels():
    got = {p.name: (p.ports, p.spans, p.channels, p.modules.count("fxo"), p.modules.count("fxs"))
           for p in cards.load_profiles()}
    assert got == {"tdm410": (4, 0, 4, 2, 2), "tdm800": (8, 0, 8, 4, 4), "tdm2400": (24, 0, 24, 12, 12),
                   "te110": (0, 1, 31, 0, 0), "te220": (0, 2, 62, 0, 0)}


def test_e1_channels_speech_and_signalling():
    te220 = cards.load_profile("te220")
    assert te220.bearers(1) == list(range(1, 16)) + list(range(17, 32))
    assert te220.bearers(2) == list(range(32, 47)) + list(range(48, 63))
    assert [c for c in range(1, 63) if te220.is_signalling(c)] == [16, 47]
    assert (te220.span_of(31), te220.span_of(32)) == (1, 2)


def test_a_broken_profile_names_file_line_and_key(tmp_path):
    (tmp_path / "odd.toml").write_text('description = "odd"\nports = 2\nspans = 1\n'
                                       'modules = ["fxo", "fsx", "fxs"]\npci = ["d161-8005"]\n')
    with pytest.raises(config.ConfigError) as e:
        cards.load_profile("odd", str(tmp_path))
    said = [str(p) for p in e.value.problems]
    f = tmp_path / "odd.toml"
    assert f"{f}: give exactly one of ports (an analog card) and spans (an E1 card)" in said
    assert f"{f}:4: modules[1]: 'fsx' is not one of fxo, fxs, none" in said
    assert f"{f}:4: modules: lists 3 modules for 2 ports" in said
    assert f"{f}:5: pci[0]: 'd161-8005' is not a PCI id such as 'd161:8005'" in said


def test_an_unknown_profile_lists_those_there_are():
    with pytest.raises(config.ConfigError) as e:
        cards.load_profile("tdm9000")
    assert "no card profile 'tdm9000' (there are: tdm2400, tdm410, tdm800, te110, te220)" in str(e.value)


# -- finding the cards -----------------------------------------------------------------

def test_dahdi_hardware_lines_become_devices():
    got = cards.parse_hardware(HARDWARE)
    assert got == [
        cards.Hardware("pci:0000:04:00.0", "wctdm24xxp", True, "d161:8005", "Wildcard TDM410P"),
        cards.Hardware("pci:0000:05:00.0", "wct4xxp", False, "d161:1220", "Wildcard TE220 (5th Gen)"),
        cards.Hardware("usb:001/002", "xpp_usb", True, "e4e4:1152", "Astribank-multi FPGA-firmware"),
        cards.Hardware("pci:0000:06:00.0", "wcb4xxp", True, "d161:b410", "Digium Wildcard B410P"),
    ]
    assert cards.parse_hardware("") == []


@pytest.mark.parametrize("sigcap,module", [(SIGCAP_FXS_MODULE, "fxs"), (SIGCAP_FXO_MODULE, "fxo"), ("", "none"),
                                           ("FXSLS FXSKS SF (ToneOnly)", "fxo")])
def test_a_ports_module_from_the_signalling_it_takes(sigcap, module):
    assert cards.module_of(sigcap) == module


def test_the_kernels_tree_gives_spans_and_each_ports_module(sysfs):
    tdm, te = cards.read_devices(str(sysfs))
    assert (tdm.location, tdm.manufacturer, tdm.type) == ("pci:0000:04:00.0", "Digium", "Wildcard TDM410P (VPMADT032)")
    assert tdm.spans == (cards.Span(1, "WCTDM/0", "ANALOG_MIXED", 1, 4, False, ("fxs", "fxo", "none", "fxs")),)
    assert te.spans == (cards.Span(2, "WCT1/0", "E1", 5, 31, True, ()),)
    assert cards.read_devices(str(sysfs / "absent")) == []


def test_detect_joins_both_reports_and_picks_profiles(sysfs):
    found = cards.detect(cards.parse_hardware(HARDWARE), cards.read_devices(str(sysfs)), cards.load_profiles())
    by = {c.location: c for c in found}
    tdm = by["pci:0000:04:00.0"]
    assert (tdm.name, tdm.profile.name, tdm.modules, tdm.echo_module, tdm.loaded) == \
        ("Wildcard TDM410P", "tdm410", ("fxs", "fxo", "none", "fxs"), "VPMADT032", True)
    te220 = by["pci:0000:05:00.0"]
    assert (te220.profile.name, te220.loaded, te220.modules) == ("te220", False, ())
    assert by["usb:001/002"].profile is None and by["pci:0000:06:00.0"].profile is None
    te121 = by["pci:0000:07:00.0"]
    assert (te121.name, te121.profile.name, te121.driver) == ("Wildcard TE121", "te110", "")


def test_profiles_by_name_when_the_pci_id_is_shared():
    profiles = cards.load_profiles()
    # The TE110P shares e159:0001 with the TDM400P: only its name tells.
    assert cards.match_profile("Digium Wildcard TE110P T1/E1 Board", "e159:0001", profiles).name == "te110"
    assert cards.match_profile("Wildcard AEX800 (VPMADT032)", "", profiles).name == "tdm800"
    assert cards.match_profile("Wildcard TDM400P REV E/F", "e159:0001", profiles) is None


def test_the_detect_report(sysfs):
    found = cards.detect(cards.parse_hardware(HARDWARE.splitlines()[0]), cards.read_devices(str(sysfs)),
                         cards.load_profiles())
    assert cards.describe(found[:1], ["tdm410"]) == """\
pci:0000:04:00.0  Wildcard TDM410P  (driver wctdm24xxp, loaded)
  profile: tdm410: 4-port analog card, FXO and FXS modules (Digium TDM410P, AEX410, A4A, A4B)
  ports: 1 fxs, 2 fxo, 3 none, 4 fxs
  echo canceller: the card's VPMADT032
  for the office's file:
    [board]
    profile = "tdm410"
    modules = ["fxs", "fxo", "none", "fxs"]
    echo_canceller = "hardware"
"""
    e1 = cards.describe(found[1:], ["te110"])
    assert "  span 2: WCT1/0, E1, channels 5-35\n" in e1 and 'profile = "te110"' in e1


def test_board_detect_on_the_command_line(sysfs, tmp_path):
    hw = tmp_path / "hardware.txt"
    hw.write_text(HARDWARE)
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "board", "detect", "--sysfs", str(sysfs),
                        "--hardware", str(hw)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\npci:") + r.stdout.startswith("pci:") == 4
    assert "profile: none fits this card" in r.stdout
    hw.write_text("")
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "board", "detect", "--sysfs", str(tmp_path / "no"),
                        "--hardware", str(hw)], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr == f"appliance board detect: no DAHDI card found: dahdi_hardware lists none and " \
                       f"{tmp_path / 'no'} has no device\n"


# -- the office's lines on the card ------------------------------------------------------

LINES = """
[[line]]
name = "line1"
channel = 1

[[line]]
name = "desk"
channel = 2
kind = "fxs"
"""


def test_modules_come_from_the_office_then_the_card_then_the_profile(tmp_path):
    tdm410 = cards.load_profile("tdm410")
    plain = office(tmp_path, LINES)
    assert cards.modules_for(plain, tdm410) == (("fxs", "fxs", "fxo", "fxo"), [])
    assert cards.modules_for(plain, tdm410, ("fxo", "fxs", "none", "none")) == (("fxo", "fxs", "none", "none"), [])
    told = office(tmp_path, LINES, '\n[board]\nmodules = ["fxo", "fxs", "fxs", "fxs"]\n')
    assert cards.modules_for(told, tdm410, ("fxo", "fxs", "none", "none")) == (("fxo", "fxs", "fxs", "fxs"), [])
    short = office(tmp_path, LINES, '\n[board]\nmodules = ["fxo", "fxs"]\n')
    assert cards.modules_for(short, tdm410)[1] == [(("board", "modules"),
                                                   "board.modules lists 2 modules; the tdm410 card has 4 ports")]


def test_lines_that_fit_the_card_raise_nothing(tmp_path):
    o = office(tmp_path, LINES)
    assert cards.check(o, cards.load_profile("tdm410"), ("fxo", "fxs", "fxs", "fxs")) == []


def test_a_line_on_a_channel_the_card_does_not_have(tmp_path):
    o = office(tmp_path, LINES.replace("channel = 2", "channel = 5"))
    assert cards.check(o, cards.load_profile("tdm410"), ("fxo", "fxs", "fxs", "fxs")) == [
        (("line", 1, "channel"), "channel 5: the tdm410 card has channels 1-4")]


def test_an_exchange_line_on_a_phone_port_and_a_phone_on_a_line_port(tmp_path):
    o = office(tmp_path, LINES)
    assert cards.check(o, cards.load_profile("tdm410"), ("fxs", "fxo", "fxs", "none")) == [
        (("line", 0, "kind"), "fxo on channel 1: that port has an FXS module (it feeds a phone); "
                              "an fxo line needs an FXO module"),
        (("line", 1, "kind"), "fxs on channel 2: that port has an FXO module (it takes an exchange line); "
                              "an fxs line needs an FXS module")]
    assert cards.check(o, cards.load_profile("tdm410"), ("fxo", "none", "fxs", "fxs")) == [
        (("line", 1, "channel"), "channel 2: port 2 of the card has no module")]


def test_e1_lines_are_exchange_lines_off_timeslot_16(tmp_path):
    o = office(tmp_path, LINES.replace("channel = 1", "channel = 16"),
               '\n[board]\n[[board.span]]\nsignalling = "pri_cpe"\n')
    assert cards.check(o, cards.load_profile("te110"), ()) == [
        (("line", 0, "channel"), "channel 16 is timeslot 16 of E1 span 1: it carries the signalling, not calls"),
        (("line", 1, "kind"), "channel 2 is an E1 timeslot, a line from the exchange: its kind is fxo, not fxs")]


def test_e1_spans_must_match_the_card(tmp_path):
    lines = LINES.replace('kind = "fxs"', "")
    te220 = cards.load_profile("te220")
    assert cards.check(office(tmp_path, lines), te220, ()) == [
        (("board",), "the te220 card has 2 E1 spans: give each a [[board.span]] with its signalling "
                     "(pri_cpe, pri_net or mfcr2), 0 given")]
    one = office(tmp_path, lines, '\n[board]\n[[board.span]]\nsignalling = "mfcr2"\n')
    assert cards.check(one, te220, ())[0][0] == ("board", "span")
    assert cards.check(one, cards.load_profile("tdm410"), ("fxo", "fxo", "fxs", "fxs")) == [
        (("board", "span"), "the tdm410 card is analog: it has no E1 spans")]
    assert cards.modules_for(office(tmp_path, lines, '\n[board]\nmodules = ["fxo"]\n'), te220)[1] == [
        (("board", "modules"), "the te220 card is E1: it has no modules")]


def test_issues_become_the_office_files_problems(tmp_path):
    o = office(tmp_path, LINES.replace("channel = 2", "channel = 9"))
    issues = cards.check(o, cards.load_profile("tdm410"), ("fxo", "fxs", "fxs", "fxs"))
    f = tmp_path / "office.toml"
    assert [str(p) for p in cards.problems(str(f), issues)] == [
        f"{f}:14: line[1].channel: channel 9: the tdm410 card has channels 1-4"]
