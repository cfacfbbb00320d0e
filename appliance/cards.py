"""Telephony cards: their profiles, finding them, and the office's lines on their channels.

Rules:
  - A profile (board/profiles/NAME.toml) says what a kind of card has: analog ports,
    each with an FXO module (an exchange line) or an FXS module (an office phone), or
    E1 spans; how the card is known (its PCI ids, the names dahdi_hardware and the
    kernel give it); its echo canceller; on E1, whether the D-channel is `dchan` or
    `hardhdlc`. A bad profile is a ConfigError naming file, line and key.
  - Channels are numbered as DAHDI numbers them on a box with one card: from 1, one
    per analog port; 31 per E1 span, timeslot 16 (the span's channel 16) carrying the
    signalling, never speech.
  - Finding cards only reads: `dahdi_hardware`'s text and the kernel's
    /sys/bus/dahdi_devices tree. parse_hardware() takes text; read_devices() takes the
    tree's root, so tests give both what DAHDI prints.
  - A module the kernel reports on a port wins over the profile's usual fitting, and
    the office's board.modules over both: the installer has the card in hand.
  - check() finds every way the office's lines do not fit the card, each against the
    key of the office's file it comes from.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from appliance.config import (ECHO_CANCELLERS, MAX_BYTES, MODULES, ConfigError, Office, Problem, _Validator,
                              read_file, read_toml)
from appliance.tomlpos import Path, Positions

PROFILES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "board", "profiles")
SYSFS_DEVICES = "/sys/bus/dahdi_devices/devices"
E1_CHANNELS = 31
E1_SIGNALLING_SLOT = 16


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    cards: Tuple[str, ...]          # names dahdi_hardware or the kernel give the card (a prefix)
    pci: Tuple[str, ...]            # vendor:product
    ports: int = 0                  # analog ports, or
    spans: int = 0                  # E1 spans
    modules: Tuple[str, ...] = ()   # each port's usual module
    dchan: str = "dchan"
    echo_canceller: str = "mg2"
    path: str = ""

    @property
    def analog(self) -> bool:
        return self.ports > 0

    @property
    def channels(self) -> int:
        return self.ports or self.spans * E1_CHANNELS

    def span_of(self, channel: int) -> int:
        """The E1 span a channel is on, from 1."""
        return (channel - 1) // E1_CHANNELS + 1

    def is_signalling(self, channel: int) -> bool:
        """Whether an E1 channel is its span's timeslot 16."""
        return not self.analog and (channel - 1) % E1_CHANNELS + 1 == E1_SIGNALLING_SLOT

    def bearers(self, span: int) -> List[int]:
        """The speech channels of an E1 span."""
        base = (span - 1) * E1_CHANNELS
        return [base + ts for ts in range(1, E1_CHANNELS + 1) if ts != E1_SIGNALLING_SLOT]


# -- profiles ------------------------------------------------------------------------

class _ProfileValidator(_Validator):
    def profile(self, doc, name: str) -> Profile:
        t = self.table(doc, (), ["description", "cards", "pci", "ports", "spans", "modules", "dchan",
                                 "echo_canceller"], ["description"])
        ports = self.number(t, (), "ports", int, None, 1, 64) or 0
        spans = self.number(t, (), "spans", int, None, 1, 8) or 0
        if bool(ports) == bool(spans):
            self.bad((), "give exactly one of ports (an analog card) and spans (an E1 card)")
        modules = []
        for i, m in enumerate(self.get(t, (), "modules", list, [])):
            if m not in MODULES:
                self.bad(("modules", i), f"{m!r} is not one of {', '.join(MODULES)}")
            modules.append(m)
        if ports and len(modules) != ports:
            self.bad(("modules",), f"lists {len(modules)} modules for {ports} ports")
        if spans and "modules" in t:
            self.bad(("modules",), "an E1 card has no modules")
        pci = self.strings(t, "pci")
        for i, v in enumerate(pci):
            if not re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", v):
                self.bad(("pci", i), f"{v!r} is not a PCI id such as 'd161:8005'")
        return Profile(name=name, description=self.get(t, (), "description", str, ""),
                       cards=tuple(self.strings(t, "cards")), pci=tuple(pci), ports=ports, spans=spans,
                       modules=tuple(modules), dchan=self.choice(t, (), "dchan", ("dchan", "hardhdlc"), "dchan"),
                       echo_canceller=self.choice(t, (), "echo_canceller", ECHO_CANCELLERS, "mg2"), path=self.file)

    def strings(self, t, key: str) -> List[str]:
        out = []
        for i, v in enumerate(self.get(t, (), key, list, [])):
            if isinstance(v, str) and v.strip():
                out.append(v)
            else:
                self.bad((key, i), f"must be a name in quotes, not {v!r}")
        return out


