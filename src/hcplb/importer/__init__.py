"""`hcplb import`: a site spec from a site built by hand, read with lint's readers."""

from hcplb.importer.site import Imported, import_site

__all__ = ["Imported", "import_site"]
