"""The offline world map: geometry, links, escaping, CSP-safe markup, cost and size."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string

from governance.models import Participation
from governance.worldmap import (
    CATEGORY_LABELS,
    WorldMap,
    build_legend,
    missing_codes,
    render_world_map,
    shape_codes,
    strongest_role,
)

SVG = "{http://www.w3.org/2000/svg}"
MAX_SVG_BYTES = 150_000
SEED_VALUES = {
    "CN": "proposer",
    "US": "issuer",
    "RU": "delegate",
    "DE": "delegate",
    "KR": "delegate",
    "ZA": "delegate",
    "QA": "delegate",
    "FR": "represented",
}


def parse(world_map: WorldMap) -> ET.Element:
    return ET.fromstring(str(world_map))


def shapes(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if el.tag in (f"{SVG}path", f"{SVG}circle")]


def test_svg_is_xml_with_accessible_name_and_viewbox():
    root = parse(render_world_map(SEED_VALUES, title="Who took part"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 1000 ")
    assert root.get("role") in {"img", "group"}
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Who took part"
    assert root.find(f"{SVG}desc").get("id") == desc_id
    # Without links the map is one image for assistive technology.
    assert parse(render_world_map({})).get("role") == "img"


def test_every_shape_has_a_code_and_a_title():
    root = parse(render_world_map({}))
    drawn = shapes(root)
    assert len(drawn) >= 170
    for el in drawn:
        assert re.fullmatch(r"[a-z]{2}", el.get("data-code", "")), el.attrib
        assert "country" in el.get("class", "").split()
        assert el.find(f"{SVG}title").text
    codes = {el.get("data-code") for el in drawn}
    assert len(codes) == len(drawn), "one element per country"
    assert {"cn", "us", "ru", "de", "kr", "za", "qa"} <= codes
    assert "aq" not in codes  # Antarctica is left out


def test_countries_with_a_value_link_to_their_page_with_their_category():
    root = parse(render_world_map(SEED_VALUES))
    links = {a.get("href"): a for a in root.iter(f"{SVG}a")}
    assert len(links) == len(SEED_VALUES)
    for code, role in SEED_VALUES.items():
        a = links[f"/countries/{code.lower()}/"]
        (path,) = a.findall(f"{SVG}path")
        assert path.get("data-code") == code.lower()
        assert f"cat-{role}" in path.get("class").split()
        assert a.get("aria-label") == path.find(f"{SVG}title").text
    china = links["/countries/cn/"].find(f"{SVG}path/{SVG}title").text
    assert china == "China: Proposer"


def test_countries_without_a_value_are_plain_and_unlinked():
    root = parse(render_world_map({"CN": "proposer"}))
    linked = {p.get("data-code") for a in root.iter(f"{SVG}a") for p in a}
    assert linked == {"cn"}
    brazil = next(el for el in shapes(root) if el.get("data-code") == "br")
    assert brazil.get("class") == "country"
    assert brazil.find(f"{SVG}title").text == "Brazil"


def test_city_states_without_a_shape_get_a_linked_marker():
    world_map = render_world_map({"SG": "signatory", "BH": "declined", "CN": "host"})
    assert world_map.missing == ("SG", "BH")
    root = parse(world_map)
    markers = {c.get("data-code"): c for c in root.iter(f"{SVG}circle")}
    assert set(markers) == {"sg", "bh"}
    assert "cat-signatory" in markers["sg"].get("class").split()
    assert {a.get("href") for a in root.iter(f"{SVG}a")} >= {"/countries/sg/", "/countries/bh/"}
    # Singapore is south-east of Bahrain: the marker positions are projected, not random.
    assert float(markers["sg"].get("cx")) > float(markers["bh"].get("cx"))
    assert float(markers["sg"].get("cy")) > float(markers["bh"].get("cy"))


def test_projection_is_upright():
    root = parse(render_world_map({}))
    first_y = {}
    for el in shapes(root):
        match = re.match(r"M([\d.]+) ([\d.]+)", el.get("d", ""))
        if match:
            first_y[el.get("data-code")] = float(match.group(2))
    # North is up: Norway above South Africa, Canada above Argentina.
    assert first_y["no"] < first_y["za"]
    assert first_y["ca"] < first_y["ar"]


def test_labels_and_title_are_escaped():
    evil = '<script>alert("x")</script>'
    world_map = render_world_map(
        {"CN": "proposer"}, labels={"CN": evil}, title=evil, legend=[("proposer", evil)]
    )
    svg = str(world_map)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(world_map)
    assert root.find(f"{SVG}title").text == evil
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    assert "<script" not in html


def test_category_key_cannot_break_out_of_the_class_attribute():
    root = parse(render_world_map({"CN": 'x" onclick="alert(1)'}))
    (path,) = next(root.iter(f"{SVG}a")).findall(f"{SVG}path")
    assert path.get("onclick") is None
    assert path.get("class") == "country cat-x-onclick-alert-1"


def test_no_inline_style_or_script_anywhere():
    values = {**SEED_VALUES, "SG": "signatory", "XK": "observer"}
    world_map = render_world_map(values, title="t")
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    for markup in (str(world_map), html):
        assert not re.search(r"\sstyle\s*=", markup)
        assert not re.search(r"<(style|script)\b", markup, re.I)
        assert not re.search(r"\son[a-z]+\s*=", markup)


def test_kosovo_has_a_shape_but_no_country_page():
    world_map = render_world_map({"XK": "observer"})
    root = parse(world_map)
    kosovo = next(el for el in shapes(root) if el.get("data-code") == "xk")
    assert "cat-observer" in kosovo.get("class").split()
    assert not list(root.iter(f"{SVG}a"))


def test_size_is_under_the_bound():
    everything = dict.fromkeys(shape_codes(), "delegate")
    assert len(str(render_world_map(everything)).encode()) < MAX_SVG_BYTES
    assert len(str(render_world_map({})).encode()) < MAX_SVG_BYTES


def test_missing_codes_are_the_small_territories():
    missing = set(missing_codes())
    assert {"SG", "BH", "MT", "AQ", "HK"} <= missing
    assert not missing & {"CN", "US", "RU", "DE", "KR", "ZA", "QA", "FR", "TW", "PS"}


@pytest.mark.django_db
def test_rendering_is_cached_and_never_queries(django_assert_num_queries):
    render_world_map(SEED_VALUES)
    with django_assert_num_queries(0):
        for _ in range(200):
            render_world_map(SEED_VALUES, title="again")


def test_strongest_role_precedence():
    assert strongest_role(["delegate", "proposer", "signatory"]) == "proposer"
    assert strongest_role(["declined", "supporter"]) == "supporter"
    assert strongest_role(["absent", "opponent"]) == "opponent"
    assert strongest_role(["unknown", "absent"]) == "absent"
    assert strongest_role(["unknown", "something-new"]) == "something-new"
    assert strongest_role(["something-new", "absent"]) == "absent"
    assert strongest_role([]) == "unknown"


def test_every_role_has_a_label_and_a_colour():
    assert set(Participation.Role.values) | {"unknown"} == set(CATEGORY_LABELS)
    css = (Path(settings.BASE_DIR) / "static" / "css" / "map.css").read_text()
    for key in CATEGORY_LABELS:
        assert f".cat-{key} " in css or f".cat-{key}," in css, key


def test_legend_counts_and_order():
    values = {"CN": "proposer", "RU": "delegate", "DE": "delegate", "US": "mystery"}
    legend = build_legend(values)
    assert [(e.key, e.count) for e in legend] == [
        ("proposer", 1),
        ("delegate", 2),
        ("mystery", 1),
    ]
    assert legend[0].label == "Proposer"
    fixed = build_legend(values, [("delegate", "Sent delegates"), ("declined", "Declined")])
    assert [(e.key, e.label, e.count) for e in fixed] == [
        ("delegate", "Sent delegates", 2),
        ("declined", "Declined", 0),
    ]


def test_partial_shows_map_legend_and_country_list():
    world_map = render_world_map({"CN": "proposer", "SG": "delegate"}, title="Participation")
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert 'class="swatch cat-proposer"' in html
    assert 'Proposer <span class="count">(1)</span>' in html
    assert '<a href="/countries/sg/">Singapore</a>: Delegate' in html
    assert "shown as a dot" in html
    assert render_to_string("governance/partials/world_map.html", {}).strip() == ""