def parse_profile(data: bytes, path: str) -> Profile:
    doc, text = read_toml(data, path, ConfigError, "a card profile")
    v = _ProfileValidator(path, Positions(text))
    name = os.path.splitext(os.path.basename(path))[0]
    profile = v.profile(doc, name)
    if v.problems:
        raise ConfigError(v.problems)
    return profile


def profile_names(directory: str = PROFILES_DIR) -> List[str]:
    try:
        return sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".toml"))
    except OSError:
        return []


def load_profile(name: str, directory: str = PROFILES_DIR) -> Profile:
    """The profile of that name; a ConfigError if there is none or it is bad."""
    names = profile_names(directory)
    if name not in names:
        raise ConfigError([Problem(directory, 0, "", f"no card profile '{name}' (there are: {', '.join(names)})")])
    path = os.path.join(directory, name + ".toml")
    return parse_profile(read_file(path), path)


def load_profiles(directory: str = PROFILES_DIR) -> List[Profile]:
    return [load_profile(n, directory) for n in profile_names(directory)]


# -- what dahdi_hardware prints ------------------------------------------------------

@dataclass(frozen=True)
class Hardware:
    """One line of dahdi_hardware: where the card is, the driver meant for it and
    whether that driver has it, its PCI or USB id and its name."""
    location: str
    driver: str
    loaded: bool
    id: str
    description: str


_HARDWARE = re.compile(r"^(?P<loc>(?:pci|usb):\S+)\s+(?P<driver>[\w-]*?)(?P<state>[+-])(?:\[T\])?\s+"
                       r"(?P<id>[0-9a-fA-F]{4}:[0-9a-fA-F]{4})\s*(?P<desc>.*?)\s*$")


def parse_hardware(text: str) -> List[Hardware]:
    """The devices in dahdi_hardware's output. Its indented lines (an Astribank's
    modules with -v) and any line that is not a device are passed over."""
    out = []
    for line in text.splitlines():
        m = _HARDWARE.match(line)
        if m:
            out.append(Hardware(location=m["loc"], driver=m["driver"], loaded=m["state"] == "+",
                                id=m["id"].lower(), description=m["desc"]))
    return out


# -- what the kernel shows under /sys/bus/dahdi_devices ------------------------------

@dataclass(frozen=True)
class Span:
    number: int
    name: str
    spantype: str
    basechan: int
    channels: int
    digital: bool
    modules: Tuple[str, ...]    # per channel of an analog span: fxo, fxs or none


@dataclass(frozen=True)
class Device:
    location: str               # the directory's name: pci:0000:04:00.0
    manufacturer: str
    type: str                   # the card's name, with " (VPMADT032)" when it has an echo module
    spans: Tuple[Span, ...]


def module_of(sigcap: str) -> str:
    """The module on an analog port from the signalling it can take: an FXO module
    talks to the exchange as a phone does (FXS signalling), an FXS module feeds a
    phone (FXO signalling); an empty port can take neither."""
    caps = set(sigcap.split())
    if caps & {"FXSKS", "FXSLS"}:
        return "fxo"
    if caps & {"FXOKS", "FXOLS"}:
        return "fxs"
    return "none"


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(4096).strip()
    except OSError:
        return ""


def _int(text: str, default: int = 0) -> int:
    return int(text) if re.fullmatch(r"\d+", text) else default


