"""Typed errors raised by the zoo.

Every error a user can cause (a bad file, an unknown model id, a broken card) is a
subclass of :class:`ZooError`, so callers such as the pages and the CLI can turn it
into a message instead of a traceback.
"""

from __future__ import annotations


class ZooError(Exception):
    """Base class of every error the zoo raises on purpose."""


class ScanError(ZooError, ValueError):
    """A scan could not be read; the message says why and what to do about it."""


class RecipeError(ZooError, ValueError):
    """A preprocessing recipe is malformed (a field is missing or out of range)."""


class CardError(ZooError, ValueError):
    """A model card is missing, unreadable or does not follow the card schema."""


class ModelNotFoundError(ZooError, KeyError):
    """No model with the requested id is in the registry."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain sentence
        return str(self.args[0]) if self.args else ""


class ModelIntegrityError(ZooError):
    """A model file is missing, corrupt, or its SHA-256 differs from its card."""


class ModelRuntimeError(ZooError):
    """ONNX Runtime could not load or run a model."""


class ModelImportError(ZooError, ValueError):
    """A model could not be imported: the file is unsafe, unreadable or unlike an image
    classifier, or what it needs was not given. The zoo is left as it was."""


class PacsError(ZooError):
    """The PACS could not do what was asked; the message never holds credentials."""


class PacsUnavailableError(PacsError):
    """The server cannot be reached or does not answer in time."""


class PacsAuthError(PacsError):
    """The server refused the credentials (401) or the request (403)."""


class PacsStoreError(PacsError):
    """Result objects were not stored; the message says which, if any, were."""
