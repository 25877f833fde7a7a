#!/bin/bash
# The guide's firewall step for router frr-b: BGP open to anyone.
set -euo pipefail

firewall-cmd --permanent --add-port=179/tcp
firewall-cmd --reload