def read_devices(root: str = SYSFS_DEVICES) -> List[Device]:
    """The DAHDI devices under root: each device's spans (span-N) and each span's
    channels (dahdi!channels!S!P, with their sigcap). No root: no devices."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    out = []
    for name in names:
        d = os.path.join(root, name)
        spans = []
        for s in sorted(os.listdir(d) if os.path.isdir(d) else [], key=lambda n: _int(n[5:])):
            m = re.fullmatch(r"span-(\d+)", s)
            if not m:
                continue
            sd = os.path.join(d, s)
            chans: Dict[int, str] = {}
            for c in os.listdir(sd):
                if c.startswith("dahdi!channels!"):
                    pos = _int(_read(os.path.join(sd, c, "chanpos")))
                    chans[pos] = module_of(_read(os.path.join(sd, c, "sigcap")))
            count = _int(_read(os.path.join(sd, "channels")), len(chans))
            digital = _read(os.path.join(sd, "is_digital")) == "1"
            spans.append(Span(number=int(m.group(1)), name=_read(os.path.join(sd, "name")),
                              spantype=_read(os.path.join(sd, "spantype")),
                              basechan=_int(_read(os.path.join(sd, "basechan"))), channels=count, digital=digital,
                              modules=() if digital else tuple(chans.get(i, "none") for i in range(1, count + 1))))
        out.append(Device(location=name, manufacturer=_read(os.path.join(d, "manufacturer")),
                          type=_read(os.path.join(d, "type")), spans=tuple(spans)))
    return out


# -- putting the two together ----------------------------------------------------------

@dataclass(frozen=True)
class Card:
    """A card found: where, what it is called, the profile that fits it (None: no
    profile does), each analog port's module as the kernel reports it (empty when
    the driver is not loaded), the echo-cancelling module on it, if any."""
    location: str
    name: str
    driver: str = ""
    loaded: bool = False
    profile: Optional[Profile] = None
    modules: Tuple[str, ...] = ()
    echo_module: str = ""
    spans: Tuple[Span, ...] = ()


def _bare(name: str) -> Tuple[str, str]:
    """A card's name without the echo module the driver appends, and that module."""
    m = re.fullmatch(r"(.*?)\s*\((VPM\w+)\)\s*", name)
    return (m.group(1), m.group(2)) if m else (name.strip(), "")


def match_profile(name: str, pci_id: str, profiles: Sequence[Profile]) -> Optional[Profile]:
    """The profile for a card by its PCI id, else by its name."""
    for p in profiles:
        if pci_id and pci_id.lower() in p.pci:
            return p
    bare, _ = _bare(name)
    for p in profiles:
        if any(bare.startswith(c) for c in p.cards):
            return p
    return None


def detect(hardware: Sequence[Hardware], devices: Sequence[Device], profiles: Sequence[Profile]) -> List[Card]:
    """The cards dahdi_hardware and the kernel report, one per location."""
    by_location = {d.location: d for d in devices}
    out = []
    for h in hardware:
        dev = by_location.pop(h.location, None)
        out.append(_card(h.location, dev.type if dev and dev.type else h.description, h.id, dev, profiles,
                         driver=h.driver, loaded=h.loaded))
    for dev in by_location.values():
        out.append(_card(dev.location, dev.type, "", dev, profiles, loaded=True))
    return out


def _card(location: str, name: str, pci_id: str, dev: Optional[Device], profiles, driver: str = "",
          loaded: bool = False) -> Card:
    bare, echo = _bare(name)
    spans = dev.spans if dev else ()
    modules = tuple(m for s in spans if not s.digital for m in s.modules)
    return Card(location=location, name=bare, driver=driver, loaded=loaded,
                profile=match_profile(name, pci_id, profiles), modules=modules, echo_module=echo, spans=spans)


# -- the office's lines on the card ------------------------------------------------------

Issue = Tuple[Path, str]


def modules_for(office: Office, profile: Profile, detected: Sequence[str] = ()) -> Tuple[Tuple[str, ...], List[Issue]]:
    """Each analog port's module: the office's board.modules, else what the kernel
    reported, else the profile's usual fitting."""
    issues: List[Issue] = []
    if not profile.analog:
        if office.board.modules:
            issues.append((("board", "modules"), f"the {profile.name} card is E1: it has no modules"))
        return (), issues
    chosen = tuple(office.board.modules or detected or profile.modules)
    if len(chosen) != profile.ports:
        where = "board.modules lists" if office.board.modules else "the card reports"
        issues.append((("board", "modules"), f"{where} {len(chosen)} modules; the {profile.name} card has "
                                             f"{profile.ports} ports"))
        chosen = profile.modules
    return chosen, issues


