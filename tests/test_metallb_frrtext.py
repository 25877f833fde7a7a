"""The frr.conf text MetalLB's FRR mode and frr-k8s share (metallb._frrtext), and the two
places their templates differ that the renderers pass in."""

from __future__ import annotations

from hcplb.metallb._frrtext import Counters, Peer, bfd_lines, layout, session_lines
from hcplb.metallb.frr import BfdProfile, SessionOptions

_PEER = Peer("fd00::2", "", "external", "ipv6", 0, "")


def test_echo_interval_order_is_each_templates_own() -> None:
    profile = BfdProfile("p", echo_interval=50)
    metallb = list(bfd_lines([profile], echo_transmit_first=False))
    frrk8s = list(bfd_lines([profile], echo_transmit_first=True))
    assert metallb[-2:] == ["    echo receive-interval 50", "    echo transmit-interval 50"]
    assert frrk8s[-2:] == ["    echo transmit-interval 50", "    echo receive-interval 50"]


def test_metallb_leaves_out_a_zero_port_and_connect_time_frrk8s_prints_them() -> None:
    options = SessionOptions(connect_time=0)
    metallb = list(session_lines(options, _PEER, 64512, zero_is_unset=True))
    frrk8s = list(session_lines(options, _PEER, 64512, zero_is_unset=False))
    assert "  neighbor fd00::2 port 0" not in metallb
    assert "  neighbor fd00::2 timers connect 0" not in metallb
    assert "  neighbor fd00::2 port 0" in frrk8s
    assert "  neighbor fd00::2 timers connect 0" in frrk8s


def test_single_hop_ipv6_ebgp_disables_the_connected_check() -> None:
    lines = list(session_lines(SessionOptions(), _PEER, 64512, zero_is_unset=True))
    assert lines[-1] == "  neighbor fd00::2 disable-connected-check"
    multihop = SessionOptions(ebgp_multihop=True)
    assert "disable-connected-check" not in "".join(
        session_lines(multihop, _PEER, 64512, zero_is_unset=True)
    )


def test_counters_number_each_name_on_its_own() -> None:
    count = Counters()
    assert [count("a"), count("b"), count("a")] == [1, 1, 2]


def test_layout_never_leaves_two_blank_lines_nor_one_at_the_end() -> None:
    assert layout(["", "a", "", "", "b", "", ""]) == "a\n\nb\n"
