"""The `appliance` command.

Rules: a user sees a clear message and an exit status, never a traceback: every
expected failure is caught here and said in one line on stderr.
"""
from __future__ import annotations

import argparse
import sys

from appliance import __version__


def _dtmf_scan(args) -> int:
    from appliance import scan, wav

    try:
        recording = wav.read(args.file)
        for d in scan.scan(recording, plan=args.plan):
            print(d, flush=True)
    except wav.WavError as e:
        print(f"appliance dtmf-scan: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"appliance dtmf-scan: {args.file}: {e}", file=sys.stderr)
        return 1
    return 0


def _check_config(args) -> int:
    from appliance import config

    try:
        office = config.load(args.file)
    except config.ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        n = len(e.problems)
        print(f"appliance check-config: {n} problem{'s' if n != 1 else ''}", file=sys.stderr)
        return 1
    print(config.describe(office))
    return 0


def _run(args) -> int:
    from appliance import box

    try:
        if args.board == "dahdi" and args.fast:
            print("appliance run: --fast is for the simulated board: DAHDI's cards keep their own time",
                  file=sys.stderr)
            return 2
        return box.run(args.config, args.log, args.seconds, paced=not args.fast, control_path=args.control,
                       board=args.board, dahdi_dev=args.dahdi_dev)
    except box.BoxError as e:
        print(f"appliance run: {e}", file=sys.stderr)
        return 1


def _simulate(args) -> int:
    from appliance import calllog, config, prompts, simulate, staffing, traffic

    try:
        if args.traffic_from_db is None:
            for option in ("agents", "target", "queue", "first", "last", "adjust"):
                if getattr(args, option) is not None:
                    print(f"appliance simulate: --{option.replace('first', 'from').replace('last', 'to')} "
                          "goes with --traffic-from-db", file=sys.stderr)
                    return 2
            week = None
        else:
            week = dict(db=args.traffic_from_db, queue=args.queue, first=args.first, last=args.last,
                        agents=args.agents, target=args.target, model=args.model, over=args.over,
                        adjust=args.adjust)
        return simulate.run(args.config, args.traffic, args.out, seed=args.seed, db_path=args.db, week=week)
    except (staffing.StaffingError, calllog.CallLogError) as e:
        print(f"appliance simulate: {e}", file=sys.stderr)
        return 2
    except (config.ConfigError, traffic.TrafficError) as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        n = len(e.problems)
        print(f"appliance simulate: {n} problem{'s' if n != 1 else ''}", file=sys.stderr)
        return 1
    except (calllog.CallLogError, prompts.PromptLoadError, simulate.SimulateError) as e:
        print(f"appliance simulate: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"appliance simulate: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1


def _export(args) -> int:
    from appliance import calllog, config, export, visits

    def refuse(message: str) -> int:
        print(f"appliance export: {message}", file=sys.stderr)
        return 2

    site = export.Site()
    if args.config:
        try:
            site = export.site_of(config.load(args.config))
        except config.ConfigError as e:
            for p in e.problems:
                print(p, file=sys.stderr)
            return refuse(f"{args.config}: {len(e.problems)} problem{'s' if len(e.problems) != 1 else ''}")
    try:
        start, end = export.period(args.start, args.end, site.timezone)
        calls = list(visits.read(args.db, start, end))
        if args.format == "queue_log":
            lines = export.queue_log(calls, visits.agent_events(args.db, end), site, start)
        else:
            lines = export.cdr_csv(calls, site)
    except (export.ExportError, calllog.CallLogError) as e:
        return refuse(str(e))
    text = "".join(line + "\n" for line in lines)
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))     # caller names in any script, whatever the locale
        sys.stdout.buffer.flush()
        return 0
    try:
        with open(args.out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as e:
        return refuse(f"--out {args.out}: {e.strerror or e}")
    return 0

def _staffing(args) -> int:
    from appliance import calllog, config, staffing

    try:
        return staffing.run(args.db, args.target, model=args.model, queue=args.queue, first=args.first,
                            last=args.last, config_path=args.config, over=args.over)
    except config.ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    except (staffing.StaffingError, calllog.CallLogError) as e:
        print(f"appliance staffing: {e}", file=sys.stderr)
        return 2


def _report(args) -> int:
    import datetime as dt
    from appliance import calllog, config, report, report_text

    def bad(message: str) -> int:
        print(f"appliance report: {message}", file=sys.stderr)
        return 2

    office = None
    if args.config:
        try:
            office = config.load(args.config)
        except config.ConfigError as e:
            for p in e.problems:
                print(p, file=sys.stderr)
            return bad(f"{args.config}: not a configuration the box can use")
    days = {}
    for opt, value in (("--from", args.start), ("--to", args.end)):
        if value is None:
            continue
        try:
            days[opt] = dt.date.fromisoformat(value)
        except ValueError:
            return bad(f"{opt} {value!r}: not a date; write it YYYY-MM-DD")
    if "--from" in days and "--to" in days and days["--to"] < days["--from"]:
        return bad(f"--to {args.end} is before --from {args.start}")
    for opt, value in (("--sl", args.sl), ("--short-abandon", args.short_abandon)):
        if value is not None and not 0 <= value <= 86400:
            return bad(f"{opt} {value:g}: seconds from 0 to 86400")
    if args.queue and office is not None and args.queue not in office.queues:
        return bad(f"--queue {args.queue!r}: {args.config} has no such queue "
                   f"(it has: {', '.join(sorted(office.queues)) or 'none'})")
    tz = report.zone_of(office)
    start = report.day_start(days["--from"], tz) if "--from" in days else None
    end = report.day_start(days["--to"] + dt.timedelta(days=1), tz) if "--to" in days else None
    if args.format == "html":
        try:
            from appliance.report_html import render_html
        except ImportError:
            return bad("--format html: not available yet in this firmware; use text or csv")
    try:
        r = report.build(args.db, start, end, queue=args.queue, by=args.by, sl_s=args.sl,
                         short_abandon_s=args.short_abandon, office=office)
    except calllog.CallLogError as e:
        return bad(str(e))
    if args.format == "csv":
        data = report_text.render_csv(r)
    elif args.format == "html":
        data = render_html(r).encode("utf-8")
    else:
        data = report_text.render_text(r).encode("utf-8")
    try:
        if args.out:
            with open(args.out, "wb") as f:
                f.write(data)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
    except OSError as e:
        return bad(f"{args.out or 'stdout'}: {e.strerror or e}")
    return 0


def _board_detect(args) -> int:
    import shutil
    import subprocess
    from appliance import cards, config

    def bad(message: str, status: int = 2) -> int:
        print(f"appliance board detect: {message}", file=sys.stderr)
        return status

    if args.hardware is not None:
        try:
            with open(args.hardware, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            return bad(f"--hardware {args.hardware}: {e.strerror or e}")
    elif shutil.which("dahdi_hardware"):
        try:
            text = subprocess.run(["dahdi_hardware"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired) as e:
            return bad(f"dahdi_hardware: {e}", 1)
    else:
        text = ""
    try:
        profiles = cards.load_profiles()
    except config.ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return bad("a card profile is not usable", 1)
    found = cards.detect(cards.parse_hardware(text), cards.read_devices(args.sysfs), profiles)
    if not found:
        return bad(f"no DAHDI card found: dahdi_hardware lists none and {args.sysfs} has no device", 1)
    sys.stdout.write(cards.describe(found, [p.name for p in profiles]))
    return 0


def _board_system_conf(args) -> int:
    from appliance import cards, config, dahdiconf

    def bad(message: str, status: int = 2) -> int:
        print(f"appliance board system-conf: {message}", file=sys.stderr)
        return status

    try:
        office = config.load(args.config)
    except config.ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return bad(f"{args.config}: not a configuration the box can use")
    name = args.profile or office.board.profile
    if not name:
        return bad(f"no card profile: give --profile NAME or set board.profile in {args.config} "
                   "('appliance board detect' names the card's)")
    try:
        profile = cards.load_profile(name)
    except config.ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return bad(f"card profile '{name}' is not usable")
    modules, issues = cards.modules_for(office, profile)
    issues += cards.check(office, profile, modules)
    try:
        text = None if issues else dahdiconf.generate(office, profile, modules, args.config)
    except dahdiconf.SystemConfError as e:
        issues = e.issues
    if issues:
        for p in cards.problems(args.config, issues):
            print(p, file=sys.stderr)
        return bad(f"{args.config} does not fit the {profile.name} card")
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
        return 0
    try:
        dahdiconf.write(args.out, text)
    except OSError as e:
        return bad(f"--out {args.out}: {e.strerror or e}", 1)
    return 0


def _demo(args) -> int:
    from appliance import demo

    demo.run(paced=not args.fast, out=sys.stdout)
    return 0


BAUDS = (115200, 57600, 38400, 19200, 9600, 4800, 2400, 1200)


def _console(args) -> int:
    from pathlib import Path
    from appliance import control as control_, login, serialconsole

    def bad(message: str) -> int:
        print(f"appliance console: {message}", file=sys.stderr)
        return 2

    if args.baud not in BAUDS:
        return bad(f"--baud {args.baud}: not a serial speed; one of {', '.join(map(str, BAUDS))}")
    if args.idle < 0:
        return bad(f"--idle {args.idle:g}: minutes, 0 for never")
    where = args.control or control_.default_path()
    if where is None:
        return bad("no place for the box's control socket here (no /run/appliance, no XDG_RUNTIME_DIR): "
                   "give --control PATH as the box was given it")
    control = Path(where)
    passwd = Path(args.password_file) if args.password_file else login.default_path()
    try:
        if args.local:
            return serialconsole.serve_local(control, passwd, args.idle, dumb=args.dumb)
        return serialconsole.serve_port(args.port, args.baud, control, passwd, args.idle, dumb=args.dumb)
    except serialconsole.PortError as e:
        return bad(str(e))


def report_by():
    from appliance.report import BY
    return BY


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="appliance", description="Small-office call-center box.")
    parser.add_argument("--version", action="version", version=f"appliance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("dtmf-scan", help="list the DTMF digits in a WAV recording",
                       description="Feed a WAV file (8 kHz mono; 16-bit linear, A-law or mu-law) through a "
                                   "simulated line into the engine and print '<digit> <start_ms> <duration_ms>' "
                                   "for each digit detected.")
    p.add_argument("file")
    p.add_argument("--plan", default="itu", help="tone plan of the line (itu, ru, ua, us)")
    p.set_defaults(func=_dtmf_scan)

    p = sub.add_parser("check-config", help="check an office's configuration file",
                       description="Read a configuration file and list every problem in it as "
                                   "'file:line: key: message'; exit 1 if there is any, 0 if none.")
    p.add_argument("file")
    p.set_defaults(func=_check_config)

    p = sub.add_parser("run", help="run the box: on the telephony cards, or on the simulated board for test calls",
                       description="Run an office (the bundled demo office unless --config is given) on the "
                                   "simulated board, or with --board dahdi on the cards' DAHDI channels its lines "
                                   "name. The installer's console reads commands from standard input "
                                   "and serves console sessions on a Unix socket: type 'help' or ?.")
    p.add_argument("--config", help="the office's TOML file (default: the demo office)")
    p.add_argument("--board", choices=["sim", "dahdi"], default="sim",
                   help="the board: sim (the simulated one, with test callers) or dahdi (the cards)")
    p.add_argument("--dahdi-dev", default="/dev/dahdi", metavar="DIR", help="DAHDI's device folder (default /dev/dahdi)")
    p.add_argument("--log", help="the call log's file (default: $STATE_DIRECTORY or ~/.local/state/appliance)")
    p.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    p.add_argument("--fast", action="store_true", help="run the clock free instead of in real time")
    p.add_argument("--control", metavar="PATH",
                   help="the console socket (default: $RUNTIME_DIRECTORY/control.sock, else "
                        "/run/appliance/control.sock, else $XDG_RUNTIME_DIR/appliance/control.sock)")
    p.set_defaults(func=_run)

    p = sub.add_parser("simulate", help="a day of scripted calls through the office, as fast as it runs",
                       description="Run the office's supervisor (menus, queues, announcements, call log) on the "
                                   "simulated board without audio, on its own clock, with the callers and agents "
                                   "of a traffic file; write one JSON line per call and print a summary.")
    p.add_argument("--config", required=True, help="the office's TOML file")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--traffic", help="the traffic file (TOML): hours, calls, agents, times")
    source.add_argument("--traffic-from-db", metavar="CALL_LOG",
                        help="the week a call log shows (calls, handle time, patience by the hour), staffed "
                             "with --agents N or --target PERCENT/SECONDS")
    p.add_argument("--seed", type=int, help="the random seed (default: the traffic file's)")
    p.add_argument("--out", required=True, help="where to write the calls, one JSON object a line")
    p.add_argument("--db", help="keep the call log in this SQLite file (default: a temporary one)")
    week = p.add_argument_group("with --traffic-from-db")
    staff = week.add_mutually_exclusive_group()
    staff.add_argument("--agents", type=int, help="this many agents logged in every hour")
    staff.add_argument("--target", help="the agents appliance staffing advises for PERCENT/SECONDS, hour by hour")
    week.add_argument("--adjust", type=int, help="add this many agents (or take them away, negative) every hour")
    week.add_argument("--model", choices=["erlang-a", "erlang-c"], help="the model of --target (default erlang-a)")
    week.add_argument("--over", choices=["offered", "answered"], help="the service level of --target "
                                                                     "(default offered)")
    week.add_argument("--queue", help="the queue measured (needed when the log has several)")
    week.add_argument("--from", dest="first", metavar="DATE", help="first day measured, local time (YYYY-MM-DD)")
    week.add_argument("--to", dest="last", metavar="DATE", help="last day measured, included")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("export", help="the call log as Asterisk's queue_log or cdr_csv (Master.csv)",
                       description="Write the calls of the call log, and the agents' log-ins and pauses, in the "
                                   "format Asterisk writes them, for tools that read an Asterisk box: queue_log "
                                   "(queue statistics) or cdr_csv (Master.csv call detail records). Dates are read "
                                   "in the office's time zone (--config), else UTC.")
    p.add_argument("--db", required=True, help="the call log's file")
    p.add_argument("--format", required=True, choices=["queue_log", "cdr_csv"], help="queue_log or cdr_csv")
    p.add_argument("--from", dest="start", metavar="DATE",
                   help="calls started at or after this: YYYY-MM-DD or 'YYYY-MM-DD HH:MM'")
    p.add_argument("--to", dest="end", metavar="DATE",
                   help="calls started before this; a date alone takes in that whole day")
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--config", metavar="FILE",
                   help="the office's TOML file: its time zone, agents' queues and phones, queue keys")
    p.set_defaults(func=_export)
    p = sub.add_parser("staffing", help="agents needed hour by hour of the week, from the call log",
                       description="Measure a queue's calls per hour, handle time and patience for each hour of "
                                   "the week from the call log, and print the fewest agents that meet a "
                                   "service-level target, with the service level, ASA and abandonment they give.")
    p.add_argument("--db", required=True, help="the call log (SQLite)")
    p.add_argument("--target", required=True, help="PERCENT/SECONDS: 80/20 is 80 %% answered within 20 s")
    p.add_argument("--model", choices=["erlang-a", "erlang-c"], default="erlang-a",
                   help="erlang-a: callers hang up as the log shows (default); erlang-c: nobody does")
    p.add_argument("--over", choices=["offered", "answered"], default="offered",
                   help="service level over calls offered (default) or over calls answered")
    p.add_argument("--queue", help="the queue (needed when the log has several)")
    p.add_argument("--from", dest="first", metavar="DATE", help="first day, local time (YYYY-MM-DD)")
    p.add_argument("--to", dest="last", metavar="DATE", help="last day, included")
    p.add_argument("--config", help="the office's TOML file: its time zone (default: this machine's)")
    p.set_defaults(func=_staffing)

    p = sub.add_parser("report", help="the manager's report from a call log: queues, agents, lines, unserved callers",
                       description="Figures over the calls started in a range of days, from the box's call log: "
                                   "per queue and interval offered, answered, abandoned, service level under both "
                                   "definitions, ASA, AHT; per agent calls, talk, wrap-up, pauses, logged-in time, "
                                   "missed rings, occupancy; calls by hour and weekday; lines; unserved and repeat "
                                   "callers. Days are the office's (--config) or this machine's time zone.")
    p.add_argument("--db", required=True, help="the call log (SQLite file)")
    p.add_argument("--config", help="the office's TOML file: its time zone, lines and queues' service levels")
    p.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (default: the log's first)")
    p.add_argument("--to", dest="end", metavar="DATE", help="last day, YYYY-MM-DD, included (default: the log's last)")
    p.add_argument("--queue", help="only this queue's calls")
    p.add_argument("--by", choices=report_by(), default="day", help="the queues' intervals (default: day)")
    p.add_argument("--format", choices=["text", "csv", "html"], default="text", help="default: text")
    p.add_argument("--out", help="write it to this file (default: standard output)")
    p.add_argument("--sl", type=float, metavar="SECONDS",
                   help="service-level target where a queue sets none (default: 20)")
    p.add_argument("--short-abandon", type=float, metavar="SECONDS",
                   help="hang-ups within this many seconds are short abandons, counted apart (default: 5)")
    p.set_defaults(func=_report)

    bp = sub.add_parser("board", help="the telephony card: find it, and make DAHDI's system.conf for it",
                       description="Find the DAHDI cards in this box and the profile of each, or make DAHDI's "
                                   "system.conf from the office's configuration and the card's profile.")
    board = bp.add_subparsers(dest="board_command", metavar="COMMAND")
    b = board.add_parser("detect", help="the cards dahdi_hardware and the kernel report, with their profiles",
                         description="List the cards dahdi_hardware and /sys/bus/dahdi_devices report: each with "
                                     "its profile, its ports' modules and the [board] lines for the office's file.")
    b.add_argument("--sysfs", default="/sys/bus/dahdi_devices/devices", metavar="DIR",
                   help="the kernel's DAHDI devices (default: /sys/bus/dahdi_devices/devices)")
    b.add_argument("--hardware", metavar="FILE", help="read dahdi_hardware's output from FILE instead of running it")
    b.set_defaults(func=_board_detect)
    b = board.add_parser("system-conf", help="DAHDI's system.conf from the office's configuration",
                         description="Make DAHDI's system.conf from the office's lines and [board] section and the "
                                     "card's profile; print it, or with --out write it in place whole.")
    b.add_argument("--config", required=True, help="the office's TOML file")
    b.add_argument("--profile", help="the card profile (default: the file's board.profile)")
    b.add_argument("--out", nargs="?", const="/etc/dahdi/system.conf", metavar="FILE",
                   help="write it to FILE (/etc/dahdi/system.conf if none is named) instead of printing it")
    b.set_defaults(func=_board_system_conf)
    bp.set_defaults(func=lambda args: (bp.print_help(), 2)[1])

    p = sub.add_parser("console", help="the installer's console on a serial port or this terminal",
                       description="Log in and configure the running box from a serial port (8N1) or this "
                                   "terminal, through the box's control socket. The first start sets the "
                                   "console password. Try --baud 9600 if the screen shows garbage.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="DEV", help="the serial port: /dev/ttyS0, /dev/ttyUSB0 or a pyserial URL")
    where.add_argument("--local", action="store_true", help="this terminal instead of a serial port")
    p.add_argument("--baud", type=int, default=115200, help="the port's speed (default 115200; 9600 for old terminals)")
    p.add_argument("--control", metavar="PATH",
                   help="the box's control socket (default $RUNTIME_DIRECTORY/control.sock, "
                        "/run/appliance/control.sock or $XDG_RUNTIME_DIR/appliance/control.sock)")
    p.add_argument("--idle", type=float, default=15, metavar="MIN",
                   help="log out after this many minutes without a key (default 15; 0 for never)")
    p.add_argument("--dumb", action="store_true", help="a terminal without VT100 escape sequences")
    p.add_argument("--password-file", metavar="FILE",
                   help="where the console password's hash is kept (default $STATE_DIRECTORY/console.passwd "
                        "or ~/.local/state/appliance/console.passwd)")
    p.set_defaults(func=_console)

    p = sub.add_parser("demo", help="a live call on the simulated board, events printed as they happen")
    p.add_argument("--fast", action="store_true", help="run the clock free instead of in real time")
    p.set_defaults(func=_demo)

    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
