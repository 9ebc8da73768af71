"""Exceptions raised at the project's boundaries.

Every error a user can cause derives from :class:`GalaxySDError`, so the CLI and
the app can show its message instead of a traceback. Most also derive from the
matching built-in (``ValueError``, ``FileNotFoundError``) so callers that know
nothing of this module still catch them.
"""


class GalaxySDError(Exception):
    """Base class of errors whose message is meant for the user."""


class ConfigError(GalaxySDError, ValueError):
    """A task configuration has an unknown key or a bad value."""


class CatalogError(GalaxySDError, ValueError):
    """A catalogue cannot be read or lacks required columns."""


class ModelFolderError(GalaxySDError, FileNotFoundError):
    """A model folder is missing or is not a diffusers pipeline."""


class ImageReadError(GalaxySDError, OSError):
    """An image file cannot be read or decoded."""


class Cancelled(GalaxySDError):  # noqa: N818 - reads better at the raise site
    """A long task stopped because a stop was requested."""


class OutsideWorkspaceError(GalaxySDError, PermissionError):
    """A path given in the app or a job config resolves outside the workspace."""


class BadNameError(GalaxySDError, ValueError):
    """A name used as a folder name (campaign, model, dataset, run) is not a plain name."""


class EnvironmentFaultError(GalaxySDError, OSError):
    """The disk is full, a folder is read-only or missing: the message names the path."""


class WorkerProcessError(GalaxySDError, RuntimeError):
    """Worker processes a task started (``accelerate launch``) exited with an error."""
