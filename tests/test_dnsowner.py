"""ExternalDNS's TXT registry format, as hcplb reads and (in the lab) writes it."""

from __future__ import annotations

from hcplb.dnsowner import Owner, owned_name, owners, parse_txt, registry_names, txt_name, txt_text


def test_registry_text_is_externaldns_format() -> None:
    text = txt_text("hcplb-fleet", "service/clusters-alpha/kube-apiserver")
    assert text == (
        "heritage=external-dns,external-dns/owner=hcplb-fleet,"
        "external-dns/resource=service/clusters-alpha/kube-apiserver"
    )
    assert parse_txt(f'"{text}"') == {
        "owner": "hcplb-fleet",
        "resource": "service/clusters-alpha/kube-apiserver",
    }


def test_texts_that_are_not_externaldns_registry_records() -> None:
    assert parse_txt("hcplb site=fleet name=api.alpha.fleet.lab") is None
    assert parse_txt("heritage=someone-else,external-dns/owner=x") is None
    assert parse_txt("v=spf1 -all") is None
    # a token with two '=' is skipped, like ExternalDNS does; heritage still decides
    assert parse_txt("heritage=external-dns,external-dns/owner=a=b") == {}


def test_txt_names_new_format_with_and_without_prefix() -> None:
    assert txt_name("api.alpha.fleet.lab", "A") == "a-api.alpha.fleet.lab"
    assert txt_name("API.alpha.fleet.lab.", "AAAA", "hcplb-") == "hcplb-aaaa-api.alpha.fleet.lab"
    assert registry_names("api-int.alpha.fleet.lab", "A", "p-") == (
        "p-a-api-int.alpha.fleet.lab",
        "p-api-int.alpha.fleet.lab",
    )


def test_owned_name_reverses_txt_name() -> None:
    assert owned_name("hcplb-a-api-int.alpha.fleet.lab", "hcplb-") == (
        "api-int.alpha.fleet.lab",
        "A",
    )
    assert owned_name("api.alpha.fleet.lab") == ("api.alpha.fleet.lab", "")  # old format
    assert owned_name("other-a-api.alpha.fleet.lab", "hcplb-") is None


def test_owners_prefers_the_new_format() -> None:
    text = txt_text("edns", "service/ns/kube-apiserver")
    found = owners(
        [
            ("api.alpha.fleet.lab", text),
            ("a-api.alpha.fleet.lab", text),
            ("_hcplb.fleet.lab", "hcplb site=x name=y"),
        ]
    )
    assert found == {
        "api.alpha.fleet.lab": Owner(
            "api.alpha.fleet.lab", "A", "edns", "service/ns/kube-apiserver"
        )
    }


def test_registry_record_round_trips_through_owners() -> None:
    from hcplb.dnsowner import registry_record, service_resource

    resource = service_resource("clusters-alpha", "kube-apiserver")
    name, text = registry_record("api-int.alpha.fleet.lab", "A", "hcplb-fleet", resource, "p-")
    assert (name, resource) == (
        "p-a-api-int.alpha.fleet.lab",
        "service/clusters-alpha/kube-apiserver",
    )
    assert owners([(name, text)], "p-")["api-int.alpha.fleet.lab"] == Owner(
        "api-int.alpha.fleet.lab", "A", "hcplb-fleet", resource
    )
