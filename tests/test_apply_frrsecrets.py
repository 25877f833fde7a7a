"""Password alignment before frr-reload.py: the commands apply feeds `vtysh -f` from a 0600 file."""

from __future__ import annotations

from hcplb.apply.frrsecrets import bgp_passwords, password_commands

RUNNING = """\
frr version 8.4.4
frr defaults traditional
hostname frr
!
router bgp 64512
 bgp router-id 192.168.125.1
 neighbor HCP-NODES peer-group
 neighbor HCP-NODES remote-as 64513
 neighbor HCP-NODES password old-one
 neighbor 192.168.125.20 peer-group HCP-NODES
 neighbor 192.168.125.99 remote-as 64599
 neighbor 192.168.125.99 password gone-one
exit
!
line vty
 password not-bgp
exit
"""


def test_passwords_are_read_per_router_and_neighbor() -> None:
    assert bgp_passwords(RUNNING) == {
        ("router bgp 64512", "HCP-NODES"): "old-one",
        ("router bgp 64512", "192.168.125.99"): "gone-one",
    }


def test_changed_and_removed_passwords_become_file_commands() -> None:
    wanted = RUNNING.replace("password old-one", "password new-one").replace(
        " neighbor 192.168.125.99 remote-as 64599\n neighbor 192.168.125.99 password gone-one\n",
        " neighbor 192.168.125.30 remote-as 64513\n neighbor 192.168.125.30 password fresh\n",
    )
    assert password_commands(RUNNING, wanted) == (
        "router bgp 64512\n"
        " no neighbor 192.168.125.99 password\n"
        " neighbor HCP-NODES password new-one\n"
        "exit\n"
    )  # 192.168.125.30 does not exist yet: frr-reload.py adds it from its own file


def test_nothing_to_do_when_passwords_match() -> None:
    assert password_commands(RUNNING, RUNNING) == ""
    assert password_commands("router bgp 1\n neighbor A remote-as 2\n", "") == ""
