"""The `signaal` command: serve, dashboard, demo, replay, detect, scenario, export, users, apikey, token,
retention, db."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from app.config import REPO_ROOT, get_settings

log = logging.getLogger("signaal")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import check_for_production
    from app.main import create_app
    from app.playbooks import PlaybookSet

    settings = get_settings()
    # Checked again when the service starts; here they end the command with the reason instead of the
    # traceback of a failed application start-up.
    check_for_production(settings)
    PlaybookSet.load(settings.playbook_dir)
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=not args.no_access_log,
        log_config=None,  # keep the handlers of configure_logging (text or JSON)
    )
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from dashboard.app import run

    settings = get_settings()
    secret = settings.dashboard_secret.get_secret_value() if settings.dashboard_secret else None
    token = settings.dashboard_token.get_secret_value() if settings.dashboard_token else None
    run(host=args.host, port=args.port or settings.dashboard_port, api_url=args.api_url or settings.api_url,
        map_style=settings.map_style, service_token=token, secret_key=secret)  # fmt: skip
    return 0


def _replay(args: argparse.Namespace) -> int:
    from streams.formats import CsvMapping
    from streams.replay import HttpTarget, KafkaTarget, build_timeline, replay

    settings = get_settings()
    mapping = (
        CsvMapping.model_validate(dict(pair.split("=", 1) for pair in args.csv_map)) if args.csv_map else None
    )
    missing = [str(p) for p in args.files if not Path(p).exists()]
    if missing:
        print(f"signaal replay: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    timeline = build_timeline([Path(p) for p in args.files], args.format, mapping)
    if settings.uses_kafka:
        from streams.bus.kafka import KafkaBus
        from streams.post import pseudonymise

        target = KafkaTarget(
            KafkaBus(settings.kafka_bootstrap_servers),  # type: ignore[arg-type]
            settings.topic_posts,
            settings.topic_deadletter,
            partial(pseudonymise, key=settings.pseudonym_key_bytes),
            seal=sealer.seal if (sealer := settings.sealer()) else None,
        )
        where = f"Kafka {settings.kafka_bootstrap_servers}"
    else:
        api_url = args.api_url or settings.api_url
        key = settings.api_key.get_secret_value() if settings.api_key else None
        target = HttpTarget(api_url, api_key=key)
        where = f"{api_url}/api/ingest"
    speed = None if args.max else args.speed
    print(f"replaying {len(timeline.timed) + len(timeline.broken)} records to {where}", file=sys.stderr)
    try:
        report = replay(timeline, target, speed)
    finally:
        target.close()
    print(f"accepted {report.accepted}, rejected {report.rejected}")
    return 0


def _detect(args: argparse.Namespace) -> int:
    from collections import Counter

    from app.pipeline.detection import Detection
    from app.pipeline.offline import detect_files
    from app.playbooks import PlaybookSet
    from streams.post import pseudonymise

    settings = get_settings()
    missing = [str(p) for p in args.files if not Path(p).exists()]
    if missing:
        print(f"signaal detect: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = detect_files(
        [Path(p) for p in args.files],
        args.format,
        partial(pseudonymise, key=settings.pseudonym_key_bytes),
        Detection.standard(PlaybookSet.load(settings.playbook_dir), post_labels=bool(args.posts_out)),
        Path(args.out),
        Path(args.posts_out) if args.posts_out else None,
    )
    seconds = time.perf_counter() - started
    kinds = Counter(alert.kind.value for alert in report.alerts.values())
    found = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
    print(
        f"{report.posts} posts ({report.duplicates} duplicates, {report.rejected} rejected) "
        f"in {seconds:.1f} s; {len(report.alerts)} alerts ({found}) written to {args.out}"
        + (f"; labelled posts to {args.posts_out}" if args.posts_out else "")
    )
    return 0


def _scenario(args: argparse.Namespace) -> int:
    from streams.scenarios import projectx

    scenario = projectx.generate(
        town=args.town, seed=args.seed, days_before=args.days_before, scale=args.scale
    )
    projectx.write(scenario, Path(args.out))
    truth = Path(args.out).with_suffix(".truth.json")
    print(f"wrote {len(scenario.records)} posts to {args.out} and the ground truth to {truth}")
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write an incident's evaluation dossier straight from the database the service uses."""
    import getpass

    from app.db.repository import Store
    from app.db.room import NotFound, RoomStore
    from app.db.session import make_engine, make_sessionmaker, upgrade
    from app.export import export_dossier
    from app.playbooks import PlaybookSet
    from app.room.service import Room

    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    room = Room(Store(sessions), RoomStore(sessions), PlaybookSet.load(settings.playbook_dir))
    try:
        dossier = room.dossier(args.incident, actor=f"cli:{getpass.getuser()}")
    except NotFound as error:
        raise SystemExit(f"signaal export: {error}") from None
    out = export_dossier(dossier, args.format, Path(args.out or "."))
    print(
        f"wrote {out} ({out.stat().st_size:,} bytes): incident {args.incident} '{dossier.incident.title}', "
        f"{len(dossier.alerts)} alerts, {len(dossier.cases)} rumour cases, "
        f"{len(dossier.entries)} entry versions"
    )
    engine.dispose()
    return 0


