#!/usr/bin/env python3
"""Checks a caviar report.html for the tests: it parses as XML (well-formed), every reference in it
(src, href, url(...)) stays inside the page (a data: URI or a #fragment), nothing is loaded from
elsewhere (no <link>, <script src>, <iframe>, <object>, <embed>, @import), no script at all, and
every embedded PNG decodes to a PNG. Prints as JSON {"pictures": n, "charts": n, "chart_labels":
[...], "marks": {trial: value} (the optimization history's marks), "boxes": n, "refresh": bool,
"trials": n (details blocks), "headers": [...], "fragments_ok": bool}; exits 1 with a one-line
reason otherwise."""
import base64
import json
import re
import sys
import xml.etree.ElementTree as ET


def fail(why):
    sys.exit(f"check_report.py: {sys.argv[1]}: {why}")


def main():
    path = sys.argv[1]
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail(f"not well-formed: {e}")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    pictures, fragments_ok = 0, True
    charts, labels, marks, boxes, refresh = 0, [], {}, 0, False
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in ("link", "iframe", "object", "embed", "frame", "base", "script"):
            fail(f"<{tag}> on the page")
        if tag == "svg":
            charts += 1
            labels.append(el.get("aria-label"))
        if tag == "circle" and el.get("data-t") is not None:
            marks[el.get("data-t")] = float(el.get("data-v"))
        if tag == "rect" and el.get("class") == "box":
            boxes += 1
        if tag == "meta" and el.get("http-equiv") == "refresh":
            refresh = True
        for attr in ("src", "href", "action", "poster", "srcset", "data", "background", "xlink:href"):
            value = el.get(attr)
            if value is None:
                continue
            if value.startswith("#"):
                fragments_ok &= value[1:] in ids
                continue
            if not value.startswith("data:"):
                fail(f"<{tag} {attr}=\"{value[:60]}\"> points outside the page")
            if value.startswith("data:image/png;base64,"):
                png = base64.b64decode(value.split(",", 1)[1], validate=True)
                if not png.startswith(b"\x89PNG\r\n\x1a\n"):
                    fail("an embedded picture is not a PNG")
                pictures += 1
        if tag == "style" or el.get("style"):
            css = (el.text or "") + (el.get("style") or "")
            for ref in re.findall(r"url\(([^)]*)\)", css):
                if not ref.strip("'\" ").startswith("data:"):
                    fail(f"a style loads {ref}")
            if "@import" in css:
                fail("a style imports another")
    table = next((t for t in root.iter("table")), None)
    headers = [th.text or "" for th in table.iter("th")] if table is not None else []
    trials = sum(1 for d in root.iter("details"))
    print(json.dumps({"pictures": pictures, "charts": charts, "chart_labels": labels, "marks": marks, "boxes": boxes,
                      "refresh": refresh, "trials": trials, "headers": headers, "fragments_ok": fragments_ok}))


if __name__ == "__main__":
    main()
