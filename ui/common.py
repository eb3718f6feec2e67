"""Page plumbing shared by every page: the cached registry, errors shown as next steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from zoo.errors import (
    CardError,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelRuntimeError,
    RecipeError,
    ScanError,
    ZooError,
)
from zoo.registry import ModelEntry, Registry, models_dir

DISCLAIMER = (
    "**Research and teaching only.** MedZoo is not a medical device and must not be used "
    "for diagnosis or treatment decisions."
)

NO_MODELS = (
    "No models are installed yet. Build them with `python -m pipeline build-zoo` "
    "(see README.md, 'Build the zoo'), or point `MEDZOO_MODELS_DIR` at a folder of models."
)


def page_setup(title: str) -> None:
    """Every page's first call: page config, the disclaimer in the sidebar, the title.

    Done by each page rather than by the router alone: Streamlit runs a page file directly
    (without ``streamlit_app.py``) when the first visitor after a server start opens a page's
    URL, and the disclaimer must be on every page however it is reached.
    """
    _route_through_the_entry_point()
    st.set_page_config(
        page_title=title if title == "MedZoo" else f"{title} · MedZoo",
        page_icon=":material/radiology:",
        layout="wide",
    )
    st.sidebar.warning(DISCLAIMER, icon=":material/warning:")
    st.title(title)


#: Session-state key the router sets on every run (see :func:`mark_routed`).
ROUTED = "_medzoo_routed"


def mark_routed() -> None:
    """Called by ``streamlit_app.py``: this session has run the router."""
    st.session_state[ROUTED] = True


def _route_through_the_entry_point() -> None:
    """Rerun through ``streamlit_app.py`` when Streamlit ran this page on its own.

    With a ``pages/`` folder beside the entry point, Streamlit starts in its legacy
    multipage mode and, until some session has run ``st.navigation``, serves a page URL by
    running that file alone: the first visitor after a restart who opens /analyze saw the
    file names ("streamlit app", "analyze"…) as the menu. Leaving that mode (what
    ``st.navigation`` itself does) and rerunning sends the same URL through the router.
    Only a session that has never been through the router does this, so no rerun can
    swallow a button click (AppTest runs pages in that mode on every run).
    """
    if st.session_state.get(ROUTED):
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no legacy mode to leave
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_resource(max_entries=4, show_spinner=False)
def registry_for(root: str) -> Registry:
    """The registry of the models folder ``root``, read once and shared (read-only)."""
    return Registry(root)


def get_registry() -> Registry:
    """The registry of ``$MEDZOO_MODELS_DIR`` (or ``zoo/models``)."""
    return registry_for(str(models_dir()))


def require_models(registry: Registry) -> None:
    """Stop the page with instructions when the zoo is empty."""
    if not len(registry):
        st.info(NO_MODELS)
        st.stop()


def model_key(entry: ModelEntry) -> tuple[str, str, str]:
    """Cache key of a model's data: models folder (or "memory"), id, file hash."""
    where = "memory" if entry.directory is None else str(entry.directory.parent)
    return where, entry.id, entry.card.file.sha256


def model_label(entry: ModelEntry) -> str:
    card = entry.card
    return f"{card.name} ({card.id}, {'/'.join(card.modalities)})"


def next_step(exc: BaseException) -> str:
    """What a user can do about an error, by its type."""
    if isinstance(exc, ScanError):
        return (
            "Upload a PNG, JPEG, TIFF, BMP, WebP or DICOM scan that opens in an image viewer, "
            "or pick another file."
        )
    if isinstance(exc, ModelIntegrityError):
        return (
            "This model's file is missing or differs from its card, so it was refused. Choose "
            "another model; to repair it, rebuild the zoo (`python -m pipeline build-zoo`) or "
            "download the model again (README)."
        )
    if isinstance(exc, ModelNotFoundError):
        return "Pick a model from the list; reload the page if the zoo has changed."
    if isinstance(exc, CardError | RecipeError):
        return "The model's card is incomplete; see the Model zoo page, or choose another model."
    if isinstance(exc, ModelRuntimeError):
        return "The model could not run on this input; try another model or another scan."
    return "Try another file or model; reload the page if the problem persists."


#: What makes Markdown a link, an image, HTML, a heading, a table or emphasis.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>~$|#])")


def plain(text: str) -> str:
    """``text`` with Markdown's punctuation escaped: an error may quote a file name, a ZIP
    member or a tensor name from an upload, which must show as typed, never as a link,
    an image or formatting."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def show_error(exc: BaseException, what: str | None = None) -> None:
    """Show ``exc`` as an ``st.error`` with what to do next (never a traceback)."""
    head = plain(f"{what}: {exc}" if what else str(exc))
    st.error(f"{head}\n\n**What to do:** {next_step(exc)}", icon=":material/error:")


@contextmanager
def user_action(what: str | None = None, *, stop: bool = True) -> Iterator[None]:
    """Turn a :class:`ZooError` raised inside the block into ``st.error`` (and stop the page)."""
    try:
        yield
    except ZooError as exc:
        show_error(exc, what)
        if stop:
            st.stop()