def _accounts():  # type: ignore[no-untyped-def]
    from app.db.accounts import Accounts
    from app.db.session import make_engine, make_sessionmaker, upgrade

    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    return Accounts(make_sessionmaker(engine))


def _operator() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password (at least 12 characters): ")
    if first != getpass.getpass("again: "):
        raise SystemExit("signaal users: the passwords differ")
    return first


def _users(args: argparse.Namespace) -> int:
    from app.db.room import Conflict, Invalid, NotFound

    accounts = _accounts()
    try:
        if args.action == "list":
            for account in accounts.users():
                state = "active" if account.active else "inactive"
                print(f"{account.username:24} {','.join(sorted(account.roles)):28} {state}")
        elif args.action == "add":
            accounts.add_user(args.name, _password(args), args.role or [], _operator())
            print(f"added {args.name} ({', '.join(args.role)})")
        elif args.action == "set":
            password = _password(args) if args.new_password or args.password_stdin else None
            account = accounts.change_user(
                args.name, _operator(), roles=args.role, active=args.active, password=password
            )
            state = "active" if account.active else "inactive"
            print(f"{account.username}: {', '.join(sorted(account.roles))}, {state}")
    except (Conflict, Invalid, NotFound) as error:
        raise SystemExit(f"signaal users: {error}") from None
    return 0


def _apikey(args: argparse.Namespace) -> int:
    from app.db.room import Conflict, NotFound

    accounts = _accounts()
    try:
        if args.action == "list":
            for name, roles, active in accounts.api_keys():
                print(f"{name:24} {','.join(roles):12} {'active' if active else 'revoked'}")
        elif args.action == "add":
            key = accounts.add_api_key(args.name, _operator())
            print(f"API key for {args.name} (shown once; send it as X-API-Key, or SIGNAAL_API_KEY):\n{key}")
        elif args.action == "revoke":
            accounts.revoke_api_key(args.name, _operator())
            print(f"revoked {args.name}")
    except (Conflict, NotFound) as error:
        raise SystemExit(f"signaal apikey: {error}") from None
    return 0


def _token(args: argparse.Namespace) -> int:
    """A token for an existing account, e.g. a long-lived one for a wall display (role wall)."""
    from datetime import timedelta

    from app.security import issue_token

    settings = get_settings()
    accounts = _accounts()
    account = accounts.active_account(args.name)
    if account is None:
        raise SystemExit(f"signaal token: no active account {args.name!r}")
    secret = settings.jwt_secret.get_secret_value()
    lifetime = timedelta(hours=args.hours)
    token = issue_token(secret, args.name, account.roles, lifetime, account.token_generation)
    accounts.record_token_issued(args.name, _operator(), args.hours)
    print(token)
    return 0


def _retention(args: argparse.Namespace) -> int:
    from app.db.session import make_engine, make_sessionmaker, upgrade
    from app.retention import apply_retention

    settings = get_settings()
    days = args.days or settings.retention_days
    if not days:
        raise SystemExit("signaal retention: give --days or set SIGNAAL_RETENTION_DAYS")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    report = apply_retention(make_sessionmaker(engine), days, _operator(), dry_run=args.dry_run)
    verb = "would delete" if report.dry_run else "deleted"
    print(
        f"{verb} {report.posts_deleted} posts and {report.dead_letters_deleted} dead letters older than "
        f"{report.horizon:%Y-%m-%d %H:%M} UTC; kept {report.posts_kept_as_evidence} as incident evidence"
    )
    return 0


def _db(args: argparse.Namespace) -> int:
    from app.db.session import make_engine, upgrade

    upgrade(make_engine(get_settings().database_url))
    print("database schema is up to date")
    return 0


