"""The client menu tree and its texts, loaded from `content/` (see content/README.md).

Loaded and checked once at start-up: a missing text or a dangling child stops the bot with
a message naming the file and node, instead of a dead button in front of a client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import LANGUAGES

CONTENT_DIR = Path(__file__).resolve().parent.parent.parent / "content"
COUNTRIES = ("RU", "UA", "KZ", "other")
NODE_KINDS = ("menu", "text", "services", "action")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class ContentError(Exception):
    """The content files are inconsistent; the message says where."""


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    parent: str | None
    children: tuple[str, ...] = ()
    service_type: str | None = None
    countries: tuple[str, ...] | None = None  # None: shown everywhere
    consult: str | None = None  # a consultation topic: the screen offers a human
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def visible_in(self, country: str | None) -> bool:
        return self.countries is None or (country or "other") in self.countries


@dataclass(frozen=True)
class Screen:
    text: str
    sources: tuple[str, ...]


class Content:
    def __init__(self, content_dir: Path = CONTENT_DIR) -> None:
        self.dir = content_dir
        menu = _read_yaml(content_dir / "menu.yaml")
        self.root: str = menu["root"]
        self.nodes: dict[str, Node] = _build_nodes(menu["nodes"], self.root)
        self.numbers: dict[str, dict[str, str]] = _read_yaml(content_dir / "countries.yaml")
        self.texts: dict[str, dict[str, dict]] = {
            lang: _read_yaml(content_dir / lang / "texts.yaml") for lang in LANGUAGES
        }
        self._check()

    def within(self, node_id: str, ancestor: str) -> bool:
        """Whether the node is `ancestor` or one of its descendants (e.g. the overdose
        section, which opens for anyone, before any setting is chosen)."""
        node = self.nodes.get(node_id)
        while node is not None:
            if node.id == ancestor:
                return True
            node = self.nodes.get(node.parent) if node.parent else None
        return False

    def node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def children(self, node_id: str, country: str | None) -> list[Node]:
        return [
            self.nodes[c] for c in self.nodes[node_id].children if self.nodes[c].visible_in(country)
        ]

    def button(self, node_id: str, language: str) -> str:
        return self.texts[language][node_id]["button"].strip()

    def screen(self, node_id: str, language: str, country: str | None) -> Screen:
        country = country if country in COUNTRIES else "other"
        raw = self.texts[language][node_id]["text"]
        text = (
            (raw[country] if country in raw else raw["default"]) if isinstance(raw, dict) else raw
        )
        numbers = self.numbers.get(country, self.numbers["other"])
        text = _PLACEHOLDER.sub(lambda m: numbers[m.group(1)], text.strip())
        sources = self.nodes[node_id].sources
        return Screen(text, (*sources.get("all", ()), *sources.get(country, ())))

    def _check(self) -> None:
        problems = []
        for lang, texts in self.texts.items():
            for node_id in self.nodes:
                entry = texts.get(node_id)
                where = f"content/{lang}/texts.yaml: {node_id}"
                if not isinstance(entry, dict) or not entry.get("button") or not entry.get("text"):
                    problems.append(f"{where}: needs 'button' and 'text'")
                    continue
                raw = entry["text"]
                variants = raw.values() if isinstance(raw, dict) else [raw]
                if isinstance(raw, dict) and "default" not in raw:
                    problems.append(f"{where}: a text by country needs a 'default'")
                for text in variants:
                    for name in _PLACEHOLDER.findall(text):
                        if name not in self.numbers["other"]:
                            problems.append(f"{where}: unknown placeholder {{{name}}}")
        if problems:
            raise ContentError("\n".join(problems))


def _read_yaml(path: Path) -> Any:  # whatever the YAML holds: Content._check checks it
    try:
        with path.open(encoding="utf-8") as fp:
            return yaml.safe_load(fp)
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


def _build_nodes(raw: dict[str, dict], root: str) -> dict[str, Node]:
    parents: dict[str, str] = {}
    for node_id, spec in raw.items():
        for child in spec.get("children", []):
            if child in parents:
                raise ContentError(
                    f"menu.yaml: {child} is a child of {parents[child]} and {node_id}"
                )
            if child not in raw:
                raise ContentError(f"menu.yaml: {node_id} lists unknown child {child}")
            parents[child] = node_id
    nodes = {}
    for node_id, spec in raw.items():
        if not re.fullmatch(r"[a-z0-9_]{1,24}", node_id):
            raise ContentError(f"menu.yaml: node id {node_id!r} must be [a-z0-9_], <= 24 chars")
        kind = spec.get("kind")
        if kind not in NODE_KINDS:
            raise ContentError(f"menu.yaml: {node_id} has kind {kind!r}, not one of {NODE_KINDS}")
        if node_id != root and node_id not in parents:
            raise ContentError(f"menu.yaml: {node_id} is not reachable from {root}")
        if kind == "services" and not spec.get("service_type"):
            raise ContentError(f"menu.yaml: services node {node_id} needs a service_type")
        sources = spec.get("sources") or {}
        if isinstance(sources, list):
            sources = {"all": sources}
        countries = spec.get("countries")
        nodes[node_id] = Node(
            id=node_id,
            kind=kind,
            parent=parents.get(node_id),
            children=tuple(spec.get("children", [])),
            service_type=spec.get("service_type"),
            countries=tuple(countries) if countries else None,
            consult=spec.get("consult"),
            sources={k: tuple(v) for k, v in sources.items()},
        )
    return nodes
