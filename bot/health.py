"""`newsbot health`: does the configured database open, and is it at the schema this newsbot runs?

For container health checks and monitoring. It reads only: it never creates a database file nor
migrates one (`newsbot run` does that), so it can run next to the bot at any time.
Exit code 0 healthy, 1 not (the line says why); a bad config exits 2 as everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from bot import __version__
from bot.config import Settings
from bot.store.engine import create_engine
from bot.store.migrate import current_revision, head_revision


def check(settings: Settings, out: TextIO) -> int:
    """Write one line saying whether the database is usable; return the exit code."""
    url = sa.engine.make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.exists():
            out.write(f"unhealthy: no database at {path} yet; `newsbot run` creates it\n")
            return 1
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
            feeds = conn.execute(sa.text("SELECT count(*) FROM feeds")).scalar_one() if revision else 0
    except Exception as exc:  # whatever the driver says is the answer to "why not"
        out.write(f"unhealthy: cannot open {shown}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}\n")
        return 1
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        out.write(f"unhealthy: {shown} has no newsbot schema yet; `newsbot run` creates it\n")
        return 1
    if revision != head:
        out.write(
            f"unhealthy: {shown} is at schema {revision}, this newsbot {__version__} expects {head}; "
            "`newsbot run` migrates it on start\n"
        )
        return 1
    out.write(f"ok: {shown} opens, schema {revision} (current), {feeds} feed{'s' if feeds != 1 else ''}\n")
    return 0
