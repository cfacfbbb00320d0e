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
        return box.run(args.config, args.log, args.seconds, paced=not args.fast)
    except box.BoxError as e:
        print(f"appliance run: {e}", file=sys.stderr)
        return 1


def _simulate(args) -> int:
    from appliance import calllog, config, prompts, simulate, traffic

    try:
        return simulate.run(args.config, args.traffic, args.out, seed=args.seed, db_path=args.db)
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


def _demo(args) -> int:
    from appliance import demo

    demo.run(paced=not args.fast, out=sys.stdout)
    return 0


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

    p = sub.add_parser("run", help="run the box on the simulated board, with a console for test calls",
                       description="Run an office (the bundled demo office unless --config is given) on the "
                                   "simulated board. The console takes test calls: type 'help'.")
    p.add_argument("--config", help="the office's TOML file (default: the demo office)")
    p.add_argument("--board", choices=["sim"], default="sim", help="the board: sim (the simulated one)")
    p.add_argument("--log", help="the call log's file (default: $STATE_DIRECTORY or ~/.local/state/appliance)")
    p.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    p.add_argument("--fast", action="store_true", help="run the clock free instead of in real time")
    p.set_defaults(func=_run)

    p = sub.add_parser("simulate", help="a day of scripted calls through the office, as fast as it runs",
                       description="Run the office's supervisor (menus, queues, announcements, call log) on the "
                                   "simulated board without audio, on its own clock, with the callers and agents "
                                   "of a traffic file; write one JSON line per call and print a summary.")
    p.add_argument("--config", required=True, help="the office's TOML file")
    p.add_argument("--traffic", required=True, help="the traffic file (TOML): hours, calls, agents, times")
    p.add_argument("--seed", type=int, help="the random seed (default: the traffic file's)")
    p.add_argument("--out", required=True, help="where to write the calls, one JSON object a line")
    p.add_argument("--db", help="keep the call log in this SQLite file (default: a temporary one)")
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
