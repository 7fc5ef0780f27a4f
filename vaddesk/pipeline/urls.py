"""URL inputs of a batch: each is fetched into the cache, then becomes an ordinary BatchItem
whose outputs are named after the URL's file name; a failed fetch becomes a failed result and
the rest of the batch goes on."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaddesk.audio.fetch import FetchError, FetchLimits, fetch, url_stem
from vaddesk.export.names import safe_stem
from vaddesk.pipeline.batch import BatchItem, FileResult

log = logging.getLogger(__name__)

DownloadProgress = Callable[[str, int, int | None], None]  # url, bytes so far, total if known


@dataclass(frozen=True, slots=True)
class FetchedInputs:
    items: list[BatchItem]       # downloaded: segment these
    failed: list[FileResult]     # could not be fetched (the reason in words)


def fetch_url_items(urls: Sequence[str], out_dir: Path, cache: Path, limits: FetchLimits,
                    json_path: Path | None = None,
                    progress: DownloadProgress | None = None,
                    others: Sequence[BatchItem] = ()) -> FetchedInputs:
    """`others`: the local inputs of the same batch, whose output names a URL must not take."""
    items: list[BatchItem] = []
    failed: list[FileResult] = []
    same_folder = os.path.normcase(os.path.abspath(out_dir))
    taken = {safe_stem(i.stem).casefold() for i in others
             if os.path.normcase(os.path.abspath(i.out_dir)) == same_folder}
    for url in urls:
        stem, n = url_stem(url), 2
        base = stem
        while safe_stem(stem).casefold() in taken:  # two URLs ending in the same file name
            stem, n = f"{base}_{n}", n + 1

        def report(done: int, total: int | None, u: str = url) -> None:
            if progress is not None:
                progress(u, done, total)

        try:
            path = fetch(url, cache, limits, report)
        except FetchError as exc:
            log.info("fetching %s failed: %s", url, exc)
            failed.append(FileResult(BatchItem(Path(stem), out_dir, stem, json_path, url),
                                     False, str(exc)))
            continue
        taken.add(safe_stem(stem).casefold())  # only what is segmented takes an output name
        items.append(BatchItem(path, out_dir, stem, json_path, url))
    return FetchedInputs(items, failed)
