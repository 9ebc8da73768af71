"""Make this machine's Python lack what the lent H200's image lacks.

Put this folder on ``PYTHONPATH`` for a CPU dry run of ``benchmarks/gpu_build.sh``:
every import of a package the image does not hold (the device tool's KINDS.md
lists what it holds) then fails as it would there, unless the run carries it
as a wheel. Carried here: diffusers, astropy (with pyerfa), importlib_metadata.
"""

import sys

MISSING = {
    "alembic", "altair", "jsonschema", "krippendorff", "mako", "photutils", "playwright",
    "plotly", "psycopg", "pydantic", "pydantic_core", "pydeck", "pynndescent", "referencing",
    "rpds", "sqlalchemy", "starlette", "statmorph", "streamlit", "umap", "uvicorn",
    "watchdog", "websockets", "greenlet", "itsdangerous", "multipart",
}  # fmt: skip


class _Missing:
    """A meta-path finder that refuses the packages above."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in MISSING:
            raise ImportError(f"{name} is not on the H200 image")
        return None


sys.meta_path.insert(0, _Missing())
