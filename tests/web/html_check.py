"""Is a page valid HTML, as far as a parser and a few reference rules can tell offline?

- It parses with no error under html5lib (the WHATWG parsing algorithm: stray or missing end tags, misnested
  elements, bad attributes, a missing doctype);
- every id is unique and not empty;
- every id reference (`for`, `aria-describedby`, `aria-labelledby`, `aria-controls`, `aria-errormessage`,
  `list`, `form`) names ids that exist on the page and is not empty;
- a label's `for` names a control a label can label.
Returns readable problems; an empty list means none were found.
"""
from __future__ import annotations

from collections import Counter

import html5lib

XHTML = "{http://www.w3.org/1999/xhtml}"
# Attributes holding one id, or a space-separated list of ids.
ONE_ID = ("for", "list", "form", "aria-activedescendant", "aria-errormessage")
ID_LISTS = ("aria-describedby", "aria-labelledby", "aria-controls", "aria-owns", "aria-details")
LABELABLE = {"button", "input", "meter", "output", "progress", "select", "textarea"}


def _tag(element) -> str:
    return element.tag.removeprefix(XHTML) if isinstance(element.tag, str) else ""


def _where(element) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in list(element.attrib.items())[:3])
    return f"<{_tag(element)} {attrs}>".replace(" >", ">")


def problems(html: str) -> list[str]:
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=True)
    root = parser.parse(html)
    found = []
    lines = html.splitlines()
    for (line, column), code, data in parser.errors:
        source = lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""
        found.append(f"parse error {code} {data or ''} at line {line}:{column}: {source}")

    elements = [e for e in root.iter() if _tag(e)]
    ids = Counter(e.get("id") for e in elements if e.get("id") is not None)
    by_id = {e.get("id"): e for e in elements if e.get("id")}
    for value, count in ids.items():
        if not value.strip():
            found.append('an empty id=""')
        elif count > 1:
            found.append(f"the id {value!r} is used {count} times")
    for element in elements:
        for name in ONE_ID + ID_LISTS:
            value = element.get(name)
            if value is None:
                continue
            if name == "for" and _tag(element) not in ("label", "output"):
                continue
            if name == "form" and _tag(element) == "form":
                continue
            if not value.strip():
                found.append(f'an empty {name}="" on {_where(element)}')
                continue
            for ref in value.split() if name in ID_LISTS else [value]:
                if ref not in by_id:
                    found.append(f"{name} names {ref!r}, which is not on the page, on {_where(element)}")
                elif name == "for" and _tag(element) == "label":
                    target = by_id[ref]
                    if _tag(target) not in LABELABLE or (_tag(target) == "input" and target.get("type") == "hidden"):
                        found.append(f"the label for {ref!r} points at {_where(target)}, which a label can't label")
    return found
