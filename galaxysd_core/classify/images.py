"""Former home of :mod:`galaxysd_core.images` (every domain reads images, not only classify)."""

from galaxysd_core.images import image_files, load_images, read_image

__all__ = ["image_files", "load_images", "read_image"]
