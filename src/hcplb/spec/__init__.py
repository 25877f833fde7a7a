"""The site spec: models and the loader that reports every problem with its location."""

from hcplb.spec.loader import LoadedSite, load_site, load_site_text
from hcplb.spec.models import API_VERSION, KIND, HostedCluster, Node, Pool, Router, Site

__all__ = [
    "API_VERSION",
    "KIND",
    "HostedCluster",
    "LoadedSite",
    "Node",
    "Pool",
    "Router",
    "Site",
    "load_site",
    "load_site_text",
]
