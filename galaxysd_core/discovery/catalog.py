"""Former home of the catalogue-folder readers, now in :mod:`galaxysd_core.gz2.folders`."""

from galaxysd_core.gz2.folders import ID, catalog_items, known_ids, read_truth

__all__ = ["ID", "catalog_items", "known_ids", "read_truth"]
