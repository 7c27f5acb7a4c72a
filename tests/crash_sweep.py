"""What the kill sweeps share: a feed of ten unrelated stories and a real `newsbot` subprocess to kill.

The feed's items are about ten different things, so clustering keeps them apart and a digest
carries ten stories. `Newsbot` runs the real CLI in a subprocess against a config on loopback.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]

TOPICS = [
    (
        "Harbour dredging begins at Port Alder",
        "Crews started dredging the shipping lane at Port Alder on Monday, "
        "removing silt so that container vessels can berth at low tide again.",
    ),
    (
        "Glacier Museum opens a wing on ice cores",
        "The Glacier Museum in Brennfjell opened a wing that shows "
        "ice cores drilled from the northern plateau, some holding air trapped for millennia.",
    ),
    (
        "City council approves cycling bridge over the Vell",
        "Councillors voted to fund a cycling bridge over "
        "the river Vell, linking the university campus with the railway station.",
    ),
    (
        "Orchard growers report early apple harvest",
        "Apple growers in the Marrow valley began picking two weeks "
        "early after a warm spring, and expect smaller but sweeter fruit.",
    ),
    (
        "Chess prodigy wins national title at fourteen",
        "Fourteen-year-old Ilsa Brandt won the national chess "
        "championship in Kessel, beating the defending champion in the final round.",
    ),
    (
        "Telescope array detects repeating radio burst",
        "Astronomers using the Hollow Ridge array recorded a fast "
        "radio burst that repeats every sixteen days from a distant dwarf galaxy.",
    ),
    (
        "Bakery chain recalls rye loaves over allergen label",
        "Corrin Bakeries recalled rye loaves sold last week "
        "because the label omitted sesame, an allergen used in the same ovens.",
    ),
    (
        "Rail strike suspended after pay offer",
        "Train drivers suspended their strike after the operator offered a "
        "four percent raise, and services on the coastal line resume on Thursday.",
    ),
    (
        "Volcano observatory raises alert level",
        "The observatory on Mount Tarrow raised its alert level after a "
        "swarm of small earthquakes and rising sulphur dioxide readings near the crater.",
    ),
    (
        "Library digitises medieval maps",
        "The state library finished scanning four hundred medieval maps, which "
        "scholars can now study online in high resolution, free of charge.",
    ),
]


def write_feed(path: Path, now: datetime) -> Path:
    items = []
    for i, (title, text) in enumerate(TOPICS):
        when = format_datetime(now - timedelta(minutes=10 * (i + 1)))
        items.append(
            f"<item><title>{escape(title)}</title><link>https://ten.example/{i}</link>"
            f"<guid>https://ten.example/{i}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape(text)}</description></item>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Ten Stories</title>'
        f"<link>https://ten.example/</link><description>ten</description>{''.join(items)}</channel></rss>",
        encoding="utf-8",
    )
    return path


def config_text(db: Path, feed: Path, platform: str, channel: str, api: str) -> str:
    if platform == "slack":
        adapter = f'[slack]\nenabled = true\nmode = "http"\napi_base_url = "{api}"\npost_interval_seconds = 0\n'
    else:
        adapter = f'[discord]\nenabled = true\napi_base_url = "{api}"\nstyle = "markdown"\n'
    return (
        f'[bot]\ndatabase = "sqlite:///{db}"\ntimezone = "UTC"\nlog_level = "warning"\n\n'
        "[fetch]\nallow_local_files = true\n\n"
        "[digest]\nmax_stories = 10\nfirst_items = 10\n\n"
        "[console]\nenabled = false\n\n"
        f"{adapter}\n"
        f'[[feeds]]\nurl = "{feed}"\nname = "Ten Stories"\n\n'
        f'[[subscriptions]]\nchannel = "{platform}:{channel}"\nfeeds = "all"\n'
    )


@dataclass
class Run:
    code: int
    stderr: str
    seconds: float


class Newsbot:
    """`newsbot --config CONFIG ...` as a real subprocess; `kill()` is SIGKILL at this instant."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "signing-secret",
            "DISCORD_TOKEN": "fake-bot-token",
            "PYTHONPATH": str(ROOT),
        }

    async def run(self, *args: str, within: float = 120.0) -> Run:
        start = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            *args,
            "--config",
            str(self.config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=str(self.config.parent),
        )
        _, err = await asyncio.wait_for(self.proc.communicate(), within)
        code = self.proc.returncode
        assert code is not None
        return Run(code, err.decode("utf-8", "replace"), time.monotonic() - start)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()


def now_utc() -> datetime:
    return datetime.now(UTC)