def _wait_http(url: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"signaal demo: {url} did not start (exit code {process.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"signaal demo: {url} did not answer within {timeout_s:.0f} s")


def _open_demo_incident(api_url: str, town: str) -> int:
    """The demo's incident collects every alert, as a crisis team would open one for the town's night."""
    import httpx

    body = {"title": f"Project X {town}", "playbook": "projectx", "auto_link": True}
    response = httpx.post(f"{api_url}/api/incidents", json=body, timeout=10)
    response.raise_for_status()
    return int(response.json()["incident_id"])


def _own_command() -> str:
    """How to run `signaal` again from any shell: the script beside this interpreter (a virtualenv's bin)."""
    script = Path(sys.executable).with_name("signaal")
    return str(script) if script.exists() else "signaal"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop(signum: int, _frame: object) -> None:
    # SIGTERM (a process manager, `kill`) and SIGHUP (the terminal closed) stop the demo as Ctrl-C does, so
    # its service and dashboard stop with it instead of holding their ports for the next demo.
    raise KeyboardInterrupt


def _demo(args: argparse.Namespace) -> int:
    """Service, dashboard and the Project X scenario replayed, in one process tree on the embedded default."""
    from streams.replay import HttpTarget, build_timeline, replay
    from streams.scenarios import projectx

    for port in (args.port, args.dashboard_port):
        if _port_in_use(port):
            # Without this check the demo's readiness probe found whatever answered there (a demo left
            # running) and replayed into it, while its own service failed to start.
            raise SystemExit(
                f"signaal demo: port {port} is already in use (is another demo still running?); stop it, "
                "or choose --port / --dashboard-port"
            )
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="signaal-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "demo.db"
    database.unlink(missing_ok=True)
    api_url = f"http://127.0.0.1:{args.port}"
    dash_url = f"http://127.0.0.1:{args.dashboard_port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "SIGNAAL_PORT": str(args.port),
        "SIGNAAL_API_URL": api_url,
        "SIGNAAL_DASHBOARD_PORT": str(args.dashboard_port),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # the demo is the embedded default
    env.update({"SIGNAAL_ENV": "development", "SIGNAAL_AUTH": "false"})
    signaal = [sys.executable, "-m", "app.cli"]
    children = [
        subprocess.Popen([*signaal, "serve", "--no-access-log"], env=env, cwd=REPO_ROOT),
        subprocess.Popen([*signaal, "dashboard"], env=env, cwd=REPO_ROOT),
    ]
    try:
        _wait_http(f"{api_url}/healthz", 60, children[0])
        _wait_http(f"{dash_url}/", 60, children[1])
        incident = _open_demo_incident(api_url, args.town)
        try:
            scenario = projectx.generate(town=args.town, seed=args.seed, days_before=args.days_before)
        except ValueError as error:  # an unknown town, too few days before the gathering
            raise SystemExit(f"signaal demo: {error}") from None
        scenario_file = workdir / "projectx.jsonl"
        projectx.write(scenario, scenario_file)
        print(
            f"\n  Signaal demo is running (embedded bus, SQLite at {database})\n"
            f"  dashboard : {dash_url}/  (wall: {dash_url}/wall, rumours: {dash_url}/rumours)\n"
            f"  incident  : {dash_url}/incidents/{incident}\n"
            f"  export    : DATABASE_URL=sqlite:///{database} {_own_command()} export {incident} "
            "--format pdf\n"
            f"  sign-in is off in the demo (development mode); see the README for production\n"
            f"  API       : {api_url}/docs\n"
            f"  replaying : {len(scenario.records)} posts of a Project X scenario in {args.town} "
            f"at {args.speed:g}x\n  stop with Ctrl-C\n",
            flush=True,
        )
        target = HttpTarget(api_url)
        report = replay(build_timeline([scenario_file]), target, args.speed, max_gap_s=args.max_gap)
        print(
            f"replay finished: accepted {report.accepted}, rejected {report.rejected}; still serving",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # A second signal must not cut the clean-up short and leave the children running.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        # Kept on purpose, for the export command printed above; a later demo starts a new folder.
        print(f"\nthe demo's database and posts stay in {workdir} (delete the folder when done)", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signaal", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (API, WebSocket, consumer)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-access-log", action="store_true", help="do not log every request")
    serve.set_defaults(run=_serve)

    dashboard = commands.add_parser("dashboard", help="run the dashboard (a client of the service)")
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.add_argument("--port", type=int)
    dashboard.add_argument("--api-url", help="the service, default SIGNAAL_API_URL")
    dashboard.set_defaults(run=_dashboard)

    demo = commands.add_parser("demo", help="service + dashboard + a Project X scenario, on one machine")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--dashboard-port", type=int, default=8050)
    demo.add_argument("--town", default="Haren")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--days-before", type=float, default=2.0, help="days of ordinary chatter first")
    demo.add_argument("--speed", type=float, default=600.0, help="seconds of scenario time per second")
    demo.add_argument(
        "--max-gap", type=float, default=0.25, help="longest wait between two posts, in wall-clock seconds"
    )
    demo.add_argument("--workdir", help="where the demo keeps its database (default: a new temp folder)")
    demo.set_defaults(run=_demo)

    replay = commands.add_parser("replay", help="send exported posts to the service or Kafka in time order")
    replay.add_argument("files", nargs="+", metavar="FILE")
    replay.add_argument("--format", default="auto", help="auto, jsonl, twitter_v1, twitter_v2, mastodon, csv")
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=60.0, help="event-time seconds per second (default 60)")
    pace.add_argument("--max", action="store_true", help="as fast as possible")
    replay.add_argument(
        "--csv-map",
        action="append",
        metavar="FIELD=COLUMN",
        help="CSV column mapping, e.g. text=tweet_text; for tweets add platform=twitter, so"
        " a tweet gets the same key (twitter:<id>) as from a JSON export and is not stored twice",
    )
    replay.add_argument("--api-url", help="the service, default SIGNAAL_API_URL (when Kafka is not set)")
    replay.set_defaults(run=_replay)

    detect = commands.add_parser("detect", help="run the detectors over files offline, in event time")
    detect.add_argument("files", nargs="+", metavar="FILE")
    detect.add_argument("--format", default="auto", help="auto, jsonl, twitter_v1, twitter_v2, mastodon, csv")
    detect.add_argument("--out", required=True, help="alerts as JSON Lines (latest revision of each)")
    detect.add_argument(
        "--posts-out", help="every post with its labels (rumour, rumour_score, claim_id, area)"
    )
    detect.set_defaults(run=_detect)

    scenario = commands.add_parser("scenario", help="generate an incident stream with ground truth")
    scenario.add_argument("kind", choices=["projectx"])
    scenario.add_argument("--town", default="Haren")
    scenario.add_argument("--seed", type=int, default=1)
    scenario.add_argument("--days-before", type=float, default=7.0)
    scenario.add_argument("--scale", type=float, default=1.0, help="multiply the incident's volume")
    scenario.add_argument("--out", required=True)
    scenario.set_defaults(run=_scenario)

    export = commands.add_parser(
        "export", help="an incident's evaluation dossier: pdf, html, json or csv (zip)"
    )
    export.add_argument("incident", type=int, metavar="INCIDENT", help="the incident's number")
    export.add_argument("--format", choices=["pdf", "html", "json", "csv"], default="pdf")
    export.add_argument("--out", help="file or folder to write (default: signaal-incident-N-<time>.<format>)")
    export.set_defaults(run=_export)

    users = commands.add_parser("users", help="people's accounts: list, add, set (roles, active, password)")
    users.add_argument("action", choices=["list", "add", "set"])
    users.add_argument("name", nargs="?")
    users.add_argument(
        "--role", action="append", choices=["wall", "adviser", "coordinator", "admin"], help="repeatable"
    )
    users.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    users.add_argument("--new-password", action="store_true", help="set: ask for a new password")
    users.add_argument("--active", action=argparse.BooleanOptionalAction, default=None)
    users.set_defaults(run=_users)

    apikey = commands.add_parser("apikey", help="producers' API keys: list, add, revoke")
    apikey.add_argument("action", choices=["list", "add", "revoke"])
    apikey.add_argument("name", nargs="?")
    apikey.set_defaults(run=_apikey)

    token = commands.add_parser("token", help="print an access token for an account (e.g. a wall display)")
    token.add_argument("name")
    token.add_argument("--hours", type=float, default=24 * 30, help="lifetime (default 30 days)")
    token.set_defaults(run=_token)

    retention = commands.add_parser("retention", help="delete old posts and dead letters (counts stay)")
    retention.add_argument("--days", type=float, help="default SIGNAAL_RETENTION_DAYS")
    retention.add_argument("--dry-run", action="store_true", help="only count")
    retention.set_defaults(run=_retention)

    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(run=_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from app.observability import configure_logging

    configure_logging(logging.DEBUG if args.verbose else logging.INFO, get_settings().log_format == "json")
    # One line per HTTP request from the replay client drowns what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from app.config import UnsafeSettings
    from app.playbooks import PlaybookError
    from streams.replay import ReplayRefused

    try:
        return args.run(args)
    except (UnsafeSettings, PlaybookError, ReplayRefused) as error:
        # What an operator must fix, said in their terms; the traceback only with --verbose.
        if args.verbose:
            raise
        print(f"signaal {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
