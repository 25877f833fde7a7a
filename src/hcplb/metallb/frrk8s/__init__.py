"""MetalLB's frr-k8s backend: the FRRConfiguration MetalLB writes per node (translate), how
frr-k8s merges the FRRConfigurations selecting a node (api, merge) and the frr.conf it
renders from them (render).

    obj = frr_configuration(speaker.frr, "master-0", "openshift-frr-k8s")
    text = render_frrk8s(node_config([obj], hostname="master-0"))
"""

from hcplb.metallb.frrk8s.api import family_of, node_config, selects
from hcplb.metallb.frrk8s.inputs import (
    frrk8s_config_from_mapping,
    load_frrk8s_input,
    load_translation_input,
)
from hcplb.metallb.frrk8s.model import (
    AllowedIn,
    AllowedOut,
    FrrK8sConfig,
    IncomingFilter,
    NeighborConfig,
    PrefixList,
    RouterConfig,
)
from hcplb.metallb.frrk8s.render import render_frrk8s
from hcplb.metallb.frrk8s.translate import (
    API_VERSION,
    KIND,
    config_name,
    frr_configuration,
    go_json,
    manifest,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "OPENSHIFT_NAMESPACE",
    "AllowedIn",
    "AllowedOut",
    "FrrK8sConfig",
    "IncomingFilter",
    "NeighborConfig",
    "PrefixList",
    "RouterConfig",
    "config_name",
    "family_of",
    "frr_configuration",
    "frrk8s_config_from_mapping",
    "go_json",
    "load_frrk8s_input",
    "load_translation_input",
    "manifest",
    "node_config",
    "render_frrk8s",
    "selects",
]

# Where OpenShift runs frr-k8s, and so where MetalLB writes its FRRConfigurations.
OPENSHIFT_NAMESPACE = "openshift-frr-k8s"