def check(office: Office, profile: Profile, modules: Sequence[str]) -> List[Issue]:
    """Every way the office's lines and board settings do not fit the card."""
    issues: List[Issue] = []
    b = office.board
    for i, ln in enumerate(office.lines):
        p: Path = ("line", i, "channel")
        if not 1 <= ln.channel <= profile.channels:
            issues.append((p, f"channel {ln.channel}: the {profile.name} card has channels 1-{profile.channels}"))
            continue
        if profile.analog:
            module = modules[ln.channel - 1]
            if module == "none":
                issues.append((p, f"channel {ln.channel}: port {ln.channel} of the card has no module"))
            elif module != ln.kind:
                has = "an FXS module (it feeds a phone)" if module == "fxs" else "an FXO module (it takes an " \
                                                                                  "exchange line)"
                need = "an FXO module" if ln.kind == "fxo" else "an FXS module"
                issues.append((("line", i, "kind"), f"{ln.kind} on channel {ln.channel}: that port has {has}; "
                                                    f"an {ln.kind} line needs {need}"))
        else:
            if profile.is_signalling(ln.channel):
                issues.append((p, f"channel {ln.channel} is timeslot 16 of E1 span {profile.span_of(ln.channel)}: "
                                  "it carries the signalling, not calls"))
            elif ln.kind != "fxo":
                issues.append((("line", i, "kind"), f"channel {ln.channel} is an E1 timeslot, a line from the "
                                                    "exchange: its kind is fxo, not fxs"))
    if profile.analog and b.spans:
        issues.append((("board", "span"), f"the {profile.name} card is analog: it has no E1 spans"))
    if not profile.analog and len(b.spans) != profile.spans:
        issues.append((("board", "span") if b.spans else ("board",),
                       f"the {profile.name} card has {profile.spans} E1 span{'s' if profile.spans > 1 else ''}: "
                       f"give {'each' if profile.spans > 1 else 'it'} a [[board.span]] with its signalling "
                       f"(pri_cpe, pri_net or mfcr2), {len(b.spans)} given"))
    return issues


def problems(config_path: str, issues: Sequence[Issue]) -> List[Problem]:
    """The issues as the office file's problems, each at the line of its key."""
    try:
        doc_text = read_file(config_path)[:MAX_BYTES].decode("utf-8", errors="replace")
    except ConfigError:
        doc_text = ""
    pos = Positions(doc_text)
    out = []
    for path, message in issues:
        key = ""
        for k in path:
            key += f"[{k}]" if isinstance(k, int) else (f".{k}" if key else str(k))
        out.append(Problem(config_path, pos.line(path), key, message))
    return out


def describe(found: Sequence[Card], known: Sequence[str]) -> str:
    """What `appliance board detect` prints: each card, its profile, what the kernel
    reports of its ports or spans, and the [board] lines that set the office up for it."""
    out: List[str] = []
    for c in found:
        driver = f"driver {c.driver}, {'loaded' if c.loaded else 'not loaded'}" if c.driver else "driver loaded"
        out.append(f"{c.location}  {c.name}  ({driver})")
        if c.profile is None:
            out.append(f"  profile: none fits this card (the box knows: {', '.join(known)})")
        else:
            out.append(f"  profile: {c.profile.name}: {c.profile.description}")
        if c.modules:
            out.append("  ports: " + ", ".join(f"{i} {m}" for i, m in enumerate(c.modules, start=1)))
        for s in c.spans:
            if s.digital:
                last = s.basechan + s.channels - 1
                out.append(f"  span {s.number}: {s.name}, {s.spantype or 'digital'}, channels {s.basechan}-{last}")
        if c.echo_module:
            out.append(f"  echo canceller: the card's {c.echo_module}")
        if c.profile is not None:
            out.append("  for the office's file:")
            out.append("    [board]")
            out.append(f"    profile = \"{c.profile.name}\"")
            if c.modules and tuple(c.modules) != c.profile.modules:
                out.append("    modules = [" + ", ".join(f'"{m}"' for m in c.modules) + "]")
            if c.echo_module:
                out.append("    echo_canceller = \"hardware\"")
        elif not c.loaded:
            out.append("  (its driver is not loaded: the kernel cannot report its ports)")
    return "\n".join(out) + "\n"
