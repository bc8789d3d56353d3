"""The durable store: jobs, images, posted messages (and, from later issues, moderation tables).

Redis holds live queue state; this store is the record that survives a Redis loss or a restart.
SQLite under the data dir by default, PostgreSQL through DATABASE_URL. Schema changes go through
Alembic (`imagine_med/store/migrations/versions/`), applied with `migrate(url)`.

For other parts of the project that add tables (moderation, audit log):
- declare models on `imagine_med.store.db.Base` in your own module;
- list that module in `MODEL_MODULES` in `imagine_med/store/db.py` so Alembic autogenerate sees it;
- add a revision under `migrations/versions/` whose `down_revision` is the current head
  (`alembic_config(url)` gives a Config for `alembic.command.revision(..., autogenerate=True)`);
- open sessions with `session_scope(engine)` on an engine from `make_engine(url)`.
Image bytes are content-addressed blobs: files under the data dir, or S3-compatible object
storage when IMAGINE_MED_BLOBS=s3://bucket/prefix (`blobs.open_blob_store`).
"""

from imagine_med.store.db import Base, make_engine, session_scope
from imagine_med.store.migrate import alembic_config, migrate

__all__ = ["Base", "alembic_config", "make_engine", "migrate", "session_scope"]
