"""newsbot's core: platform-neutral ingest, NLP, storage, digests and commands."""

__version__ = "0.1.0"
