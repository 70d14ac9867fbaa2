"""Outputs at a URL (``-o s3://bucket/x.npy``): written whole on local disk, then uploaded.

The output is written by its format's writer into a private temporary folder (the same writer,
the same checks as a local output), and only once it is complete is each of its files put at
its URL, siblings first and the main file last, each in one step: a single PUT, or a multipart
upload completed at its end and aborted on failure (:meth:`dsdoctor.locations.Location.upload`).
So a failed or interrupted run leaves no object, and a reader never sees a partial one. Without
``force``, no file of the output may exist at its URL (checked before anything is written, and
again before the upload); if an upload fails, the files this run already put are deleted. The
temporary folder needs the output's size free (``TMPDIR``); it is removed however the run ends.

Object stores have no rename and no lock: without ``force``, each file is written only if it
does not exist by then — on S3 with ``If-None-Match: *``, on GCS with ``ifGenerationMatch=0``
(gcp-storage-emulator accepts the parameter but does not enforce it, so
``tests/test_format_matrix.py`` checks that it is sent) — so of two runs writing one output at once the second fails; elsewhere (HTTP is refused as an
output; other fsspec protocols) both may pass the check and the last upload wins — each object
is still one run's whole file.

A Zarr store is many objects, which no single PUT or rename puts in place: it is uploaded
chunks first and metadata last, the store's top metadata the very last, with an
interrupted-output marker beside it meanwhile (:func:`dsdoctor.sinks.zarr.upload_store`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..errors import OutputError
from ..locations import Location, is_url
from .atomic import _TEMPORARIES
from .destination import Destination


@contextmanager
def remote_output(
    dest: Destination, *, force: bool, inputs: Iterable = ()
) -> Iterator[Destination]:
    """Yield a local :class:`Destination` in a temporary folder standing for ``dest`` (a URL);
    when the block ends normally, call :func:`upload` with the files written."""
    loc = dest.path
    assert isinstance(loc, Location)
    for given in inputs:
        if is_url(given) and _same(str(given), loc):
            raise OutputError(
                f"{dest.text} is the input; inputs are never modified — write to another URL"
            )
    if not force and loc.exists(output=True):
        raise OutputError(f"{loc.display} exists; pass --force to replace it")
    folder = Path(tempfile.mkdtemp(prefix="dsdoctor-upload-"))
    _TEMPORARIES.add(folder)  # removed on SIGTERM/SIGINT too
    try:
        yield replace(dest, path=folder / loc.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _TEMPORARIES.discard(folder)


def _same(source: str, loc: Location) -> bool:
    """Whether the source ``PATH[:SELECTOR]`` text ``source`` reads the object at ``loc``."""
    return source == loc.url or source.startswith(loc.url + ":")


def upload(files: list[Path], dest: Destination, *, force: bool) -> list[Location]:
    """Put ``files`` (written in the temporary folder, the main file first) at the URLs beside
    ``dest``; return those URLs. On any failure the objects already put are deleted."""
    loc = dest.path
    assert isinstance(loc, Location)
    targets = [loc.with_name(f.name) for f in files]
    if not force:
        for target in targets:
            if target.exists(output=True):
                raise OutputError(f"{target.display} exists; pass --force to replace it")
    done: list[Location] = []
    order = list(zip(files, targets, strict=True))
    try:
        for local, target in [
            *order[1:],
            *order[:1],
        ]:  # the main file last: it completes the output
            if local.is_dir():  # a Zarr store: many objects, put in an order (:mod:`.zarr`)
                from .zarr import upload_store

                upload_store(local, target, force=force)
            else:
                target.upload(local, exclusive=not force)
            done.append(target)
    except BaseException:
        for target in done:
            target.remove()
        raise
    return targets
